#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SWIM

/// What `licmesh status`, `members` and `ledger` ask the local agent, over `HTTPClientConnection`:
/// typed answers, or an `AgentAPIClientError` that says whether the agent was reached at all.
public struct AgentAPIClient: Sendable {
    public var address: HTTPEndpoint
    /// Sent as a bearer token when the agent requires one (its `httpTokenFile`).
    public var bearerToken: String?
    /// Covers connecting, sending and reading each answer.
    public var timeout: Duration

    public init(address: HTTPEndpoint, bearerToken: String? = nil, timeout: Duration = .seconds(10)) {
        self.address = address
        self.bearerToken = bearerToken
        self.timeout = timeout
    }

    public init(address: SocketAddress, timeout: Duration = .seconds(10)) {
        self.init(address: .tcp(address), timeout: timeout)
    }

    /// Where to ask: `--http` when given, else `LICMESH_HTTP`, else the config's default. `unix:/path`
    /// (or an absolute path) is the agent's unix socket. A host name is resolved; its IPv4 address is
    /// preferred, since the agent listens on 127.0.0.1 by default and `localhost` often resolves to
    /// ::1 first.
    public static func address(flag: String?, environment: [String: String]) throws(AddressError) -> HTTPEndpoint {
        let text = flag ?? environment["LICMESH_HTTP"] ?? AgentAPIConfiguration.defaultAddress.description
        if text.hasPrefix("unix:") || text.hasPrefix("/") { return try HTTPEndpoint(parsing: text) }
        let addresses = try SocketAddress.resolve(text)
        guard let chosen = addresses.first(where: { $0.family == .ipv4 }) ?? addresses.first else {
            throw AddressError(text: text, problem: "resolved to no address")
        }
        return .tcp(chosen)
    }

    /// The bearer token: the file named by `--token-file`, else by `LICMESH_HTTP_TOKEN_FILE`; nil when
    /// neither is given. The file holds the token on its first line.
    public static func bearerToken(flag: String?, environment: [String: String]) throws(APITokenError) -> String? {
        guard let path = flag ?? environment["LICMESH_HTTP_TOKEN_FILE"] else { return nil }
        return try APIToken.read(path: path)
    }

    public func status() throws(AgentAPIClientError) -> AgentStatus { try get("/v1/status") }
    public func members() throws(AgentAPIClientError) -> MembersReport { try get("/v1/members") }
    public func ledger() throws(AgentAPIClientError) -> LedgerReport { try get("/v1/ledger") }

    /// GETs `path` and decodes a 200's JSON body as `Answer`.
    public func get<Answer: Decodable>(_ path: String, as: Answer.Type = Answer.self) throws(AgentAPIClientError) -> Answer {
        let response: HTTPClientResponse
        do {
            response = try HTTPClientConnection.request("GET", path, to: address, bearerToken: bearerToken, timeout: timeout)
        } catch {
            throw .unreachable(address: address, reason: Self.reason(error))
        }
        guard response.status == 200 else {
            throw .agentError(address: address, status: response.status, message: Self.errorMessage(response))
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(response.body))
        } catch {
            throw .unexpectedAnswer(address: address, reason: "the answer to \(path) is not the JSON this version of licmesh expects (\(Self.decodingProblem(error))); is the agent the same version?")
        }
    }

    private static func reason(_ error: HTTPClientError) -> String {
        switch error {
        case .cannotConnect(_, let reason): return reason
        case .timedOut(_, let after): return "no complete answer within \(formatDuration(after))"
        case .closed: return "the connection closed before a complete answer"
        case .malformedResponse(_, let reason): return "the answer is not HTTP this client reads (\(reason)); is something else listening there?"
        case .invalidRequest(let reason): return reason
        }
    }

    /// The `error` field of our JSON error body, or the status line and a bit of the body.
    static func errorMessage(_ response: HTTPClientResponse) -> String {
        struct ErrorBody: Decodable { var error: String }
        if let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body)) { return body.error }
        let text = String(response.text.prefix(200)).trimmingConfigWhitespace()
        return "HTTP \(response.status) \(response.reason)" + (text.isEmpty ? "" : ": \(text)")
    }

    private static func decodingProblem(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not valid JSON" : "field '\(path)' has an unexpected value"
        default: return "\(error)"
        }
    }
}

/// Why a status command got no answer to show.
public enum AgentAPIClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Nothing usable came back from the address: the agent is not running, listens elsewhere, or hangs.
    case unreachable(address: HTTPEndpoint, reason: String)
    /// The agent answered with an error status (a 503 when it is stuck, for instance).
    case agentError(address: HTTPEndpoint, status: Int, message: String)
    /// The agent answered 200 with a body this version cannot read.
    case unexpectedAnswer(address: HTTPEndpoint, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let address, let reason):
            return """
                cannot reach the licmesh agent's HTTP API at \(address): \(reason).
                Check that the agent runs (e.g. 'systemctl status licmesh') and that it serves its API at \(address) \
                (config fields "httpAddress" and "httpSocket", or LICMESH_HTTP); \
                to ask elsewhere, pass --http HOST:PORT or --http unix:/PATH, or set LICMESH_HTTP.
                """
        case .agentError(let address, let status, let message):
            return "the agent at \(address) answered \(status): \(message)"
        case .unexpectedAnswer(let address, let reason):
            return "the agent at \(address) answered, but \(reason)"
        }
    }

    /// The exit code of the status commands: 2 when the agent cannot be reached (or is not the
    /// agent), 1 when it answered with an error.
    public var exitCode: Int32 {
        switch self {
        case .unreachable, .unexpectedAnswer: return StatusExitCode.unreachable
        case .agentError: return StatusExitCode.unhealthy
        }
    }
}

/// Exit codes of `licmesh status` (and `members`, `ledger`), for scripts and monitoring checks.
public enum StatusExitCode {
    /// This node is joined, licensed and healthy (for `members` and `ledger`: the agent answered).
    public static let healthy: Int32 = 0
    /// The agent answered, but this node is unhealthy or unlicensed (or the agent answered an error).
    public static let unhealthy: Int32 = 1
    /// The agent's HTTP API cannot be reached.
    public static let unreachable: Int32 = 2

    public static func of(_ status: AgentStatus) -> Int32 { status.isReady ? healthy : unhealthy }
}
