import Glibc
import SWIM
import Synchronization

/// The HTTP server's single I/O thread: accepts, reads, parses and writes for every connection with
/// epoll, so an idle or slow connection costs a descriptor, never a thread. Complete requests go to
/// the handler as tasks; their answers come back through `answers` and a wakeup.
///
/// All state below `answers` and `stopRequested` is touched only by the loop's thread, which is why
/// the class can be handed to that thread (`@unchecked Sendable`): other threads only call
/// `deliver` and `requestStop`.
final class HTTPEventLoop: @unchecked Sendable {
    private let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let metrics: HTTPServerMetrics
    private let listeners: [HTTPListener]
    private let poll: EventPoll
    private let wakeup: Wakeup
    private let answers = Mutex<[(token: UInt64, response: HTTPResponse)]>([])
    private let stopRequested = Atomic<Bool>(false)

    private var connections: [UInt64: HTTPConnection] = [:]
    private var connectionsPerPeer: [String: Int] = [:]
    private var nextToken: UInt64 = firstConnectionToken
    private var acceptingPausedUntil: Instant?
    private var stopDeadline: Instant?
    private var nextSweep = Instant.zero
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    private static let wakeupToken: UInt64 = 0
    /// Listener i has token i + 1; connections count up from here, never reused, so an answer for a
    /// connection that has gone cannot reach its successor on the same descriptor number.
    private static let firstConnectionToken: UInt64 = 1 << 32
    /// Deadlines are checked this often: timeouts are precise to about this much.
    private static let sweepInterval = Duration.milliseconds(100)
    /// Bytes discarded while lingering before we close anyway: only a fast endless sender reaches it
    /// (the linger timeout is the real bound). It must exceed what a client may still have in flight
    /// when it sends a whole refused body before reading (the 413 test sends 4 MB): closing earlier
    /// resets the connection under the client's send, and it never reads our answer.
    private static let lingerByteLimit = 16 << 20

    init(configuration: HTTPServerConfiguration, listeners: [HTTPListener], handler: @escaping HTTPHandler, metrics: HTTPServerMetrics)
        throws(SocketError)
    {
        self.configuration = configuration
        self.listeners = listeners
        self.handler = handler
        self.metrics = metrics
        poll = try EventPoll()
        wakeup = try Wakeup()
        try poll.add(wakeup.readDescriptor, token: Self.wakeupToken, interest: .readable)
        for (index, listener) in listeners.enumerated() {
            try poll.add(listener.fileDescriptor, token: UInt64(index + 1), interest: .readable)
        }
    }

    // MARK: - Other threads

    /// Hands a handler's answer to the loop. Safe from any thread; dropped if the connection is gone.
    func deliver(_ response: HTTPResponse, to token: UInt64) {
        answers.withLock { $0.append((token, response)) }
        wakeup.wake()
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wakeup.wake()
    }

    /// After the loop's thread has returned.
    func closeWakeup() { wakeup.close() }

    // MARK: - The loop

    func run() {
        while true {
            let now = MonotonicClock.now()
            if stopRequested.load(ordering: .acquiring) && stopDeadline == nil { beginStop(now: now) }
            if let stopDeadline, connections.isEmpty || now >= stopDeadline { break }
            let idle = connections.isEmpty && acceptingPausedUntil == nil && stopDeadline == nil
            let events: [EventPoll.Event]
            do {
                events = try poll.wait(timeoutMilliseconds: idle ? -1 : Int32(Self.sweepInterval.nanoseconds / 1_000_000))
            } catch {
                break
            }
            for event in events {
                switch event.token {
                case Self.wakeupToken:
                    wakeup.drain()
                    for (token, response) in takeAnswers() {
                        if let connection = connections[token] { answer(connection, with: response) }
                    }
                case 1...UInt64(listeners.count):
                    acceptAll(from: listeners[Int(event.token) - 1])
                default:
                    if let connection = connections[event.token] { handle(event, on: connection) }
                }
            }
            let after = MonotonicClock.now()
            if after >= nextSweep {
                nextSweep = after + Self.sweepInterval
                sweep(now: after)
            }
        }
        for connection in Array(connections.values) { close(connection) }
        for listener in listeners { listener.close() }
    }

    private func takeAnswers() -> [(token: UInt64, response: HTTPResponse)] {
        answers.withLock { pending in
            let taken = pending
            pending.removeAll()
            return taken
        }
    }

    // MARK: - Accepting

    private func acceptAll(from listener: HTTPListener) {
        guard stopDeadline == nil, acceptingPausedUntil == nil else { return }
        while true {
            let accepted: (OwnedDescriptor, HTTPPeer)?
            do {
                accepted = try listener.accept()
            } catch {
                // Out of descriptors: an idle connection gives one back; without one, pause accepting
                // (the pending connection stays queued) instead of spinning on a readable listener.
                if evict(amongPeer: nil) { continue }
                pauseAccepting()
                return
            }
            guard let (descriptor, peer) = accepted else { return }
            metrics.connectionAccepted()
            admit(descriptor, peer: peer, endpoint: listener.endpoint)
        }
    }

    private func admit(_ descriptor: OwnedDescriptor, peer: HTTPPeer, endpoint: HTTPEndpoint) {
        let key = peer.limitKey
        if connectionsPerPeer[key, default: 0] >= configuration.maxConnectionsPerPeer, !evict(amongPeer: key) {
            return refuse(descriptor, "this client has \(configuration.maxConnectionsPerPeer) connections open, all busy; close some, or retry shortly")
        }
        if connections.count >= configuration.maxConnections, !evict(amongPeer: nil) {
            return refuse(descriptor, "the server has \(configuration.maxConnections) connections open, all busy; retry shortly")
        }
        let token = nextToken
        nextToken += 1
        let now = MonotonicClock.now()
        let connection = HTTPConnection(
            token: token, descriptor: descriptor, peer: peer, endpoint: endpoint, limits: configuration.limits,
            now: now, headDeadline: now + configuration.headTimeout)
        do {
            try poll.add(connection.fd, token: token, interest: .readable)
        } catch {
            descriptor.close()
            return
        }
        connections[token] = connection
        connectionsPerPeer[key, default: 0] += 1
        metrics.connectionOpened()
    }

    /// Closes the connection (among `peer`'s, or all) that does least: idle before slow, oldest first.
    /// False when every candidate is being answered.
    private func evict(amongPeer peer: String?) -> Bool {
        var victim: HTTPConnection?
        var victimRank = Int.max
        for connection in connections.values {
            guard let rank = connection.evictionRank, peer == nil || connection.peer.limitKey == peer else { continue }
            if rank < victimRank || (rank == victimRank && connection.waitingSince < victim!.waitingSince) {
                victim = connection
                victimRank = rank
            }
        }
        guard let victim else { return false }
        metrics.connectionEvicted()
        close(victim)
        return true
    }

    /// A best-effort 503 (one non-blocking send) so the client learns why, then close.
    private func refuse(_ descriptor: OwnedDescriptor, _ reason: String) {
        metrics.connectionRefused()
        let bytes = HTTPResponse.error(.serviceUnavailable, reason).serialized(closing: true)
        descriptor.withDescriptor { fd in
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        }
        descriptor.close()
    }

    private func pauseAccepting() {
        acceptingPausedUntil = MonotonicClock.now() + Self.sweepInterval
        for (index, listener) in listeners.enumerated() {
            try? poll.update(listener.fileDescriptor, token: UInt64(index + 1), interest: .none)
        }
    }

    private func resumeAccepting() {
        acceptingPausedUntil = nil
        for (index, listener) in listeners.enumerated() {
            try? poll.update(listener.fileDescriptor, token: UInt64(index + 1), interest: .readable)
        }
    }

    // MARK: - Reading and parsing

    private func handle(_ event: EventPoll.Event, on connection: HTTPConnection) {
        switch connection.phase {
        case .waiting, .lingering:
            if event.readable || event.failed { readAvailable(on: connection) }
        case .writing:
            if event.writable || event.failed { flush(connection) }
        case .handling:
            // Reading is off while the handler runs, so this is a reset or hang-up: the client is gone.
            if event.failed { close(connection) }
        }
    }

    private func readAvailable(on connection: HTTPConnection) {
        switch connection.read(into: &readBuffer) {
        case .bytes(let count):
            if connection.phase == .lingering {
                connection.discarded += count
                if connection.discarded > Self.lingerByteLimit { close(connection) }
                return
            }
            connection.parser.append(readBuffer[..<count])
            advance(connection)
        case .wouldBlock:
            return
        case .endOfStream, .failed:
            close(connection)
        }
    }

    /// Takes what the parser has: a request goes to the handler, an error is answered, and otherwise
    /// the connection waits for more under the right timeout.
    private func advance(_ connection: HTTPConnection) {
        guard case .waiting(let waiting) = connection.phase else { return }
        switch connection.parser.next() {
        case .request(var request):
            request.peer = connection.peer
            request.endpoint = connection.endpoint
            connection.served += 1
            metrics.requestServed()
            connection.pending = HTTPConnection.PendingAnswer(
                keepAlive: request.keepAlive, version: request.version, isHead: request.method == "HEAD")
            connection.phase = .handling
            connection.deadline = .distantFuture
            setInterest(.none, on: connection)
            let handler = self.handler
            let token = connection.token
            Task.detached { [self] in
                let response = await handler(request)
                deliver(response, to: token)
            }

        case .failed(let error):
            metrics.parseError(error.kind)
            respond(HTTPResponse.error(error.status, error.message), on: connection, closing: true, then: .linger)

        case .needMore:
            let parser = connection.parser
            if parser.needsContinue {
                connection.parser.continueWasSent()
                connection.outgoing = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                metrics.responseSent(.continue)
                // 25 bytes into an empty send buffer; if even that does not go, the client is gone.
                guard connection.flush() == .done else { return close(connection) }
            }
            let now = MonotonicClock.now()
            switch waiting {
            case .idle where parser.hasPartialRequest:
                let next: HTTPConnection.Waiting = parser.isReadingBody ? .body : .head
                connection.phase = .waiting(next)
                connection.deadline = now + (next == .body ? configuration.bodyTimeout : configuration.headTimeout)
            case .head where parser.isReadingBody:
                connection.phase = .waiting(.body)
                connection.deadline = now + configuration.bodyTimeout
            case .idle, .head, .body:
                break
            }
        }
    }

    // MARK: - Answering

    private func answer(_ connection: HTTPConnection, with response: HTTPResponse) {
        guard connection.phase == .handling, let pending = connection.pending else { return }
        connection.pending = nil
        let closing = !pending.keepAlive || connection.served >= configuration.maxRequestsPerConnection || stopDeadline != nil
        // Requests pipelined past the last one are unread: drain them so closing does not reset the
        // connection under this answer.
        let then: HTTPConnection.AfterWrite = closing ? (connection.parser.hasPartialRequest ? .linger : .close) : .keepOpen
        respond(response, on: connection, closing: closing, keepAliveForHTTP10: pending.version == .http10, omitBody: pending.isHead, then: then)
    }

    private func respond(
        _ response: HTTPResponse, on connection: HTTPConnection, closing: Bool, keepAliveForHTTP10: Bool = false, omitBody: Bool = false,
        then: HTTPConnection.AfterWrite
    ) {
        // Counted before the write, so a client holding the answer always finds it in the metrics.
        metrics.responseSent(response.status)
        connection.outgoing = response.serialized(closing: closing, keepAliveForHTTP10: keepAliveForHTTP10, omitBody: omitBody)
        connection.written = 0
        connection.phase = .writing(then: then)
        connection.deadline = MonotonicClock.now() + configuration.writeTimeout
        flush(connection)
    }

    private func flush(_ connection: HTTPConnection) {
        guard case .writing(let then) = connection.phase else { return }
        switch connection.flush() {
        case .wouldBlock:
            setInterest(.writable, on: connection)
        case .failed:
            close(connection)
        case .done:
            let now = MonotonicClock.now()
            switch then {
            case .close:
                close(connection)
            case .linger:
                _ = shutdown(connection.fd, Int32(SHUT_WR))
                connection.phase = .lingering
                connection.deadline = now + configuration.lingerTimeout
                setInterest(.readable, on: connection)
            case .keepOpen:
                let partial = connection.parser.hasPartialRequest
                connection.phase = .waiting(partial ? .head : .idle)
                connection.deadline = now + (partial ? configuration.headTimeout : configuration.idleTimeout)
                connection.waitingSince = now
                setInterest(.readable, on: connection)
                // A pipelined request may already be complete in the parser.
                advance(connection)
            }
        }
    }

    // MARK: - Timeouts, stopping, closing

    private func sweep(now: Instant) {
        if let pausedUntil = acceptingPausedUntil, now >= pausedUntil, stopDeadline == nil { resumeAccepting() }
        for connection in Array(connections.values) where connection.deadline <= now {
            switch connection.phase {
            case .waiting(let waiting):
                guard waiting != .idle, connection.parser.hasPartialRequest else {
                    metrics.idleTimeout()
                    close(connection)
                    continue
                }
                let (part, timeout) = waiting == .body ? ("body", configuration.bodyTimeout) : ("request head", configuration.headTimeout)
                let error = HTTPParseError(.timedOut, "the \(part) did not arrive within \(formatSeconds(timeout.seconds)); send the whole request at once")
                metrics.parseError(error.kind)
                respond(HTTPResponse.error(error.status, error.message), on: connection, closing: true, then: .close)
            case .writing:
                metrics.writeTimeout()
                close(connection)
            case .lingering:
                close(connection)
            case .handling:
                break
            }
        }
    }

    /// Stops accepting and closes every connection not being answered; answers under way finish
    /// (saying `Connection: close`) within the stop grace period.
    private func beginStop(now: Instant) {
        stopDeadline = now + configuration.stopGracePeriod
        for listener in listeners {
            poll.remove(listener.fileDescriptor)
            listener.close()
        }
        for connection in Array(connections.values) {
            switch connection.phase {
            case .waiting, .lingering: close(connection)
            case .handling, .writing: break
            }
        }
    }

    private func setInterest(_ interest: EventPoll.Interest, on connection: HTTPConnection) {
        guard connection.interest != interest else { return }
        connection.interest = interest
        do {
            try poll.update(connection.fd, token: connection.token, interest: interest)
        } catch {
            close(connection)
        }
    }

    private func close(_ connection: HTTPConnection) {
        guard connections.removeValue(forKey: connection.token) != nil else { return }
        let key = connection.peer.limitKey
        connectionsPerPeer[key, default: 1] -= 1
        if connectionsPerPeer[key] == 0 { connectionsPerPeer[key] = nil }
        poll.remove(connection.fd)
        connection.descriptor.close()
        metrics.connectionClosed()
    }
}
