import Glibc
@testable import Mesh
import SWIM
import Synchronization
import Testing
import Wire

/// Agent tests on real UDP and TCP over loopback, with the `local` profile.
///
/// They live inside the serialized `TransportTests` suite: agents open and close many descriptors,
/// and the descriptor-leak tests (the transport's and the 50-agent one here) count the process's
/// descriptors, which must not move under them. Tests wait for outcomes with generous deadlines and
/// assert what happened, never how long it took.
extension TransportTests {
    @Suite struct AgentMembership {}
    @Suite struct AgentIsolation {}
    @Suite struct AgentStreams {}
    @Suite struct AgentLifecycle {}
    @Suite struct AgentProcesses {}
}

/// Every event one agent reported, recorded from its stream.
final class EventRecorder: Sendable {
    private let events = Mutex<[MembershipEvent]>([])
    let finished = Mutex(false)

    func append(_ event: MembershipEvent) { events.withLock { $0.append(event) } }
    var all: [MembershipEvent] { events.withLock { $0 } }

    func contains(_ predicate: (MembershipEvent) -> Bool) -> Bool { events.withLock { $0.contains(where: predicate) } }

    func suspected(_ id: NodeID) -> Bool {
        contains { if case .suspected(let m, _) = $0.kind { m.id == id } else { false } }
    }

    func confirmedDead(_ id: NodeID) -> Bool {
        contains { if case .confirmedDead(let m, _) = $0.kind { m.id == id } else { false } }
    }
}

/// An agent under test and the recorder of its events.
struct TestAgent: Sendable {
    let agent: Agent
    let recorder: EventRecorder
    var id: NodeID { agent.id }
    var address: SocketAddress { agent.address }

    func state(of id: NodeID) -> MemberState? { agent.members.first { $0.id == id }?.state }
    func member(_ id: NodeID) -> Member? { agent.members.first { $0.id == id } }
    var aliveCount: Int { agent.members.filter { $0.state == .alive }.count }
}

enum AgentTestSupport {
    /// Generous: only reached when something is broken.
    static let patience: Duration = .seconds(20)

    static func config(id: UInt64, port: UInt16 = 0, cluster: String = "agent-tests",
                       security: GossipSecurity = .plain, settings: Settings = .local) -> AgentConfig {
        var config = AgentConfig(nodeID: NodeID(id), bindAddress: .loopbackV4(port: port), clusterName: cluster,
                                 security: security, settings: settings)
        config.randomSeed = id
        return config
    }

    /// Set LICMESH_TEST_LOG=debug (or info...) to see the agents' logs on standard error.
    static let logger: any AgentLogger = {
        guard let name = getenv("LICMESH_TEST_LOG").map({ String(cString: $0) }),
              let level = LogLevel.allCases.first(where: { $0.description == name }) else { return SilentLogger() }
        return LogfmtLogger(minimumLevel: level)
    }()

    /// Starts an agent (not joined yet) and records its events.
    static func start(_ config: AgentConfig) throws -> TestAgent {
        let agent = try Agent.start(config, logger: logger)
        let recorder = EventRecorder()
        let events = agent.events
        Task {
            for await event in events { recorder.append(event) }
            recorder.finished.withLock { $0 = true }
        }
        return TestAgent(agent: agent, recorder: recorder)
    }

    /// Starts `count` agents with IDs `firstID, firstID+1, ...`; the first founds the cluster, the
    /// others join through it.
    static func startCluster(count: Int, firstID: UInt64, cluster: String = "agent-tests",
                             security: GossipSecurity = .plain, settings: Settings = .local) throws -> [TestAgent] {
        var agents: [TestAgent] = []
        for index in 0..<count {
            let agent = try start(config(id: firstID + UInt64(index), cluster: cluster, security: security, settings: settings))
            agent.agent.join(seeds: agents.first.map { [$0.address] } ?? [])
            agents.append(agent)
        }
        return agents
    }

    /// Polls `condition` until it holds or the deadline passes; returns whether it held.
    static func eventually(within timeout: Duration = patience, _ condition: () -> Bool) async -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return condition()
    }

    /// Every agent sees every other one (and itself) alive.
    static func converged(_ agents: [TestAgent]) -> Bool {
        let ids = Set(agents.map(\.id))
        return agents.allSatisfy { agent in
            let alive = Set(agent.agent.members.filter { $0.state == .alive }.map(\.id))
            return ids.isSubset(of: alive)
        }
    }

    static func stopAll(_ agents: [TestAgent]) async {
        await withTaskGroup(of: Void.self) { group in
            for agent in agents { group.addTask { await agent.agent.stop() } }
        }
    }

    /// A raw UDP endpoint that plays a peer (or an attacker) by hand.
    struct RawPeer {
        let socket: UDPSocket
        var buffer = UDPSocket.makeReceiveBuffer()

        init() throws { socket = try UDPSocket(bindingTo: .loopbackV4(port: 0)) }

        func send(_ bytes: [UInt8], to address: SocketAddress) { _ = socket.send(bytes, to: address) }

        /// Sends a ping sealed by `codec`.
        func ping(_ target: NodeID, sequence: UInt32, with codec: PacketCodec, to address: SocketAddress) throws {
            let packet = try codec.seal(.ping(Ping(sequence: sequence, target: target, source: NodeID(0xFEED))))
            send(packet, to: address)
        }

        /// The next datagram opened with `codec` (nil if none comes within the patience).
        mutating func receive(with codec: PacketCodec) throws -> Message? {
            guard let datagram = try TransportTestSupport.receiveOne(socket, into: &buffer) else { return nil }
            return try codec.open(buffer[0..<datagram.size])
        }
    }
}
