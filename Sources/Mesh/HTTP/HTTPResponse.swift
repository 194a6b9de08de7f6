#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A response to send: status, headers and a complete body.
///
/// Framing headers are the server's job: `serialized` always writes `Content-Length` (except for
/// 1xx/204/304, which RFC 9110 forbids to carry one) and `Connection: close` when the connection
/// ends after this response, replacing any the handler set, so a handler cannot desynchronise a
/// keep-alive connection.
struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text body in UTF-8.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// `value` as JSON with sorted keys (stable output for people diffing and for tests). If the value
    /// cannot be encoded (a non-finite Double, for instance) the answer is a 500 saying so.
    public static func json<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var body = Array(try encoder.encode(value))
            body.append(HTTPCharacters.lf)
            return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
        } catch {
            return .error(.internalServerError, "the response could not be encoded as JSON: \(error)")
        }
    }

    /// The error body every failure uses: `{"error": "...", "status": N}`.
    public static func error(_ status: HTTPStatus, _ message: String) -> HTTPResponse {
        json(ErrorBody(error: message, status: status.code), status: status)
    }

    /// A Prometheus text exposition.
    public static func prometheus(_ exposition: PrometheusExposition) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: ["Content-Type": PrometheusExposition.contentType], body: Array(exposition.text.utf8))
    }

    struct ErrorBody: Codable, Equatable {
        var error: String
        var status: Int
    }

    /// The bytes on the wire. `closing`: the connection ends after this response. `keepAliveForHTTP10`:
    /// the client spoke HTTP/1.0 and asked for keep-alive, which HTTP/1.0 only keeps when told so.
    /// `omitBody`: answering HEAD, headers describe the body that GET would send.
    public func serialized(closing: Bool, keepAliveForHTTP10: Bool = false, omitBody: Bool = false) -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for field in headers where Self.isSendable(field) {
            if HTTPCharacters.equalIgnoringASCIICase(field.name, "Content-Length")
                || HTTPCharacters.equalIgnoringASCIICase(field.name, "Connection")
                || HTTPCharacters.equalIgnoringASCIICase(field.name, "Transfer-Encoding") { continue }
            text += "\(field.name): \(field.value)\r\n"
        }
        let body = status.forbidsBody ? [] : self.body
        if !status.forbidsBody { text += "Content-Length: \(body.count)\r\n" }
        if closing {
            text += "Connection: close\r\n"
        } else if keepAliveForHTTP10 {
            text += "Connection: keep-alive\r\n"
        }
        text += "\r\n"
        var bytes = Array(text.utf8)
        if !omitBody { bytes.append(contentsOf: body) }
        return bytes
    }

    /// A header we could write without breaking the message: a token name and a value without CR, LF
    /// or NUL (which would let a value smuggle in headers of its own). Others are dropped.
    static func isSendable(_ field: HTTPField) -> Bool {
        HTTPCharacters.isToken(field.name.utf8)
            && !field.value.utf8.contains { $0 == HTTPCharacters.cr || $0 == HTTPCharacters.lf || $0 == 0 }
    }
}
