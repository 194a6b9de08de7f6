import Foundation
@testable import Mesh
import Testing

/// Responses on the wire and the router, without sockets.
@Suite struct HTTPResponseTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func contentLengthIsAlwaysSetAndConnectionCloseWhenClosing() {
        let response = HTTPResponse.text("hello")
        #expect(Self.text(response.serialized(closing: false))
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello")
        #expect(Self.text(response.serialized(closing: true))
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(Self.text(HTTPResponse(status: .ok).serialized(closing: false)) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func framingHeadersFromTheHandlerAreReplaced() {
        let response = HTTPResponse(
            status: .ok, headers: ["content-length": "999", "Connection": "keep-alive", "Transfer-Encoding": "chunked", "X-Ok": "yes"],
            body: Array("abc".utf8))
        #expect(Self.text(response.serialized(closing: true))
            == "HTTP/1.1 200 OK\r\nX-Ok: yes\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
    }

    @Test func headersThatWouldSplitTheResponseAreDropped() {
        let response = HTTPResponse(
            status: .ok, headers: ["X-Evil": "a\r\nSet-Cookie: stolen", "Bad Name": "x", "X-Nul": "a\u{0}b", "X-Good": "fine"], body: [])
        let text = Self.text(response.serialized(closing: false))
        #expect(text == "HTTP/1.1 200 OK\r\nX-Good: fine\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func headAnswersCarryTheLengthButNoBody() {
        let response = HTTPResponse.text("four")
        #expect(Self.text(response.serialized(closing: false, omitBody: true))
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\n")
    }

    @Test func noContentHasNeitherBodyNorLength() {
        let response = HTTPResponse(status: .noContent, body: Array("ignored".utf8))
        #expect(Self.text(response.serialized(closing: false)) == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test func http10KeepAliveIsConfirmedExplicitly() {
        let bytes = HTTPResponse(status: .ok).serialized(closing: false, keepAliveForHTTP10: true)
        #expect(Self.text(bytes) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test func errorBodyIsSmallJSONWithMessageAndStatus() throws {
        let response = HTTPResponse.error(.notFound, "no such endpoint: /x \"quoted\"")
        #expect(response.status.code == 404)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(Self.text(response.body) == #"{"error":"no such endpoint: /x \"quoted\"","status":404}"# + "\n")
        let decoded = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        #expect(decoded?["status"] as? Int == 404)
    }

    @Test func jsonHelperSortsKeysAndReportsUnencodableValues() {
        struct Status: Encodable { var zeta = 1; var alpha = "a/b" }
        #expect(Self.text(HTTPResponse.json(Status()).body) == #"{"alpha":"a/b","zeta":1}"# + "\n")
        let broken = HTTPResponse.json(["value": Double.nan])
        #expect(broken.status == .internalServerError)
        #expect(Self.text(broken.body).contains("could not be encoded"))
    }

    // MARK: - Router

    static func router() -> HTTPRouter {
        var router = HTTPRouter()
        router.get("/v1/status") { _ in .text("status") }
        router.post("/v1/acquire") { request in .text("acquired \(request.body.count)") }
        router.add("DELETE", "/v1/acquire") { _ in .text("released") }
        return router
    }

    @Test func exactPathAndMethodReachTheHandler() async {
        let router = Self.router()
        #expect(await router.handle(HTTPRequest(method: "GET", target: "/v1/status")).body == Array("status".utf8))
        #expect(await router.handle(HTTPRequest(method: "POST", target: "/v1/acquire", body: [1, 2])).body == Array("acquired 2".utf8))
        #expect(await router.handle(HTTPRequest(method: "DELETE", target: "/v1/acquire")).body == Array("released".utf8))
        #expect(await router.handle(HTTPRequest(method: "HEAD", target: "/v1/status")).status == .ok, "HEAD is served by GET")
        #expect(await router.handle(HTTPRequest(method: "GET", target: "/v1/status?verbose=1")).status == .ok, "the query is not part of the path")
    }

    @Test func unknownPathIs404() async {
        let router = Self.router()
        for target in ["/v1/statu", "/v1/status/", "/V1/status", "/v1/../v1/status", "/"] {
            let response = await router.handle(HTTPRequest(method: "GET", target: target))
            #expect(response.status == .notFound, "\(target)")
        }
    }

    @Test func wrongMethodIs405WithAllow() async {
        let router = Self.router()
        let onStatus = await router.handle(HTTPRequest(method: "POST", target: "/v1/status"))
        #expect(onStatus.status == .methodNotAllowed)
        #expect(onStatus.headers["Allow"] == "GET, HEAD")
        let onAcquire = await router.handle(HTTPRequest(method: "GET", target: "/v1/acquire"))
        #expect(onAcquire.status == .methodNotAllowed)
        #expect(onAcquire.headers["Allow"] == "DELETE, POST")
        #expect(Self.text(onAcquire.body).contains("\"status\":405"))
    }
}
