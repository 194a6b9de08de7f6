import Glibc
import Mesh
import SWIM
import Synchronization
import Testing
import Wire

/// What the fake application saw, readable from the test.
final class ApplicationProbe: Sendable {
    struct Seen: Sendable {
        var started = 0
        var ticks = 0
        var payloads: [AppPayload] = []
        var messages: [(source: NodeID, bytes: [UInt8])] = []
        var joined: Set<NodeID> = []
        var leavingCalls = 0
        var stoppedCalls = 0
        var wrongThread = false
    }
    let seen = Mutex(Seen())
    func update(_ body: (inout Seen) -> Void) { seen.withLock { body(&$0) } }
    var snapshot: Seen { seen.withLock { $0 } }
}

/// A small application: publishes a payload when it starts, pings every member that joins with an
/// application message (again on each tick until it answers: a member that has not yet heard of us
/// drops its answer) and answers pings with pongs, ticks every 100 ms, and records everything. It
/// also checks that it is always called on the same thread (the agent's I/O thread).
final class FakeApplication: AgentApplication {
    let probe: ApplicationProbe
    private var deadline = Instant.distantFuture
    private var unanswered: Set<NodeID> = []
    private let thread = pthread_self()

    init(probe: ApplicationProbe) { self.probe = probe }

    private func onMyThread() {
        if pthread_equal(thread, pthread_self()) == 0 { probe.update { $0.wrongThread = true } }
    }

    func started(_ context: AgentContext) -> [AgentAction] {
        onMyThread()
        probe.update { $0.started += 1 }
        deadline = context.now + .milliseconds(100)
        return [.publish(AppPayload(key: "hello/\(context.myself.id)", version: 1, value: [1, 2, 3]), urgent: true)]
    }

    func payloadDelivered(_ payload: AppPayload, _ context: AgentContext) -> [AgentAction] {
        onMyThread()
        probe.update { $0.payloads.append(payload) }
        return []
    }

    func messageDelivered(_ message: AppMessage, from address: Address, _ context: AgentContext) -> [AgentAction] {
        onMyThread()
        probe.update { $0.messages.append((message.source, message.bytes)) }
        if message.bytes == Array("pong".utf8) { unanswered.remove(message.source) }
        return message.bytes == Array("ping".utf8) ? [.sendMessage(Array("pong".utf8), to: message.source)] : []
    }

    func membershipChanged(_ event: MembershipEvent, _ context: AgentContext) -> [AgentAction] {
        onMyThread()
        guard case .joined(let member) = event.kind else { return [] }
        probe.update { _ = $0.joined.insert(member.id) }
        unanswered.insert(member.id)
        return [.sendMessage(Array("ping".utf8), to: member.id), .probe(member.id)]
    }

    func tick(_ context: AgentContext) -> [AgentAction] {
        onMyThread()
        probe.update { $0.ticks += 1 }
        deadline = context.now + .milliseconds(100)
        return unanswered.sorted().map { .sendMessage(Array("ping".utf8), to: $0) }
    }

    var nextDeadline: Instant { deadline }

    func leaving(_ context: AgentContext) -> [AgentAction] {
        probe.update { $0.leavingCalls += 1 }
        return [.publish(AppPayload(key: "bye/\(context.myself.id)", version: 1, value: []), urgent: true)]
    }

    func stopped() { probe.update { $0.stoppedCalls += 1 } }

    var ticks: Int { probe.snapshot.ticks }
}

extension TransportTests.AgentLifecycle {
    @Test func applicationHookSeesPayloadsMessagesAndMembershipAndItsActionsAreCarriedOut() async throws {
        let probes = (0..<3).map { _ in ApplicationProbe() }
        var agents: [TestAgent] = []
        for (index, probe) in probes.enumerated() {
            let agent = try AgentTestSupport.start(AgentTestSupport.config(id: 0xC00 + UInt64(index)), application: { FakeApplication(probe: probe) })
            agent.agent.join(seeds: agents.first.map { [$0.address] } ?? [])
            agents.append(agent)
        }
        let ids = agents.map(\.id)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        // Each application got every other one's payload by gossip, a ping from each other member
        // (sent when it joined there) and a pong for each of its own pings.
        #expect(await AgentTestSupport.eventually {
            zip(ids, probes).allSatisfy { id, probe in
                let seen = probe.snapshot
                let others = Set(ids).subtracting([id])
                let keys = Set(seen.payloads.map(\.key))
                let pingers = Set(seen.messages.filter { $0.bytes == Array("ping".utf8) }.map(\.source))
                let pongers = Set(seen.messages.filter { $0.bytes == Array("pong".utf8) }.map(\.source))
                return keys.isSuperset(of: others.map { "hello/\($0)" }) && pingers == others && pongers == others
                    && seen.joined == others && seen.ticks >= 3
            }
        }, "\(probes.map { seen in let s = seen.snapshot; return "payloads \(s.payloads.map(\.key)) messages \(s.messages.map { "\($0.source):\(String(decoding: $0.bytes, as: UTF8.self))" }) joined \(s.joined) ticks \(s.ticks)" })")

        // Calls from outside run on the loop with the application, and their actions are performed.
        let ticks = await agents[0].agent.withApplication { application, context in
            ((application as? FakeApplication)?.ticks ?? -1,
             [AgentAction.publish(AppPayload(key: "from-outside", version: 1, value: [9]), urgent: true)])
        }
        #expect((ticks ?? -1) >= 3)
        #expect(await AgentTestSupport.eventually { probes[1].snapshot.payloads.contains { $0.key == "from-outside" } })

        // An action that could not go on the wire is refused at the door, and does not poison gossip.
        let refusedBefore = agents[0].agent.counters.unsendableMessages
        agents[0].agent.publish(AppPayload(key: "too-big", version: 1, value: [UInt8](repeating: 7, count: AppPayload.maximumValueLength + 1)))
        agents[0].agent.publish(AppPayload(key: "after-too-big", version: 1, value: [1]))
        #expect(await AgentTestSupport.eventually { probes[2].snapshot.payloads.contains { $0.key == "after-too-big" } })
        #expect(agents[0].agent.counters.unsendableMessages == refusedBefore + 1)
        #expect(!probes[2].snapshot.payloads.contains { $0.key == "too-big" })
        #expect(agents[0].agent.counters.probeRequestsOnDemand >= 2, "probe actions reach SWIM")

        // Leaving lets the application speak last; stopping tells it.
        await agents[2].agent.leave()
        #expect(await AgentTestSupport.eventually { probes[0].snapshot.payloads.contains { $0.key == "bye/\(ids[2])" } })
        await AgentTestSupport.stopAll(agents)
        for probe in probes {
            let seen = probe.snapshot
            #expect(seen.started == 1)
            #expect(seen.stoppedCalls == 1)
            #expect(!seen.wrongThread)
        }
        #expect(probes[2].snapshot.leavingCalls == 1)

        // A stopped agent refuses calls instead of hanging.
        #expect(await agents[0].agent.withApplication { _, _ in (1, []) } == nil)
    }

    @Test func fiftyAgentsStartedAndStoppedGiveBackEveryDescriptor() async throws {
        // A first round outside the count: the process creates some descriptors once, lazily, on first
        // use (Dispatch's timer and wakeup machinery behind Task.sleep and timed waits).
        let warmUp = try AgentTestSupport.startCluster(count: 2, firstID: 0xCF0)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(warmUp) })
        await warmUp[0].agent.stop()
        await warmUp[1].agent.leave()
        let before = try #require(OpenFileDescriptors.count(), "no /proc/self/fd on this host")
        let descriptorsBefore = Self.describeDescriptors()
        // Kept alive to the end, so that deinit cannot close what stop and leave should have closed.
        var stopped: [TestAgent] = []
        for round in 0..<5 {
            // Ten at a time, joined into a cluster so that streams and workers are exercised too;
            // half stop abruptly and half leave gracefully.
            let agents = try AgentTestSupport.startCluster(count: 10, firstID: 0xD00 + UInt64(round * 16))
            #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
            await withTaskGroup(of: Void.self) { group in
                for (index, agent) in agents.enumerated() {
                    group.addTask { if index % 2 == 0 { await agent.agent.stop() } else { await agent.agent.leave() } }
                }
            }
            #expect(agents.allSatisfy { !$0.agent.isRunning })
            #expect(await AgentTestSupport.eventually { agents.allSatisfy { $0.recorder.finished.withLock { $0 } } },
                    "every event stream finishes")
            stopped += agents
        }
        // Everything was closed synchronously by stop and leave; the wait only covers other test
        // targets in this process opening files at the same moment.
        var after = OpenFileDescriptors.count() ?? Int.max
        _ = await AgentTestSupport.eventually(within: .seconds(10)) {
            after = OpenFileDescriptors.count() ?? Int.max
            return after <= before
        }
        #expect(after <= before, "open descriptors: \(before) before, \(after) after; new: \(Self.describeDescriptors().subtracting(descriptorsBefore).sorted())")
        #expect(stopped.count == 50)
    }

    /// "fd -> target" for every open descriptor, to name a leak.
    static func describeDescriptors() -> Set<String> {
        var out: Set<String> = []
        for fd in 0..<1024 {
            var buffer = [CChar](repeating: 0, count: 256)
            let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
            if count > 0 { out.insert("\(fd) -> \(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))") }
        }
        return out
    }

    @Test func aStoppedAgentRefusesWorkAndItsPortIsFree() async throws {
        let agent = try AgentTestSupport.start(AgentTestSupport.config(id: 0xE00))
        agent.agent.join(seeds: [])
        #expect(await AgentTestSupport.eventually { agent.agent.isJoined })
        let address = agent.agent.boundAddress
        await agent.agent.stop()
        await agent.agent.stop()  // twice: harmless
        await agent.agent.leave()  // after stop: returns at once
        #expect(!agent.agent.isRunning)
        await #expect(throws: AgentError.self) { try await agent.agent.updateKeyring(Keyring(primary: .random())) }
        // Both sockets were closed: the same port binds again at once.
        let again = try TransportSockets.bind(to: address)
        again.close()
    }

    @Test func startFailsClearlyWhenThePortIsTaken() throws {
        let taken = try UDPSocket(bindingTo: .loopbackV4(port: 0))
        defer { taken.close() }
        #expect {
            _ = try Agent.start(AgentTestSupport.config(id: 0xE01, port: taken.port), logger: SilentLogger())
        } throws: { error in
            guard let error = error as? AgentError, case .socket(let socketError) = error else { return false }
            return socketError.errno == EADDRINUSE && error.description.contains("already uses this port")
        }
    }
}
