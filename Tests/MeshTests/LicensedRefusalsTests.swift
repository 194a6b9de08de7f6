import Licensing
@testable import Mesh
import SWIM
import Testing

extension TransportTests.LicensedRefusals {
    @Test func aFullLicenseAndAnUnlistedMACGetTheFieldMessages() async throws {
        let fixture = LicensedFixture(cluster: "refusals")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1], maxCores: 4)
        let authorityLog = CapturingLogger()
        let first = try fixture.start(0, cores: 3, logger: authorityLog)
        #expect(await LicensedTestSupport.eventually { await first.validate(feature: nil).allowed })

        // The second asks for 3 of the 1 core left.
        let second = try fixture.start(1, seeds: [first.agent.address], cores: 3)
        let exhausted = LicensingMessages.cpuLimitExhausted
        #expect(await LicensedTestSupport.eventually { await second.validate(feature: nil).message.hasPrefix(exhausted) })
        let answer = await second.acquire(cores: 3, timeout: .seconds(5))
        #expect(answer.outcome == .exhausted)
        #expect(answer.message.hasPrefix(exhausted) && answer.message.contains("allows 4 cores") && answer.message.contains("\(first.id)=3"),
                "\(answer)")
        #expect(authorityLog.contains("request refused") { record in
            authorityLog.field("reason", of: record)?.hasPrefix(exhausted) == true && authorityLog.field("requester", of: record) == second.id.description
        })
        // What fits is granted.
        let fits = await second.acquire(cores: 1, timeout: .seconds(5))
        #expect(fits.outcome == .granted && fits.cores == 1, "\(fits)")
        #expect(await second.validate(feature: nil) == ValidationAnswer(allowed: true, cores: 1, message: ""))

        // A host the license does not list: running, joined, unlicensed, with the exact message.
        let strangerLog = CapturingLogger()
        let stranger = try fixture.start(5, seeds: [first.agent.address], logger: strangerLog)
        let invalid = LicensingMessages.invalidMultiServerLicense
        #expect(await LicensedTestSupport.eventually { await stranger.status().joined })
        let verdict = await stranger.validate(feature: nil)
        #expect(!verdict.allowed && verdict.message.hasPrefix(invalid) && verdict.message.contains(LicensedFixture.mac(5).description), "\(verdict)")
        let status = await stranger.status()
        #expect(!status.licensed && !status.healthy && status.license?.valid == false)
        #expect(status.problems.contains { $0.hasPrefix(invalid) }, "\(status.problems)")
        let refused = await stranger.acquire(cores: nil, timeout: .seconds(5))
        #expect(refused.outcome == .refused && refused.message.hasPrefix(invalid))
        #expect(strangerLog.contains("license not valid on this node; running unlicensed") { strangerLog.field("reason", of: $0)?.hasPrefix(invalid) == true })
        // The others see it, but it holds nothing.
        #expect(await LicensedTestSupport.eventually {
            await first.status().members.contains { $0.id == stranger.id.description && $0.state == "alive" && $0.cores == 0 }
        })
        await LicensedTestSupport.stopAll([first, second, stranger])
    }

    @Test func anExpiredLicenseLeavesTheAgentUpButUnlicensedWithTheReason() async throws {
        let fixture = LicensedFixture(cluster: "expired")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1], issued: 1_600_000_000, expires: 1_650_000_000)
        let log = CapturingLogger()
        let agent = try fixture.start(0, logger: log)
        #expect(await LicensedTestSupport.eventually { await agent.status().joined })
        let status = await agent.status()
        #expect(agent.isRunning && !status.licensed && !status.healthy)
        #expect(status.problems.contains { $0.contains("license expired on 2022-04-15") }, "\(status.problems)")
        #expect(status.license?.problems.contains { $0.contains("license expired on") } == true)
        #expect(await agent.validate(feature: nil).message.contains("license expired on 2022-04-15"))
        #expect(log.contains("license not valid on this node; running unlicensed"))
        let metrics = await agent.metrics()
        #expect(metrics.contains("licmesh_license_valid 0") && metrics.contains("licmesh_cores_held 0"))
        // It advertises the license as not valid, so it can never be elected.
        #expect(NodeAdvert(metadata: agent.agent.myself.metadata)?.licenseValid == false)
        await agent.stop()
    }
}
