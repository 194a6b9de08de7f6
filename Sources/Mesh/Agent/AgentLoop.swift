import Licensing
import SWIM
import Wire

/// The agent's I/O thread: owns the `ClusterNode` (SWIM and, in a licensed agent, licensing: the same
/// composition the simulator runs) and the sockets, and is the only code that touches them, so
/// protocol state needs no locks.
///
/// One poll(2) loop over the UDP socket, the TCP listener and the wakeup of the command gate, with the
/// timeout set by the node's next deadline on the monotonic clock. Every input goes to the node and
/// every output comes back here once: its directives are carried out (datagrams, stream exchanges,
/// events), and the licensing side effects (`LicensingRuntime`: the validation snapshot, persistence,
/// logs, counters, waiting clients) are applied. Each datagram is handled on its own: a bad one is
/// counted and dropped, and the loop goes on. Stream exchanges run on worker threads
/// (`StreamWorkers`) that post their results back through the gate.
final class AgentLoop {
    struct Parts {
        var node: ClusterNode
        var licensing: LicensingRuntime?
        var codec: PacketCodec
        var sockets: TransportSockets
        var poller: Poller
        var gate: CommandGate
        var shared: AgentShared
        var events: AsyncStream<MembershipEvent>.Continuation
        var log: AgentLog
        var packetBudget: Int
        var streamTimeout: Duration
        var leaveLinger: Duration
        var maximumFrameSize: Int
        var maximumIncomingStreams: Int
        var maximumOutgoingStreams: Int
    }

    static let udpToken = 1
    static let listenerToken = 2
    /// Datagrams and connections taken per readiness report, so that timers run between bursts.
    static let receiveBurst = 256
    static let acceptBurst = 64
    /// How long accepting pauses when the process is out of descriptors (the pending connection stays
    /// queued, so polling again at once would spin).
    static let acceptBackoff: Duration = .milliseconds(100)

    private var node: ClusterNode
    private let licensing: LicensingRuntime?
    private var codec: PacketCodec
    private let sockets: TransportSockets
    private let poller: Poller
    private let gate: CommandGate
    private let shared: AgentShared
    private let events: AsyncStream<MembershipEvent>.Continuation
    private let log: AgentLog
    private let workers: StreamWorkers
    private let packetBudget: Int
    private let streamTimeout: Duration
    private let leaveLinger: Duration
    private let maximumFrameSize: Int

    private var stopAt: Instant?
    private var stopRequested = false
    private var listenerPausedUntil: Instant?
    private var receiveBuffer = UDPSocket.makeReceiveBuffer()
    /// Parsed destination addresses (peers' advertised addresses repeat all the time).
    private var destinations: [Address: SocketAddress] = [:]
    private var now: Instant
    private var eventCount = 0
    private var nextWallReading = Instant.zero
    private var nextEnvelopeCheckpoint = Instant.zero
    /// How often a licensed agent saves its envelope floors: an unclean stop forgets at most what it
    /// accepted in this long (FORMAT.md, "Replays").
    static let envelopeCheckpointInterval: Duration = .seconds(5)
    private var publishedStamp: ViewStamp?

    /// What changes whenever the membership view does; the view is republished only then.
    private struct ViewStamp: Equatable {
        var updatesApplied: Int
        var incarnation: UInt64
        var state: MemberState
        var events: Int
        var joined: Bool
        var leaving: Bool
    }

    init(_ parts: Parts) {
        node = parts.node
        licensing = parts.licensing
        codec = parts.codec
        sockets = parts.sockets
        poller = parts.poller
        gate = parts.gate
        shared = parts.shared
        events = parts.events
        log = parts.log
        packetBudget = parts.packetBudget
        streamTimeout = parts.streamTimeout
        leaveLinger = parts.leaveLinger
        maximumFrameSize = parts.maximumFrameSize
        workers = StreamWorkers(maximumIncoming: parts.maximumIncomingStreams, maximumOutgoing: parts.maximumOutgoingStreams,
                                gate: parts.gate, namePrefix: "licmesh-\(parts.node.id.description.suffix(4))")
        now = MonotonicClock.now()
    }

    // MARK: - The loop

    func run() {
        poller.register(sockets.udp, token: Self.udpToken)
        poller.register(sockets.listener, token: Self.listenerToken)
        now = MonotonicClock.now()
        licensing?.started(node)
        runTimers()   // the first wall clock reading, before anything is validated
        if licensing?.acquireOnStart == true { carryOut(node.acquire(now: now).1) }
        publishState()
        while !stopRequested {
            let polled: PollEvents
            do {
                polled = try poller.wait(until: nextWake)
            } catch {
                log.log(.error, "agent I/O loop failed; stopping the agent", [LogField("error", error.description)])
                break
            }
            now = MonotonicClock.now()
            for command in gate.takeAll() { handle(command) }
            if polled.isReady(Self.udpToken) { receiveDatagrams() }
            if polled.isReady(Self.listenerToken) { acceptConnections() }
            now = MonotonicClock.now()
            runTimers()
            if let stopAt, now >= stopAt { stopRequested = true }
            publishState()
        }
        shutdown()
    }

    private var nextWake: Instant {
        var wake = node.nextDeadline
        if let stopAt { wake = min(wake, stopAt) }
        if let listenerPausedUntil { wake = min(wake, listenerPausedUntil) }
        return wake
    }

    private func runTimers() {
        if licensing != nil, now >= nextWallReading {
            // Licensing judges license validity by a clock checked against the servers' (Clock.swift).
            nextWallReading = now + .seconds(1)
            carryOut(node.observeWallClock(unixSeconds: Int64(WallClock.secondsSinceEpoch()), now: now))
        }
        if let licensing, now >= nextEnvelopeCheckpoint {
            nextEnvelopeCheckpoint = now + Self.envelopeCheckpointInterval
            licensing.checkpointEnvelope(codec.session)
        }
        if now >= node.nextDeadline { carryOut(node.tick(now: now)) }
        if let paused = listenerPausedUntil, now >= paused {
            listenerPausedUntil = nil
            poller.register(sockets.listener, token: Self.listenerToken)
        }
    }

    // MARK: - Commands

    private func handle(_ command: LoopCommand) {
        switch command {
        case .join(let seeds):
            carryOut(node.join(seeds: seeds.map(\.swimAddress), now: now))
        case .leave:
            beginLeave()
        case .stop:
            stopRequested = true
        case .perform(let action):
            perform(action)
        case .updateKeyring(let keyring, let done):
            // A new codec: workers already running finish with the old one. Both share the envelope
            // session, so counters and what was accepted carry over (Sources/Wire/FORMAT.md, "Replays").
            codec = codec.replacingKeyring(keyring)
            log.log(.info, "gossip keyring replaced", [LogField("accepted_keys", "\(keyring.accepted.count)")])
            done(true)
        case .acquire(let cores, let answer):
            let (id, output) = node.acquire(cores: cores, now: now)
            licensing?.wait(for: id, answer, node: node)
            carryOut(output)
        case .release(let answer):
            let (id, output) = node.release(now: now)
            licensing?.wait(for: id, answer, node: node)
            carryOut(output)
        case .replaceLicense(let terms, let valid, let done):
            carryOut(node.replaceLicense(terms, valid: valid, now: now))
            done(node.licensing != nil)
        case .read(let body, _):
            body(node, now)
        case .streamResponse(let message, let from):
            shared.count { counters in
                if message.kind == .ack { counters.streamPingsAnswered += 1 }
                if message.kind == .pushPullResponse { counters.pushPullsCompleted += 1 }
            }
            carryOut(node.receive(message, from: from, over: .stream, now: now))
        case .streamRequest(let message, let reply):
            carryOut(node.receive(message, from: reply.peer, over: .stream, now: now), answering: reply)
            // No answer (a ping meant for another node ID): the worker closes the connection.
            reply.fulfil(nil)
        case .workerFinished(let id):
            workers.finished(id: id)
        }
    }

    /// Leave gracefully: licensing gives up its grant and role, the departure is announced, then the
    /// agent keeps answering for the linger so that members that have not heard yet do not suspect us.
    private func beginLeave() {
        guard !node.swim.isLeaving, !stopRequested else { return }
        carryOut(node.leave(now: now))
        licensing?.leaving(node)
        let othersActive = node.swim.activeMemberCount > 0
        stopAt = othersActive ? now + leaveLinger : now
        log.log(.info, "leaving the cluster", [LogField("linger_ms", "\(othersActive ? leaveLinger.nanoseconds / 1_000_000 : 0)")])
    }

    /// A membership action of an embedding application, checked first: SWIM would accept it, and every
    /// packet carrying it would then fail to seal, so one oversized payload would silence the node.
    private func perform(_ action: MembershipAction) {
        if let problem = Self.problem(with: action) {
            shared.count { $0.unsendableMessages += 1 }
            log.limited("rejected-action", .error, "application action rejected", [LogField("problem", problem)])
            return
        }
        if case .probe = action { shared.count { $0.probeRequestsOnDemand += 1 } }
        carryOut(node.perform(action, now: now))
    }

    /// Why an action cannot go on the wire, if it cannot.
    static func problem(with action: MembershipAction) -> String? {
        switch action {
        case .publish(let payload, _):
            if payload.key.utf8.count > AppPayload.maximumKeyLength {
                return "payload key of \(payload.key.utf8.count) bytes exceeds \(AppPayload.maximumKeyLength)"
            }
            if payload.value.count > AppPayload.maximumValueLength {
                return "payload value of \(payload.value.count) bytes exceeds \(AppPayload.maximumValueLength)"
            }
        case .sendMessage(let bytes, _):
            if bytes.count > AppMessage.maximumLength {
                return "application message of \(bytes.count) bytes exceeds \(AppMessage.maximumLength)"
            }
        case .updateMetadata(let metadata):
            if metadata.count > Member.maximumMetadataLength {
                return "metadata of \(metadata.count) bytes exceeds \(Member.maximumMetadataLength)"
            }
        case .probe, .watch:
            break
        }
        return nil
    }

    // MARK: - Outputs

    /// Carries out what the node asked for, then applies the licensing side effects. `stream` is the
    /// served connection whose request produced this output: `replyOnStream` answers go there.
    private func carryOut(_ output: ClusterNode.Output, answering stream: StreamReply? = nil) {
        licensing?.persist(node)
        for directive in output.directives {
            switch directive {
            case .send(let message, let address):
                send(message, to: address)
            case .pushPull(let state, let address):
                call(.pushPullRequest(state), expecting: .pushPullResponse, at: address, timeout: streamTimeout)
            case .replyOnStream(let message):
                if let stream {
                    stream.fulfil(message)
                } else {
                    shared.count { $0.misroutedMessages += 1 }
                }
            case .streamPing(let ping, let address):
                // An ack after the probe's end is useless: the exchange gets at most one probe interval.
                shared.count { $0.streamPingsSent += 1 }
                call(.ping(ping), expecting: .ack, at: address, timeout: min(streamTimeout, node.swim.currentProbeInterval))
            case .event(let event):
                eventCount += 1
                events.yield(event)
                logEvent(event)
            case .deliver, .deliverMessage:
                break   // consumed by the licensing layer inside the node
            }
        }
        if output.reactionLimitHits > 0 {
            shared.count { $0.unsettledReactions += output.reactionLimitHits }
            log.log(.error, "licensing reactions did not settle; the rest of this input was dropped",
                    [LogField("rounds", "\(ClusterNode.reactionRoundLimit)"), LogField("fix", "report this as a bug, with this log")])
        }
        licensing?.observe(output, node: node, now: now)
    }

    private func logEvent(_ event: MembershipEvent) {
        let level: LogLevel = switch event.kind {
        case .suspected, .confirmedDead, .idConflict, .refutedSuspicionOfSelf: .warning
        case .forgotten: .debug
        default: .info
        }
        log.log(level, "membership event", [LogField("event", event.name)] + event.fields)
    }

    // MARK: - Datagrams

    private func send(_ message: Message, to address: Address) {
        guard let destination = destination(of: address) else {
            shared.count { $0.sendFailures += 1 }
            log.limited("bad-destination", .warning, "datagram to an unusable address dropped", [LogField("address", address.rawValue)])
            return
        }
        let packet: [UInt8]
        do {
            packet = try codec.seal(message)
        } catch {
            shared.count { $0.unsendableMessages += 1 }
            log.limited("unsendable", .error, "message could not be sealed", [LogField("kind", "\(message.kind)"), LogField("error", error.description)])
            return
        }
        guard packet.count <= packetBudget else {
            shared.count { $0.unsendableMessages += 1 }
            log.limited("over-budget", .error, "message exceeds the packet budget, not sent",
                        [LogField("kind", "\(message.kind)"), LogField("size", "\(packet.count)"), LogField("budget", "\(packetBudget)")])
            return
        }
        let result = sockets.udp.send(packet, to: destination)
        shared.count { counters in
            if result == .sent {
                counters.datagrams.recordOut(message.kind, bytes: packet.count)
            } else {
                counters.sendFailures += 1
            }
        }
    }

    private func destination(of address: Address) -> SocketAddress? {
        if let known = destinations[address] { return known }
        guard let parsed = try? SocketAddress(address) else { return nil }
        // Addresses come from peers; the bound keeps a stream of bogus ones from growing the cache.
        if destinations.count >= 4_096 { destinations.removeAll(keepingCapacity: true) }
        destinations[address] = parsed
        return parsed
    }

    private func receiveDatagrams() {
        for _ in 0..<Self.receiveBurst {
            guard let datagram = sockets.udp.receive(into: &receiveBuffer) else { return }
            now = MonotonicClock.now()
            handle(datagram)
        }
    }

    private func handle(_ datagram: ReceivedDatagram) {
        guard !datagram.isTruncated, datagram.size <= packetBudget else {
            shared.count { $0.oversizeDatagrams += 1 }
            log.limited("oversize", .info, "oversize datagram dropped",
                        [LogField("from", datagram.sender.description), LogField("size", "\(datagram.size)"), LogField("budget", "\(packetBudget)")])
            return
        }
        let message: Message
        do {
            message = try codec.open(receiveBuffer[0..<datagram.size])
        } catch {
            shared.count { $0.recordDecodeError(error.kind) }
            log.rejected(error, from: datagram.sender.description, channel: "udp")
            return
        }
        // Full-state exchanges only travel on streams: answering one by datagram would turn a small
        // forged request into a large reply. (SWIM ignores them too; counted here with the wire's counters.)
        if message.kind == .pushPullRequest || message.kind == .pushPullResponse {
            shared.count { $0.misroutedMessages += 1 }
            return
        }
        shared.count { $0.datagrams.recordIn(message.kind, bytes: datagram.size) }
        carryOut(node.receive(message, from: datagram.sender.swimAddress, now: now))
    }

    // MARK: - Streams

    private var exchange: StreamExchange {
        StreamExchange(codec: codec, gate: gate, shared: shared, log: log, maximumFrameSize: maximumFrameSize)
    }

    private func call(_ request: Message, expecting expected: MessageKind, at address: Address, timeout: Duration) {
        let exchange = self.exchange
        let started = workers.start(.outgoing) {
            exchange.call(request, expecting: expected, at: address, timeout: timeout)
        }
        if !started {
            shared.count { $0.outgoingStreamsRefused += 1 }
            log.limited("outgoing-streams-full", .warning, "stream exchange skipped: too many in flight",
                        [LogField("kind", "\(request.kind)"), LogField("limit", "\(workers.maximumOutgoing)")])
        }
    }

    private func acceptConnections() {
        for _ in 0..<Self.acceptBurst {
            let accepted: StreamConnection?
            do {
                accepted = try sockets.listener.accept()
            } catch {
                log.limited("accept-failed", .error, "cannot accept connections; pausing", [LogField("error", error.description)])
                poller.unregister(token: Self.listenerToken)
                listenerPausedUntil = now + Self.acceptBackoff
                return
            }
            guard let connection = accepted else { return }
            guard workers.hasRoom(.incoming) else {
                // Counted before closing, so whoever sees the close also sees the count.
                shared.count { $0.streamWorkersRefused += 1 }
                connection.close()
                log.limited("incoming-streams-full", .warning, "connection refused: all stream workers busy",
                            [LogField("peer", connection.remoteAddress.description), LogField("limit", "\(workers.maximumIncoming)")])
                continue
            }
            let exchange = self.exchange
            let timeout = streamTimeout
            shared.count { $0.streamsAccepted += 1 }
            workers.start(.incoming) { exchange.serve(connection, timeout: timeout) }
        }
    }

    // MARK: - State for other threads, and shutdown

    private func publishState() {
        let swim = node.swim
        let stamp = ViewStamp(updatesApplied: swim.metrics.updatesApplied, incarnation: swim.myself.incarnation,
                              state: swim.myself.state, events: eventCount, joined: swim.isJoined, leaving: swim.isLeaving)
        if stamp != publishedStamp {
            publishedStamp = stamp
            let snapshot = MembershipSnapshot(myself: swim.myself, others: swim.members,
                                              isJoined: swim.isJoined, isLeaving: swim.isLeaving)
            shared.view.withLock { $0 = snapshot }
        }
        let metrics = swim.metrics
        let health = swim.localHealth
        shared.count { counters in
            counters.swim = metrics
            counters.localHealth = health
        }
    }

    private func shutdown() {
        poller.unregister(token: Self.udpToken)
        poller.unregister(token: Self.listenerToken)
        sockets.close()
        // From here on posts are refused; whatever was queued is answered "no" so nobody waits on us.
        for command in gate.close() { command.cancel() }
        workers.joinAll()
        poller.close()
        licensing?.checkpointEnvelope(codec.session)
        licensing?.stopped(node)
        publishedStamp = nil
        publishState()
        events.finish()
        log.log(.info, "agent stopped", [LogField("left", node.swim.isLeaving ? "true" : "false")])
    }
}
