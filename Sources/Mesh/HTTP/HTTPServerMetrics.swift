import Synchronization

/// What an `HTTPServer` has done, counted from any of its threads. Read with `snapshot()`, or append
/// to a `/metrics` exposition with `write(into:)`.
public final class HTTPServerMetrics: Sendable {
    public struct Snapshot: Hashable, Sendable {
        public var connectionsAccepted: UInt64 = 0
        /// Closed at once with a 503: a connection bound was reached and every connection was busy.
        public var connectionsRefused: UInt64 = 0
        /// Idle (or slow) connections closed to make room for a new one at a connection bound.
        public var connectionsEvicted: UInt64 = 0
        /// Connections open right now, idle ones included.
        public var connectionsOpen: Int = 0
        /// Responses, by status class (index 1 for 1xx ... 5 for 5xx; 0 unused), counted as their
        /// write begins. Error responses to unparseable requests count too; 503s to refused
        /// connections count only in `connectionsRefused`.
        public var responsesByClass: [UInt64] = Array(repeating: 0, count: 6)
        public var parseErrors: [HTTPParseError.Kind: UInt64] = [:]
        /// Kept-alive (or fresh) connections closed for saying nothing within the idle or head timeout.
        public var idleTimeouts: UInt64 = 0
        /// Responses abandoned because the client did not read them within the write timeout.
        public var writeTimeouts: UInt64 = 0
        /// Complete requests handed to the handler.
        public var requestsServed: UInt64 = 0

        public func responses(statusClass: Int) -> UInt64 {
            responsesByClass.indices.contains(statusClass) ? responsesByClass[statusClass] : 0
        }

        public func parseErrors(_ kind: HTTPParseError.Kind) -> UInt64 { parseErrors[kind] ?? 0 }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public func snapshot() -> Snapshot { state.withLock { $0 } }

    func connectionAccepted() { state.withLock { $0.connectionsAccepted &+= 1 } }
    func connectionRefused() { state.withLock { $0.connectionsRefused &+= 1 } }
    func connectionEvicted() { state.withLock { $0.connectionsEvicted &+= 1 } }
    func connectionOpened() { state.withLock { $0.connectionsOpen += 1 } }
    func connectionClosed() { state.withLock { $0.connectionsOpen -= 1 } }
    func idleTimeout() { state.withLock { $0.idleTimeouts &+= 1 } }
    func writeTimeout() { state.withLock { $0.writeTimeouts &+= 1 } }
    func parseError(_ kind: HTTPParseError.Kind) { state.withLock { $0.parseErrors[kind, default: 0] &+= 1 } }
    func requestServed() { state.withLock { $0.requestsServed &+= 1 } }

    func responseSent(_ status: HTTPStatus) {
        let statusClass = status.statusClass
        guard statusClass > 0 else { return }
        state.withLock { $0.responsesByClass[statusClass] &+= 1 }
    }

    /// Appends this server's families, named `<prefix>_...`.
    public func write(into exposition: inout PrometheusExposition, prefix: String = "licmesh_http") {
        let snapshot = snapshot()
        exposition.counter(
            "\(prefix)_responses_total", help: "HTTP responses sent, by status class.",
            samples: (1...5).map { PrometheusSample([("class", "\($0)xx")], Double(snapshot.responsesByClass[$0])) })
        exposition.counter(
            "\(prefix)_requests_total", help: "Complete HTTP requests handed to a handler.", value: Double(snapshot.requestsServed))
        exposition.counter(
            "\(prefix)_connections_accepted_total", help: "TCP connections accepted by the HTTP server.",
            value: Double(snapshot.connectionsAccepted))
        exposition.counter(
            "\(prefix)_connections_refused_total",
            help: "Connections closed at once with a 503: a connection bound was reached and every connection was busy.",
            value: Double(snapshot.connectionsRefused))
        exposition.counter(
            "\(prefix)_connections_evicted_total",
            help: "Idle or slow connections closed to make room for a new one at a connection bound.",
            value: Double(snapshot.connectionsEvicted))
        exposition.gauge(
            "\(prefix)_connections_open", help: "HTTP connections open now, idle ones included.", value: Double(snapshot.connectionsOpen))
        exposition.counter(
            "\(prefix)_parse_errors_total", help: "Requests refused before reaching a handler, by kind.",
            samples: HTTPParseError.Kind.allCases.map { PrometheusSample([("kind", $0.rawValue)], Double(snapshot.parseErrors[$0] ?? 0)) })
        exposition.counter(
            "\(prefix)_idle_timeouts_total", help: "Connections closed for sending nothing within the idle or head timeout.",
            value: Double(snapshot.idleTimeouts))
        exposition.counter(
            "\(prefix)_write_timeouts_total", help: "Responses abandoned because the client did not read them in time.",
            value: Double(snapshot.writeTimeouts))
    }
}
