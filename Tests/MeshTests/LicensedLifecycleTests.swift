import Licensing
@testable import Mesh
import SWIM
import Testing

extension TransportTests.LicensedLifecycle {
    /// Starting and stopping licensed agents gives back every descriptor: sockets, the poller, the
    /// data directory's lock. The 50-agent test's pattern, with licensing, persistence and seeds.
    @Test func licensedAgentsStartedAndStoppedGiveBackEveryDescriptor() async throws {
        let fixture = LicensedFixture(cluster: "descriptors")
        try fixture.writeLicense(hosts: Array(0..<12), servers: [0, 1, 2], maxCores: 64)
        // Warm-up outside the count: one-time lazy descriptors of the process (Dispatch, timers).
        let warmUp = try fixture.startCluster(count: 2, cores: 1)
        #expect(await LicensedTestSupport.eventually { await LicensedTestSupport.allLicensed(warmUp) })
        await warmUp[0].leave()
        await warmUp[1].stop()

        let before = try #require(OpenFileDescriptors.count(), "no /proc/self/fd on this host")
        let descriptorsBefore = TransportTests.AgentLifecycle.describeDescriptors()
        var stopped: [LicensedAgent] = []
        for round in 0..<2 {
            // Data directories of a new round are new: each round's agents are fresh nodes 0..4, 5..9.
            var agents: [LicensedAgent] = []
            for index in 0..<5 {
                let node = round * 5 + index + 2
                agents.append(try fixture.start(node, seeds: agents.first.map { [$0.agent.address] } ?? [], cores: 1))
            }
            #expect(await LicensedTestSupport.eventually { LicensedTestSupport.converged(agents) })
            await withTaskGroup(of: Void.self) { group in
                for (index, agent) in agents.enumerated() {
                    group.addTask { if index % 2 == 0 { await agent.stop() } else { await agent.leave(releaseTimeout: .milliseconds(300)) } }
                }
            }
            #expect(agents.allSatisfy { !$0.isRunning })
            stopped += agents
        }
        var after = OpenFileDescriptors.count() ?? Int.max
        _ = await AgentTestSupport.eventually(within: .seconds(10)) {
            after = OpenFileDescriptors.count() ?? Int.max
            return after <= before
        }
        #expect(after <= before, "open descriptors: \(before) before, \(after) after; new: \(TransportTests.AgentLifecycle.describeDescriptors().subtracting(descriptorsBefore).sorted())")
        #expect(stopped.count == 10)

        // The data directory's lock is free once an agent stopped: the next life (or a tool) opens it.
        let reopened = try DataDirectory.open(path: fixture.dataDirectory(2), clusterName: fixture.cluster, nodeID: stopped[0].id)
        #expect(reopened.path == fixture.dataDirectory(2))
    }

    @Test func malformedLicensingMessagesAreCountedAndDropped() async throws {
        let fixture = LicensedFixture(cluster: "malformed")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1])
        let licensed = try fixture.start(0)
        #expect(await LicensedTestSupport.eventually { await licensed.validate(feature: nil).allowed })
        // A member without licensing sends bytes that are no licensing message.
        let stranger = try AgentTestSupport.start(AgentTestSupport.config(id: 0x77, cluster: fixture.cluster))
        stranger.agent.join(seeds: [licensed.agent.address])
        #expect(await AgentTestSupport.eventually { stranger.agent.members.contains { $0.id == licensed.id && $0.state == .alive } })
        for bytes: [UInt8] in [[0xFF], [1, 2], []] { stranger.agent.sendApplicationMessage(bytes, to: licensed.id) }
        #expect(await LicensedTestSupport.eventually { await licensed.metrics().contains("licmesh_malformed_licensing_messages_total 3") })
        // The other drop counters are there too, at zero on a quiet loopback.
        let metrics = await licensed.metrics()
        #expect(metrics.contains("licmesh_udp_kernel_drops_total 0"))
        #expect(metrics.contains("licmesh_stream_refusals_total{direction=\"incoming\"} 0"))
        #expect(await licensed.validate(feature: nil).allowed)
        #expect(await licensed.status().members.contains { $0.id == stranger.id.description && $0.mac == nil && $0.state == "alive" })
        await stranger.agent.stop()
        await licensed.stop()
    }

    /// A flood of well-formed requests from a member that holds no license: each is refused and
    /// counted, the log keeps to its burst, and nothing is granted.
    @Test func aFloodOfRequestsFromAnUnlicensedMemberIsRefusedCountedAndRateLimitedInTheLog() async throws {
        let fixture = LicensedFixture(cluster: "flood")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1])
        let logger = CapturingLogger()
        let licensed = try fixture.start(0, logger: logger)
        #expect(await LicensedTestSupport.eventually { await licensed.validate(feature: nil).allowed })
        let stranger = try AgentTestSupport.start(AgentTestSupport.config(id: 0x77, cluster: fixture.cluster))
        stranger.agent.join(seeds: [licensed.agent.address])
        #expect(await AgentTestSupport.eventually { stranger.agent.members.contains { $0.id == licensed.id && $0.state == .alive } })
        let flood = LicensingRuntime.logBurst + 30
        for requestID in 1...flood {
            let acquire = LicensingMessage.acquire(requestID: UInt64(requestID), life: 1, basis: .zero, cores: 1, mac: 0x77, held: nil)
            stranger.agent.sendApplicationMessage(LicensingCodec.encode(acquire), to: licensed.id)
        }
        #expect(await LicensedTestSupport.eventually {
            await licensed.metrics().contains("licmesh_licensing_rejected_total{reason=\"not-a-member\"} \(flood)")
        })
        let metrics = await licensed.metrics()
        #expect(metrics.contains("licmesh_refusals_total \(flood)"))
        #expect(metrics.contains("licmesh_cores_in_use 2"), "only the authority's own grant")
        let refusalLines = logger.records.withLock { $0.filter { $0.message == "request refused" }.count }
        #expect(refusalLines == LicensingRuntime.logBurst, "the log keeps to its burst: \(refusalLines) lines for \(flood) refusals")
        await stranger.agent.stop()
        await licensed.stop()
    }

    @Test func seedNamesAreResolvedWhenJoiningAndThisAgentsOwnAddressIsSkipped() async throws {
        let fixture = LicensedFixture(cluster: "seeds")
        try fixture.writeLicense(hosts: [0, 1, 2], servers: [0, 1])
        let first = try fixture.start(0)
        // A DNS name (resolved by the joiner, not by the configuration).
        var config = try fixture.config(1)
        config.seeds = [.name(host: "localhost", port: first.agent.address.port)]
        let second = try LicensedAgent.start(config, logger: CapturingLogger())
        #expect(await LicensedTestSupport.eventually { LicensedTestSupport.converged([first, second]) })

        // Seeded only with itself: it founds a cluster instead of waiting for an answer from itself.
        let probe = try TransportSockets.bind(to: .loopbackV4(port: 0))
        let port = probe.localAddress.port
        probe.close()
        let log = CapturingLogger()
        var lonely = try fixture.config(2, port: port)
        lonely.seeds = [.address(.loopbackV4(port: port))]
        let third = try LicensedAgent.start(lonely, logger: log)
        #expect(await LicensedTestSupport.eventually { third.agent.isJoined })
        #expect(log.contains("founding a new cluster: every seed is this agent"))
        #expect(third.agent.members.count == 1)
        await LicensedTestSupport.stopAll([first, second, third])
    }
}
