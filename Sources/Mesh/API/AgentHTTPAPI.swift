import Synchronization

/// The agent's local HTTP/1.1 API: an `HTTPServer` serving `AgentAPIRoutes` over an `AgentControl`.
///
/// ```
/// let api = try AgentHTTPAPI(control: agent, configuration: AgentAPIConfiguration(address: config.httpAddress))
/// ...
/// api.stop()
/// ```
///
/// Endpoints (JSON unless noted; see `AgentAPIRoutes` for the status codes):
/// - `GET /v1/status` the whole `AgentStatus`; `/v1/members`, `/v1/license`, `/v1/ledger`,
///   `/v1/authority` subsets of it (`MembersReport`, `LicenseReport`, `LedgerReport`, `AuthorityReport`).
/// - `POST /v1/validate` `{"feature": "..."}` (optional) answers a `ValidationAnswer`, 200 even when denied.
/// - `POST /v1/acquire` `{"cores": N, "timeoutMs": N}` (both optional), `POST /v1/release`
///   `{"timeoutMs": N}` (optional) answer a `RequestAnswer`, or 403, 409, 503 with the library's message.
/// - Access: see `APIAccessCheck` (browser protection always; socket, token and open reads as configured).
/// - `GET /health` readiness (200 joined and licensed, else 503 with `problems`), `GET /health/live`
///   liveness (200 whenever the process serves), `GET /metrics` Prometheus text.
public final class AgentHTTPAPI: Sendable {
    public let configuration: AgentAPIConfiguration
    private let server: HTTPServer
    private let snapshots: AgentCallBound
    private let requests: AgentCallBound
    private let accessCounters: APIAccessCounters

    /// Binds and starts serving at once. Throws when an address cannot be bound (`SocketError`) or the
    /// unix socket cannot be created (`HTTPListenError`); the error names it and the usual fix.
    public init(control: any AgentControl, configuration: AgentAPIConfiguration = AgentAPIConfiguration()) throws {
        let snapshots = AgentCallBound(maximumOutstanding: configuration.maximumOutstandingCalls)
        let requests = AgentCallBound(maximumOutstanding: configuration.maximumOutstandingCalls)
        let accessCounters = APIAccessCounters()
        let access = APIAccessCheck(policy: configuration.access, hasSocket: configuration.server.unixSocketPath != nil, counters: accessCounters)
        // The routes are built before the server exists, but `/metrics` reports the server's counters:
        // a slot filled right after the server starts (a request arriving earlier just omits them).
        let metricsSlot = ServerMetricsSlot()
        let routes = AgentAPIRoutes(
            control: control, configuration: configuration, snapshots: snapshots, requests: requests, access: access
        ) { metricsSlot.metrics }
        server = try HTTPServer(configuration: configuration.server, handler: routes.handler)
        metricsSlot.metrics = server.metrics
        self.configuration = configuration
        self.snapshots = snapshots
        self.requests = requests
        self.accessCounters = accessCounters
    }

    /// Where the API listens over TCP (the real port when port 0 was asked for); nil for socket only.
    public var localAddress: SocketAddress? { server.localAddress }

    /// Every listener: TCP address and unix socket.
    public var endpoints: [HTTPEndpoint] { server.endpoints }

    /// Requests refused by access control or browser protection, by kind.
    public func accessFailures(_ kind: APIAccessFailure) -> UInt64 { accessCounters.value(kind) }

    /// The HTTP server's own counters.
    public var serverMetrics: HTTPServerMetrics { server.metrics }

    /// Calls into the agent not yet answered, abandoned ones included: nonzero for long means a stuck agent.
    public var outstandingAgentCalls: Int { snapshots.outstandingCalls + requests.outstandingCalls }

    /// Stops serving: requests in progress finish (bounded by their timeouts), then every thread is joined.
    public func stop() { server.stop() }
}

private final class ServerMetricsSlot: Sendable {
    private let slot = Mutex<HTTPServerMetrics?>(nil)
    var metrics: HTTPServerMetrics? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
