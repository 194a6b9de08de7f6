import Glibc
import Synchronization
import SmallFiles

/// Who may call the agent's local API, checked before any endpoint runs.
///
/// 1. Browser-proof, always: a request with an `Origin` header (a web page's fetch or form), or over
///    TCP with a `Host` that is neither the bound address nor a loopback name (DNS rebinding), is
///    refused; a request body must be declared `application/json` (an HTML form cannot declare it).
/// 2. Access control, when configured: the unix socket's file mode and group decide who connects
///    (nothing more is asked there); over TCP a bearer token (`httpTokenFile`) is required for
///    acquire and release, and for reads unless `openReads`. With a socket but no token, acquire and
///    release are served on the socket only.
public struct APIAccessPolicy: Sendable {
    /// The token TCP clients must send as `Authorization: Bearer ...`; nil for none.
    public var bearerToken: String?
    /// Whether reads (status, validate, health, metrics...) over TCP need no token. Health probes and
    /// Prometheus usually cannot send one.
    public var openReads: Bool

    public init(bearerToken: String? = nil, openReads: Bool = true) {
        self.bearerToken = bearerToken
        self.openReads = openReads
    }
}

/// Why a request was refused by `APIAccessCheck`, as counted in /metrics.
public enum APIAccessFailure: String, CaseIterable, Sendable {
    case origin
    case host
    case contentType = "content-type"
    case missingToken = "missing-token"
    case wrongToken = "wrong-token"
    case socketOnly = "socket-only"
}

/// Counts of refused requests by kind, from any thread.
final class APIAccessCounters: Sendable {
    private let counts = Mutex([APIAccessFailure: UInt64]())

    func count(_ failure: APIAccessFailure) { counts.withLock { $0[failure, default: 0] &+= 1 } }
    func value(_ failure: APIAccessFailure) -> UInt64 { counts.withLock { $0[failure] ?? 0 } }

    func write(into exposition: inout PrometheusExposition) {
        let snapshot = counts.withLock { $0 }
        exposition.counter(
            "licmesh_http_auth_failures_total",
            help: "API requests refused by access control or browser protection, by kind.",
            samples: APIAccessFailure.allCases.map { PrometheusSample([("kind", $0.rawValue)], Double(snapshot[$0] ?? 0)) })
    }
}

/// The check itself: nil when the request may go on, else the answer to send.
struct APIAccessCheck: Sendable {
    let policy: APIAccessPolicy
    /// Whether the server also listens on a unix socket (then acquire and release can be kept there).
    let hasSocket: Bool
    let counters: APIAccessCounters

    enum Kind { case read, change }

    func refusal(for request: HTTPRequest, kind: Kind) -> HTTPResponse? {
        if request.headers.contains("Origin") {
            return refuse(.origin, .forbidden, "requests from web pages are refused (the request has an Origin header); the local API is for programs on this host, not browsers")
        }
        if case .tcp(let bound)? = request.endpoint, let host = request.headers["Host"], !Self.isAcceptedHost(host, bound: bound) {
            return refuse(.host, .forbidden, "the Host '\(AgentAPIBadRequest.printable(host))' is neither this API's address (\(bound)) nor a loopback name; this protects against DNS rebinding. Ask http://\(bound)/ or http://localhost:\(bound.port)/")
        }
        if !request.body.isEmpty, !Self.isJSON(request.headers["Content-Type"]) {
            return refuse(.contentType, .unsupportedMediaType, "a request body must be sent with 'Content-Type: application/json'")
        }
        guard case .tcp? = request.endpoint else { return nil }  // the socket's mode and group decided already
        if kind == .read && policy.openReads { return nil }
        guard let token = policy.bearerToken else {
            guard kind == .change, hasSocket else { return nil }
            return refuse(.socketOnly, .forbidden, "acquire and release are served on the agent's unix socket only; use it (licmesh --http unix:PATH), or configure httpTokenFile for TCP")
        }
        guard let sent = Self.bearerToken(in: request.headers["Authorization"]) else {
            var response = refuse(.missingToken, .unauthorized, "this endpoint needs 'Authorization: Bearer <token>' with the token in the agent's httpTokenFile (licmesh: --token-file or LICMESH_HTTP_TOKEN_FILE)")
            response.headers.set("WWW-Authenticate", "Bearer")
            return response
        }
        guard Self.constantTimeEqual(Array(sent.utf8), Array(token.utf8)) else {
            var response = refuse(.wrongToken, .unauthorized, "the bearer token is wrong; use the one in the agent's httpTokenFile")
            response.headers.set("WWW-Authenticate", "Bearer error=\"invalid_token\"")
            return response
        }
        return nil
    }

    private func refuse(_ failure: APIAccessFailure, _ status: HTTPStatus, _ message: String) -> HTTPResponse {
        counters.count(failure)
        return .error(status, message)
    }

    /// `localhost`, any 127/8 address, `[::1]`, or the bound IP, each with or without a port.
    static func isAcceptedHost(_ host: String, bound: SocketAddress) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            name = String(name[name.index(after: name.startIndex)..<close])
        } else if let colon = name.lastIndex(of: ":") {
            name = String(name[..<colon])
        }
        if name == "localhost" || name == "localhost." { return true }
        guard let ip = IPAddress(parsing: name) else { return false }
        return ip.isLoopback || ip == bound.ip
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingOptionalWhitespace() } ?? ""
        return mediaType.lowercased() == "application/json"
    }

    static func bearerToken(in authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingOptionalWhitespace()
    }

    /// Compares without an early exit, so response timing says nothing about how much of a guess was right.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in 0..<max(lhs.count, rhs.count) {
            difference |= (index < lhs.count ? lhs[index] : 0) ^ (index < rhs.count ? rhs[index] : 0)
        }
        return difference == 0
    }
}

/// The bearer-token file: the token on its first line, at least 16 characters, and not readable by
/// every user on the host.
enum APIToken {
    public static let minimumLength = 16

    public static func read(path: String) throws(APITokenError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path: path, limit: 4096)
        } catch {
            throw APITokenError(path: path, problem: "\(error)")
        }
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IROTH != 0 {
            throw APITokenError(path: path, problem: "it is readable by every user on this host; chmod 640 (or 600) it")
        }
        let firstLine = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let token = firstLine.trimmingConfigWhitespace()
        guard token.count >= minimumLength else {
            throw APITokenError(path: path, problem: "the token on its first line is shorter than \(minimumLength) characters; generate one with 'head -c 32 /dev/urandom | base64'")
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APITokenError(path: path, problem: "the token must be printable ASCII without spaces")
        }
        return token
    }
}

public struct APITokenError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "API token file \(path): \(problem)" }
}
