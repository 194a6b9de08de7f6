import Synchronization

/// A small, strict HTTP/1.1 server for the agent's local API.
///
/// One accept thread waits on the listener; each accepted connection goes to an idle worker of a
/// fixed pool (`maxConnections`) or, when all are busy, gets a 503 and is closed at once (counted in
/// `metrics`). A worker serves its connection's requests one after another (keep-alive, pipelining)
/// through `handler`, which may block briefly: it runs on the worker, never on the agent's I/O thread.
/// Timeouts bound every wait on a client, so slow or garbage clients hold a worker for at most the
/// head, body or idle timeout.
///
/// ```
/// var router = HTTPRouter()
/// router.get("/health") { _ in .json(["status": "ok"]) }
/// let server = try HTTPServer(configuration: HTTPServerConfiguration(address: .loopbackV4(port: 8080)), handler: router.handler)
/// ...
/// server.stop()
/// ```
///
/// Call `stop()` before dropping the server: it closes the listener, lets in-flight requests finish
/// (their responses say `Connection: close`), and joins every thread.
public final class HTTPServer: Sendable {
    /// Where the server listens (with the real port when port 0 was asked for).
    public let localAddress: SocketAddress
    public let configuration: HTTPServerConfiguration
    public let metrics: HTTPServerMetrics

    private let listener: StreamListener
    private let poller: Poller
    private let stopSignal: HTTPStopSignal
    private let pool: HTTPWorkerPool
    private let acceptThread: IOThread
    private let stopped = Mutex(false)

    static let listenerToken = 0

    /// Binds and starts serving at once. Throws when the address cannot be bound (in use, not local...);
    /// the error says which address and what usually fixes it.
    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: @escaping HTTPHandler) throws(SocketError) {
        let listener = try StreamListener(bindingTo: configuration.address)
        let poller: Poller
        let stopSignal: HTTPStopSignal
        do {
            poller = try Poller()
            stopSignal = try HTTPStopSignal()
        } catch {
            listener.close()
            throw error
        }
        let metrics = HTTPServerMetrics()
        let pool = HTTPWorkerPool(size: configuration.maxConnections) { connection in
            HTTPConnectionSession(
                connection: connection, configuration: configuration, handler: handler, metrics: metrics, stopSignal: stopSignal
            ).run()
        }
        poller.register(listener, token: Self.listenerToken)

        self.listener = listener
        self.poller = poller
        self.stopSignal = stopSignal
        self.pool = pool
        self.metrics = metrics
        self.configuration = configuration
        localAddress = listener.localAddress
        acceptThread = IOThread(name: "licmesh-http") {
            Self.acceptLoop(listener: listener, poller: poller, pool: pool, metrics: metrics, stopSignal: stopSignal)
        }
    }

    /// Stops accepting, lets the workers finish what they are doing (idle and slow connections are
    /// closed at once, a running handler completes and its answer is sent), joins every thread and
    /// closes every descriptor. Later calls return at once; concurrent calls wait for the first.
    public func stop() {
        stopped.withLock { done in
            guard !done else { return }
            done = true
            stopSignal.stop()
            poller.wake()
            acceptThread.join()
            listener.close()
            poller.close()
            pool.stop()
            stopSignal.close()
        }
    }

    private static func acceptLoop(
        listener: StreamListener, poller: Poller, pool: HTTPWorkerPool, metrics: HTTPServerMetrics, stopSignal: HTTPStopSignal
    ) {
        while !stopSignal.isStopped {
            guard let events = try? poller.wait(timeoutMilliseconds: -1) else { return }
            guard events.isReady(listenerToken) else { continue }
            while !stopSignal.isStopped {
                let connection: StreamConnection?
                do {
                    connection = try listener.accept()
                } catch {
                    // Out of descriptors or memory: the connection stays queued and the listener stays
                    // readable, so pause instead of spinning; a stop still wakes this wait.
                    _ = try? poller.wait(timeoutMilliseconds: 100)
                    break
                }
                guard let connection else { break }
                metrics.connectionAccepted()
                if !pool.tryHandOver(connection) {
                    refuse(connection, metrics: metrics)
                }
            }
        }
    }

    /// Every worker is busy: a best-effort 503 (one non-blocking send) and close, so the client learns
    /// why rather than hanging until a worker frees up.
    private static func refuse(_ connection: StreamConnection, metrics: HTTPServerMetrics) {
        metrics.connectionRejected()
        if let descriptor = connection.fileDescriptor {
            let response = HTTPResponse.error(.serviceUnavailable, "the server is busy serving other connections; retry shortly")
            HTTPConnectionSocket(descriptor: descriptor, stopDescriptor: -1).sendOnce(response.serialized(closing: true))
        }
        connection.close()
    }
}
