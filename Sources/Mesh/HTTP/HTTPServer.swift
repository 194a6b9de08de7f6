import Glibc
import Synchronization

/// A handler for one route, or for a whole server. It runs as a task, so waiting (for the license
/// authority, say) holds no thread and no other connection waits behind it.
typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

/// A small, strict HTTP/1.1 server for the agent's local API, on one event-loop thread.
///
/// The loop (`HTTPEventLoop`) accepts, reads, parses and writes every connection with epoll, so
/// thousands of idle or slow connections cost a descriptor each and never a thread; timeouts bound
/// every wait on a client, and bounds on connections in total and per peer close the oldest idle
/// connection first. Complete requests run `handler` as tasks, so a slow answer delays only its own
/// connection.
///
/// ```
/// var router = HTTPRouter()
/// router.get("/health") { _ in .json(["status": "ok"]) }
/// let server = try HTTPServer(configuration: HTTPServerConfiguration(address: .loopbackV4(port: 8080)), handler: router.handler)
/// ...
/// server.stop()
/// ```
///
/// Call `stop()` before dropping the server: it closes the listeners, lets answers under way finish
/// (they say `Connection: close`), and joins the thread.
final class HTTPServer: Sendable {
    /// Where the server listens over TCP (with the real port when port 0 was asked for); nil when it
    /// listens on a unix socket only.
    public let localAddress: SocketAddress?
    /// Every listener: the TCP address and the unix socket path.
    public let endpoints: [HTTPEndpoint]
    public let configuration: HTTPServerConfiguration
    public let metrics: HTTPServerMetrics

    private let loop: HTTPEventLoop
    private let thread: IOThread
    private let stopped = Mutex(false)

    /// Binds and starts serving at once. Throws when an address cannot be bound (in use, not local, a
    /// live socket in the way...); the error says which and what usually fixes it.
    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: @escaping HTTPHandler) throws {
        var listeners: [HTTPListener] = []
        do {
            if let address = configuration.address { listeners.append(try HTTPListener(tcp: address)) }
            if let path = configuration.unixSocketPath {
                listeners.append(try HTTPListener(unixPath: path, access: configuration.unixSocketAccess))
            }
            guard !listeners.isEmpty else {
                throw HTTPListenError(path: "-", problem: "no TCP address and no unix socket to listen on; configure at least one")
            }
            DescriptorLimit.raise(toAtLeast: configuration.maxConnections + 256)
            let metrics = HTTPServerMetrics()
            let loop = try HTTPEventLoop(configuration: configuration, listeners: listeners, handler: handler, metrics: metrics)
            self.loop = loop
            self.metrics = metrics
        } catch {
            for listener in listeners { listener.close() }
            throw error
        }
        self.configuration = configuration
        endpoints = listeners.map(\.endpoint)
        localAddress = endpoints.lazy.compactMap(\.tcpAddress).first
        let loop = self.loop
        thread = IOThread(name: "licmesh-http") { loop.run() }
    }

    /// Stops accepting, closes idle and slow connections at once, lets answers under way finish
    /// (within `stopGracePeriod`), joins the thread and closes every descriptor (the unix socket file
    /// is removed). Later calls return at once; concurrent calls wait for the first.
    public func stop() {
        stopped.withLock { done in
            guard !done else { return }
            done = true
            loop.requestStop()
            thread.join()
            loop.closeWakeup()
        }
    }
}

/// The process's open-descriptor limit, which bounds the connections a server can hold.
public enum DescriptorLimit {
    /// Raises the soft limit towards `wanted` (never above the hard limit, never lowers it): systemd
    /// starts services with a soft limit of 1,024, which thousands of idle connections would exhaust.
    public static func raise(toAtLeast wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let target = min(rlim_t(max(0, wanted)), limit.rlim_max)
        guard limit.rlim_cur < target else { return }
        limit.rlim_cur = target
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
