import Crypto
import Licensing
import SWIM
import Wire

/// One LicenseMesh agent: a SWIM member on real sockets (and, started by `LicensedAgent`, a licensing
/// node: the I/O thread owns one `ClusterNode` either way, the composition the simulator runs).
///
/// `Agent.start` binds a UDP socket and a TCP listener on one port and starts the agent's I/O thread,
/// which owns the protocol state; every method here posts to that thread or reads what it published,
/// so an agent may be used from any thread or task. Many agents can share a process (tests, demos)
/// and each has its own thread and sockets.
///
///     let agent = try Agent.start(config)
///     agent.join(seeds: [seed])
///     for await event in agent.events { ... }
///     await agent.leave()
///
/// Releasing the last reference to a running agent stops it (without a leave).
public final class Agent: Sendable {
    public let id: NodeID
    /// The address other members reach this agent at.
    public let address: SocketAddress
    /// Where the UDP socket is bound (with the port the kernel picked for port 0).
    public let boundAddress: SocketAddress
    /// Every membership change this agent decides, in order. Finishes when the agent stops. Buffers the
    /// newest 4,096 events when nobody reads, so an unread stream costs bounded memory. One consumer.
    public let events: AsyncStream<MembershipEvent>

    private let gate: CommandGate
    private let shared: AgentShared
    private let isEncrypted: Bool

    public static let eventBufferSize = 4_096

    /// Validates the configuration, binds, and starts the I/O thread of a membership-only agent. The
    /// agent answers members at once but joins nobody until `join(seeds:)`.
    public static func start(_ config: AgentConfig, logger: any AgentLogger = LogfmtLogger()) throws(AgentError) -> Agent {
        try start(config, logger: logger, licensing: nil)
    }

    /// A licensed agent's start (`LicensedAgent.start`): the node gets this licensing state machine, and
    /// its outputs' licensing side effects go to the runtime made on the I/O thread.
    static func start(_ config: AgentConfig, logger: any AgentLogger, licensing: LicensingParts?) throws(AgentError) -> Agent {
        do { try config.validate() } catch { throw .invalidConfig(error) }
        let sockets: TransportSockets
        do { sockets = try TransportSockets.bind(to: config.bindAddress) } catch { throw .socket(error) }
        return try start(config, sockets: sockets, logger: logger, licensing: licensing)
    }

    /// The licensing half of a licensed agent.
    struct LicensingParts: Sendable {
        var node: LicensingNode
        /// The envelope identity and floors kept in the data directory across lives.
        var envelope: EnvelopeSession
        var makeRuntime: @Sendable () -> LicensingRuntime
    }

    /// Starts on sockets bound by the caller (tests bind UDP and TCP on different addresses to play a
    /// firewall that blocks UDP). Takes ownership of the sockets.
    static func start(_ config: AgentConfig, sockets: TransportSockets, logger: any AgentLogger,
                      licensing: LicensingParts? = nil) throws(AgentError) -> Agent
    {
        do { try config.validate() } catch {
            sockets.close()
            throw .invalidConfig(error)
        }
        let advertised = config.advertised(bound: sockets.localAddress)
        let swim: SWIMInstance
        let poller: Poller
        do {
            swim = try SWIMInstance(id: config.nodeID, address: advertised.swimAddress, metadata: config.metadata,
                                    settings: config.effectiveSettings, seed: config.randomSeed ?? SecureRandom.uint64(),
                                    incarnation: config.initialIncarnation)
        } catch {
            sockets.close()
            throw .invalidConfig(AgentConfigError(field: "settings.\(error.field)", problem: error.problem))
        }
        do { poller = try Poller() } catch {
            sockets.close()
            throw .socket(error)
        }
        let (events, continuation) = AsyncStream.makeStream(of: MembershipEvent.self,
                                                            bufferingPolicy: .bufferingNewest(eventBufferSize))
        let gate = CommandGate(waking: poller)
        let shared = AgentShared(myself: swim.myself)
        let log = AgentLog(logger: logger, node: config.nodeID)
        // Without a data directory a life's boot comes from the clock alone (EnvelopeSender.boot).
        let session = licensing?.envelope ?? EnvelopeSession(sender: EnvelopeSender(
            id: config.nodeID, boot: EnvelopeSender.boot(after: nil, unixMicroseconds: WallTime.unixMicroseconds())))
        let codec = PacketCodec(clusterName: config.clusterName, security: config.security, session: session)
        let agent = Agent(id: config.nodeID, address: advertised, boundAddress: sockets.localAddress, events: events,
                          gate: gate, shared: shared, isEncrypted: config.isEncrypted)
        log.log(.info, "agent started", [
            LogField("address", advertised.description), LogField("bound", sockets.localAddress.description),
            LogField("cluster", config.clusterName), LogField("encrypted", config.isEncrypted ? "true" : "false"),
            LogField("probe_interval_ms", "\(config.settings.probeInterval.nanoseconds / 1_000_000)"),
        ])
        let parts = (swim, codec, sockets, poller, continuation, log)
        let budget = config.packetBudget, streamTimeout = config.effectiveStreamTimeout
        let linger = config.effectiveLeaveLinger, frameSize = config.maximumStreamFrameSize
        let incoming = config.maximumIncomingStreams, outgoing = config.maximumOutgoingStreams
        _ = IOThread(name: "licmesh-io") {
            let loop = AgentLoop(AgentLoop.Parts(
                node: ClusterNode(swim: parts.0, licensing: licensing?.node), licensing: licensing?.makeRuntime(),
                codec: parts.1, sockets: parts.2, poller: parts.3, gate: gate, shared: shared,
                events: parts.4, log: parts.5, packetBudget: budget,
                streamTimeout: streamTimeout, leaveLinger: linger, maximumFrameSize: frameSize,
                maximumIncomingStreams: incoming, maximumOutgoingStreams: outgoing))
            loop.run()
            shared.markStopped()
        }
        return agent
    }

    private init(id: NodeID, address: SocketAddress, boundAddress: SocketAddress, events: AsyncStream<MembershipEvent>,
                 gate: CommandGate, shared: AgentShared, isEncrypted: Bool) {
        self.id = id
        self.address = address
        self.boundAddress = boundAddress
        self.events = events
        self.gate = gate
        self.shared = shared
        self.isEncrypted = isEncrypted
    }

    deinit {
        gate.post(.stop)
    }

    // MARK: - Membership

    /// Joins the cluster through these seeds (push-pull with each, retried with backoff until one
    /// answers). No seeds: this agent starts a cluster of its own. Returns at once; `isJoined` and
    /// the events tell what happened. Ignored once the agent has stopped.
    public func join(seeds: [SocketAddress]) {
        gate.post(.join(seeds))
    }

    /// Leaves gracefully: tells the members, keeps answering for `AgentConfig.leaveLinger` so that
    /// nobody suspects it meanwhile, then stops. Returns when everything is closed.
    public func leave() async {
        gate.post(.leave)
        await shared.waitUntilStopped()
    }

    /// Stops at once without telling anyone (what a crash looks like to the others). Returns when
    /// everything is closed.
    public func stop() async {
        gate.post(.stop)
        await shared.waitUntilStopped()
    }

    /// Returns when the agent has stopped (after `leave`, `stop`, or a fatal I/O error).
    public func waitUntilStopped() async {
        await shared.waitUntilStopped()
    }

    public var isRunning: Bool { !shared.isStopped }

    /// Every member known, this one included, tombstones (dead, left) too, in ID order.
    public var members: [Member] {
        let view = shared.view.withLock { $0 }
        var all = view.others
        let index = all.firstIndex { $0.id > view.myself.id } ?? all.endIndex
        all.insert(view.myself, at: index)
        return all
    }

    /// This member as it currently announces itself.
    public var myself: Member { shared.view.withLock { $0.myself } }

    /// True once a seed answered (or when started without seeds).
    public var isJoined: Bool { shared.view.withLock { $0.isJoined } }

    public var counters: AgentCounters { shared.counters.withLock { $0 } }

    // MARK: - Application traffic

    /// Disseminates a payload through gossip; `urgent` also sends it at once to a few members.
    public func publish(_ payload: AppPayload, urgent: Bool = false) {
        gate.post(.perform(.publish(payload, urgent: urgent)))
    }

    /// Sends opaque bytes (at most `AppMessage.maximumLength`) to a member; dropped if it is not alive.
    public func sendApplicationMessage(_ bytes: [UInt8], to id: NodeID) {
        gate.post(.perform(.sendMessage(bytes, to: id)))
    }

    /// Replaces this member's metadata; a new incarnation carries it to everyone.
    public func updateMetadata(_ metadata: [UInt8]) {
        gate.post(.perform(.updateMetadata(metadata)))
    }

    /// Probes a member now, outside the probe schedule.
    public func probe(_ id: NodeID) {
        gate.post(.perform(.probe(id)))
    }

    /// Replaces the gossip keys (rotation: accept the new key everywhere, then send with it, then drop
    /// the old). Returns once the loop uses the new keys for everything it sends and receives.
    public func updateKeyring(_ keyring: Keyring) async throws(AgentError) {
        guard isEncrypted else { throw .keyringOnPlainAgent }
        let applied = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            if !gate.post(.updateKeyring(keyring, done: { continuation.resume(returning: $0) })) {
                continuation.resume(returning: false)
            }
        }
        if !applied { throw .notRunning }
    }

    /// Runs `body` on the I/O thread with the node as it is now (read-only) and the loop's monotonic
    /// time: one consistent snapshot of membership, payloads and licensing. Nil when the agent has stopped.
    public func read<T: Sendable>(_ body: @escaping @Sendable (ClusterNode, Instant) -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let posted = gate.post(.read(body: { node, now in continuation.resume(returning: body(node, now)) },
                                         cancel: { continuation.resume(returning: nil) }))
            if !posted { continuation.resume(returning: nil) }
        }
    }

    /// Posts a command to the I/O thread; false when the agent has stopped.
    @discardableResult
    func post(_ command: LoopCommand) -> Bool { gate.post(command) }
}
