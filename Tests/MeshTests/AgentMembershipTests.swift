@testable import Mesh
import SWIM
import Testing

extension TransportTests.AgentMembership {
    @Test func tenAgentsConverge() async throws {
        let agents = try AgentTestSupport.startCluster(count: 10, firstID: 0x100)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) },
                "alive counts: \(agents.map(\.aliveCount))")
        #expect(agents.allSatisfy { $0.agent.isJoined })
        // Every joined event names a member of this cluster at the address it advertises.
        let addresses = Dictionary(uniqueKeysWithValues: agents.map { ($0.id, $0.address.swimAddress) })
        for agent in agents {
            for member in agent.agent.members {
                #expect(addresses[member.id] == member.address)
            }
        }
        await AgentTestSupport.stopAll(agents)
    }

    @Test func agentStoppedWithoutLeavingIsConfirmedDeadByAllOthers() async throws {
        let agents = try AgentTestSupport.startCluster(count: 6, firstID: 0x200)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        let crashed = agents[3]
        let survivors = agents.filter { $0.id != crashed.id }
        await crashed.agent.stop()
        #expect(!crashed.agent.isRunning)

        let allConfirmed = await AgentTestSupport.eventually {
            survivors.allSatisfy { $0.state(of: crashed.id) == .dead }
        }
        #expect(allConfirmed, "views of the crashed agent: \(survivors.map { $0.state(of: crashed.id).map(\.description) ?? "unknown" })")
        // Each survivor said so in its events. Someone suspected it first (a survivor may hear of the
        // death before the suspicion, so not necessarily everyone).
        for survivor in survivors { #expect(survivor.recorder.confirmedDead(crashed.id)) }
        #expect(survivors.contains { $0.recorder.suspected(crashed.id) })
        // The others are unaffected.
        #expect(AgentTestSupport.converged(survivors))
        await AgentTestSupport.stopAll(survivors)
    }

    @Test func agentLeavingGracefullyIsNeverSuspected() async throws {
        let agents = try AgentTestSupport.startCluster(count: 6, firstID: 0x300)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        let leaver = agents[2]
        let others = agents.filter { $0.id != leaver.id }
        let leaveStarted = MonotonicClock.now()
        await leaver.agent.leave()
        #expect(!leaver.agent.isRunning)

        #expect(await AgentTestSupport.eventually { others.allSatisfy { $0.state(of: leaver.id) == .left } },
                "views of the leaver: \(others.map { $0.state(of: leaver.id).map(\.description) ?? "unknown" })")
        // Leaving must not make anyone suspect the leaver. (Before the leave, a starved test machine
        // could suspect anyone; that is not what this test is about.)
        for other in others {
            let suspicions = other.recorder.all.filter { event in
                guard event.at >= leaveStarted, case .suspected(let member, _) = event.kind else { return false }
                return member.id == leaver.id
            }
            #expect(suspicions.isEmpty, "\(other.id) suspected the leaver: \(suspicions)")
            #expect(!other.recorder.confirmedDead(leaver.id))
            #expect(other.recorder.contains { if case .left(let m) = $0.kind { m.id == leaver.id } else { false } })
        }
        // Its own event stream finished with the agent.
        #expect(await AgentTestSupport.eventually { leaver.recorder.finished.withLock { $0 } })
        await AgentTestSupport.stopAll(others)
    }

    @Test func agentRestartedOnTheSamePortRejoinsAndIsAliveEverywhere() async throws {
        let agents = try AgentTestSupport.startCluster(count: 5, firstID: 0x400)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        let victim = agents[4]
        let others = Array(agents.prefix(4))
        let port = victim.agent.boundAddress.port
        await victim.agent.stop()
        #expect(await AgentTestSupport.eventually { others.allSatisfy { $0.state(of: victim.id) == .dead } })

        // Same ID, same port, a fresh process state (incarnation 0): it must outbid its dead past.
        let reborn = try AgentTestSupport.start(AgentTestSupport.config(id: victim.id.rawValue, port: port))
        reborn.agent.join(seeds: [others[0].address])
        let everywhere = others + [reborn]
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(everywhere) },
                "views of the restarted agent: \(others.map { $0.state(of: victim.id).map(\.description) ?? "unknown" })")
        for other in others {
            #expect((other.member(victim.id)?.incarnation ?? 0) > 0, "the new life carries a higher incarnation")
            #expect(other.member(victim.id)?.address == reborn.address.swimAddress)
        }
        await AgentTestSupport.stopAll(everywhere)
    }

    @Test(.enabled(if: TransportTestSupport.ipv6LoopbackAvailable, "no IPv6 loopback on this host"))
    func agentsConvergeOverIPv6() async throws {
        var agents: [TestAgent] = []
        for index in 0..<3 {
            var config = AgentTestSupport.config(id: 0x4A0 + UInt64(index))
            config.bindAddress = .loopbackV6(port: 0)
            let agent = try AgentTestSupport.start(config)
            agent.agent.join(seeds: agents.first.map { [$0.address] } ?? [])
            agents.append(agent)
        }
        #expect(agents[0].address.description.hasPrefix("[::1]:"))
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        await agents[2].agent.stop()
        #expect(await AgentTestSupport.eventually { agents.prefix(2).allSatisfy { $0.state(of: agents[2].id) == .dead } })
        await AgentTestSupport.stopAll(Array(agents.prefix(2)))
    }
}

