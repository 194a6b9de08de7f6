import Dispatch
import Foundation
import Glibc
@testable import Mesh
import SWIM
import Synchronization
import Testing

/// The server over real loopback sockets. Inside the serialized transport suite, because the
/// descriptor-leak tests there and here count the whole process's descriptors.
extension TransportTests {
    @Suite struct HTTPServerTests {
        typealias Client = HTTPTestClient

        struct Echo: Codable {
            var method: String
            var path: String
            var body: String
            var keepAlive: Bool
            var client: String
        }

        static func router() -> HTTPRouter {
            var router = HTTPRouter()
            router.get("/v1/status") { _ in .json(["node": 1]) }
            router.post("/v1/echo") { request in
                .json(Echo(
                    method: request.method, path: request.path,
                    body: String(decoding: request.body, as: UTF8.self), keepAlive: request.keepAlive,
                    client: request.remoteAddress.map { "\($0.ip)" } ?? "none"))
            }
            return router
        }

        static func start(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: HTTPHandler? = nil) throws -> HTTPServer {
            try HTTPServer(configuration: configuration, handler: handler ?? router().handler)
        }

        static func shortTimeouts(maxConnections: Int = 8) -> HTTPServerConfiguration {
            HTTPServerConfiguration(
                maxConnections: maxConnections, headTimeout: .milliseconds(300), bodyTimeout: .milliseconds(300),
                idleTimeout: .milliseconds(300))
        }

        // MARK: - Round trips

        @Test func getRoundTrip() throws {
            let server = try Self.start()
            defer { server.stop() }
            #expect(server.localAddress?.ip == .loopbackV4, "loopback by default")
            let response = try Client.get(server.address, "/v1/status")
            #expect(response.status == 200)
            #expect(response.text == #"{"node":1}"# + "\n")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.headers["Content-Length"] == "\(response.body.count)")
            #expect(server.metrics.snapshot().responses(statusClass: 2) == 1)
        }

        @Test func postRoundTripSeesThePathWithoutItsQueryTheBodyAndTheClient() throws {
            let server = try Self.start()
            defer { server.stop() }
            let body = #"{"cores":4}"#
            let response = try Client.exchange(
                server.address,
                "POST /v1/echo?feature=solver&who=a+b HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(response.status == 200)
            let echo = try JSONDecoder().decode(Echo.self, from: Data(response.body))
            #expect(echo.method == "POST")
            #expect(echo.path == "/v1/echo")
            #expect(echo.body == body)
            #expect(echo.keepAlive)
            #expect(echo.client == "127.0.0.1")
        }

        @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
            let server = try Self.start()
            defer { server.stop() }
            let client = try Client(server.address)
            for index in 0..<5 {
                #expect(client.send("POST /v1/echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\n\(index)"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Connection"] == nil, "a kept-alive response must not say close")
                #expect(try JSONDecoder().decode(Echo.self, from: Data(response.body)).body == "\(index)")
            }
            #expect(client.send("GET /v1/status HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"))
            let last = try client.readResponse()
            #expect(last.status == 200)
            #expect(last.headers["Connection"] == "close")
            #expect(client.closedByServer())
            let snapshot = server.metrics.snapshot()
            #expect(snapshot.connectionsAccepted == 1)
            #expect(snapshot.requestsServed == 6)
        }

        @Test func pipelinedRequestsAreAnsweredInOrder() throws {
            let server = try Self.start()
            defer { server.stop() }
            let client = try Client(server.address)
            let requests = (0..<3).map { "POST /v1/echo HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nr\($0)" }.joined()
            #expect(client.send(requests + "GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            for index in 0..<3 {
                let response = try client.readResponse()
                #expect(try JSONDecoder().decode(Echo.self, from: Data(response.body)).body == "r\(index)")
            }
            #expect(try client.readResponse().text == #"{"node":1}"# + "\n")
        }

        @Test func headGetsTheLengthWithoutTheBody() throws {
            let server = try Self.start()
            defer { server.stop() }
            let client = try Client(server.address)
            #expect(client.send("HEAD /v1/status HTTP/1.1\r\nHost: test\r\n\r\nGET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            let head = try client.readResponse(forHead: true)
            #expect(head.status == 200)
            #expect(head.headers["Content-Length"] == "\(#"{"node":1}"#.utf8.count + 1)")
            // Had the server sent a body for HEAD, it would be read here as the next response's head.
            #expect(try client.readResponse().text == #"{"node":1}"# + "\n")
        }

        @Test func http10ClosesByDefaultAndKeepsAliveWhenAsked() throws {
            let server = try Self.start()
            defer { server.stop() }
            let plain = try Client(server.address)
            #expect(plain.send("GET /v1/status HTTP/1.0\r\n\r\n"))
            let first = try plain.readResponse()
            #expect(first.status == 200)
            #expect(first.headers["Connection"] == "close")
            #expect(plain.closedByServer())

            let kept = try Client(server.address)
            for _ in 0..<2 {
                #expect(kept.send("GET /v1/status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
                let response = try kept.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Connection"] == "keep-alive")
            }
        }

        @Test func expectContinueGetsAGoAheadBeforeTheBody() throws {
            let server = try Self.start()
            defer { server.stop() }
            let client = try Client(server.address)
            #expect(client.send("POST /v1/echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"))
            let interim = try client.readResponse(skipContinue: false)
            #expect(interim.status == 100)
            #expect(client.send("body"))
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(try JSONDecoder().decode(Echo.self, from: Data(response.body)).body == "body")
        }

        // MARK: - Errors

        @Test func unknownPathIs404AndWrongMethodIs405WithAllow() throws {
            let server = try Self.start()
            defer { server.stop() }
            let client = try Client(server.address)
            #expect(client.send("GET /v1/nope HTTP/1.1\r\nHost: test\r\n\r\n"))
            let missing = try client.readResponse()
            #expect(missing.status == 404)
            #expect(missing.text.contains(#""status":404"#))
            // Router answers are ordinary responses: the connection stays usable.
            #expect(client.send("DELETE /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            let wrong = try client.readResponse()
            #expect(wrong.status == 405)
            #expect(wrong.headers["Allow"] == "GET, HEAD")
            #expect(wrong.text.contains(#""status":405"#))
            #expect(server.metrics.snapshot().responses(statusClass: 4) == 2)
        }

        @Test func oversizedBodyIs413AndTheClientCanReadIt() throws {
            var configuration = HTTPServerConfiguration()
            configuration.lingerTimeout = TransportTestSupport.patience
            let server = try Self.start(configuration)
            defer { server.stop() }
            let client = try Client(server.address)
            // The whole body goes out before we read, far more than socket buffers hold: the server
            // must answer and then drain what we keep sending, not reset us in mid-send.
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: 4_000_000)
            #expect(client.send(Array("POST /v1/echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4000000\r\n\r\n".utf8) + body))
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.headers["Connection"] == "close")
            #expect(response.text.contains("65536"))
            #expect(client.closedByServer())
            #expect(server.metrics.snapshot().parseErrors(.bodyTooLarge) == 1)
        }

        @Test(arguments: [
            ("HELLO WORLD\r\n\r\n", 400),
            ("\u{16}\u{03}\u{01}\u{00}\u{c8}\u{01}\u{00}", 400),
            ("GET /v1/status HTTP/1.1\r\n\r\n", 400),
            ("GET /v1/status HTTP/2.0\r\nHost: test\r\n\r\n", 505),
            ("POST /v1/echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n", 411),
            ("GET /v1/status HTTP/1.1\r\nHost: test\r\nX-Big: " + String(repeating: "a", count: 9_000) + "\r\n\r\n", 431),
        ])
        func malformedRequestGetsItsStatusAsJSONAndTheConnectionCloses(request: String, status: Int) throws {
            let server = try Self.start()
            defer { server.stop() }
            let client = try Client(server.address)
            #expect(client.send(request))
            let response = try client.readResponse()
            #expect(response.status == status)
            #expect(response.headers["Connection"] == "close")
            #expect(response.headers["Content-Type"] == "application/json")
            let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            #expect(json?["status"] as? Int == status)
            #expect((json?["error"] as? String)?.isEmpty == false)
            #expect(client.closedByServer())
            #expect(server.metrics.snapshot().parseErrors.values.reduce(0, +) == 1)
        }

        @Test func bindingToABusyPortSaysSo() throws {
            let first = try Self.start()
            defer { first.stop() }
            do {
                let second = try HTTPServer(configuration: HTTPServerConfiguration(address: first.address)) { _ in .text("") }
                second.stop()
                Issue.record("a second server bound \(first.address)")
            } catch let error as SocketError {
                #expect(error.errno == EADDRINUSE)
                #expect(error.description.contains("already uses this port"))
            }
        }

        @Test(.enabled(if: TransportTestSupport.ipv6LoopbackAvailable, "skipped: cannot bind to [::1] on this host"))
        func servesOnAnyGivenAddress() throws {
            let server = try Self.start(HTTPServerConfiguration(address: .loopbackV6(port: 0)))
            defer { server.stop() }
            #expect(server.address.family == .ipv6)
            #expect(try Client.get(server.address, "/v1/status").status == 200)
        }
    }
}
