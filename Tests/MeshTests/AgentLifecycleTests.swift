import Glibc
@testable import Mesh
import SWIM
import Synchronization
import Testing
import Wire

extension TransportTests.AgentLifecycle {
    /// An embedding application's actions (publish, send, probe, metadata) reach the node on the I/O
    /// thread and go out; `read` sees the node as it is; an action that could not go on the wire is
    /// refused at the door and does not poison gossip; a stopped agent refuses reads instead of hanging.
    @Test func applicationActionsAreCarriedOutAndTheNodeCanBeRead() async throws {
        let agents = try AgentTestSupport.startCluster(count: 3, firstID: 0xC00)
        let ids = agents.map(\.id)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        for (index, agent) in agents.enumerated() {
            agent.agent.publish(AppPayload(key: "hello/\(index)", version: 1, value: [UInt8(index)]), urgent: true)
        }
        func payloads(at agent: TestAgent) async -> Set<String> {
            await agent.agent.read { node, _ in Set(node.swim.allPayloads.map(\.key)) } ?? []
        }
        var everywhere = false
        for _ in 0..<200 where !everywhere {
            var all = true
            for agent in agents where await payloads(at: agent) != ["hello/0", "hello/1", "hello/2"] { all = false }
            everywhere = all
            if !everywhere { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(everywhere, "every agent holds every agent's payload, by gossip")

        let before = agents[0].agent.myself.incarnation
        agents[0].agent.updateMetadata([7, 7])
        #expect(await AgentTestSupport.eventually { agents[1].agent.members.first { $0.id == ids[0] }?.metadata == [7, 7] })
        #expect(agents[0].agent.myself.incarnation == before + 1)

        agents[0].agent.probe(ids[1])
        agents[0].agent.probe(ids[2])
        #expect(await AgentTestSupport.eventually { agents[0].agent.counters.probeRequestsOnDemand == 2 })

        let refusedBefore = agents[0].agent.counters.unsendableMessages
        agents[0].agent.publish(AppPayload(key: "too-big", version: 1, value: [UInt8](repeating: 7, count: AppPayload.maximumValueLength + 1)))
        agents[0].agent.publish(AppPayload(key: "after-too-big", version: 1, value: [1]))
        var arrived = false
        for _ in 0..<200 where !arrived {
            arrived = await payloads(at: agents[2]).contains("after-too-big")
            if !arrived { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(arrived)
        #expect(agents[0].agent.counters.unsendableMessages == refusedBefore + 1)
        #expect(await !payloads(at: agents[2]).contains("too-big"))

        await AgentTestSupport.stopAll(agents)
        #expect(await agents[0].agent.read { _, _ in 1 } == nil)
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
