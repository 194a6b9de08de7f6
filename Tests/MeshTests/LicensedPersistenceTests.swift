import Foundation
import Licensing
@testable import Mesh
import SWIM
import Testing

extension TransportTests.LicensedPersistence {
    @Test func aRestartRestoresTheDurableStateAndReacquiresTheSameGrant() async throws {
        let fixture = LicensedFixture(cluster: "restart")
        try fixture.writeLicense(hosts: [0, 1, 2], servers: [0, 1, 2], maxCores: 16)
        var agents = try fixture.startCluster(count: 3, cores: 2)
        #expect(await LicensedTestSupport.eventually { await LicensedTestSupport.allLicensed(agents) })
        let before = try #require(await agents[2].status().ledger.first { $0.node == agents[2].id.description })
        #expect(await LicensedTestSupport.eventually { await agents[2].status().ledger.count == 3 })
        await agents[2].stop()  // a crash: nothing released
        let files = (try? FileManager.default.contentsOfDirectory(atPath: fixture.dataDirectory(2))) ?? []
        #expect(files.contains("ledger.dat") && files.contains("own-grant.dat") && files.contains("boot.dat"), "\(files)")

        // Back on the same port, as a restarted service is (from another address, SWIM would report
        // an ID conflict until the old life is declared dead).
        let log = CapturingLogger()
        let restarted = try fixture.start(2, seeds: [agents[0].agent.address], cores: 2, port: agents[2].agent.boundAddress.port, logger: log)
        agents[2] = restarted
        #expect(log.contains("data directory opened") { record in
            log.field("boot", of: record) == "2" && log.field("incarnation", of: record) == "1"
                && log.field("restored_grants", of: record) == "3" && log.field("restored_own_cores", of: record) == "2"
        }, "\(log.records.withLock { $0.map(\.message) })")
        // Re-acquired: the authority confirmed the grant the previous life held (same stamp), rather
        // than making a new one; the others see the new life with a higher incarnation.
        #expect(await LicensedTestSupport.eventually { await restarted.validate(feature: nil).allowed })
        let after = try #require(await restarted.status().ledger.first { $0.node == restarted.id.description })
        #expect(after == before)
        #expect(await LicensedTestSupport.eventually {
            await agents[0].status().members.contains { $0.id == restarted.id.description && $0.state == "alive" && $0.incarnation >= 1 }
        })
        await LicensedTestSupport.stopAll(agents)
    }

    @Test func aGracefulLeaveReleasesTheCoresEverywhere() async throws {
        let fixture = LicensedFixture(cluster: "leave")
        try fixture.writeLicense(hosts: [0, 1, 2], servers: [0, 1, 2], maxCores: 16)
        let first = try fixture.start(0)
        let second = try fixture.start(1, seeds: [first.agent.address])
        let leaverLog = CapturingLogger()
        let leaving = try fixture.start(2, seeds: [first.agent.address], logger: leaverLog)
        #expect(await LicensedTestSupport.eventually { await LicensedTestSupport.allLicensed([first, second, leaving]) })
        // Everyone must know the leaver first: a departure is news only about a member one has heard of.
        #expect(await LicensedTestSupport.eventually { LicensedTestSupport.converged([first, second, leaving]) })
        // Written off the I/O thread, so shortly after the grant.
        #expect(await LicensedTestSupport.eventually { FileManager.default.fileExists(atPath: fixture.dataDirectory(2) + "/own-grant.dat") })
        let id = leaving.id.description
        await leaving.leave()
        #expect(!leaving.isRunning)
        #expect(await !leaving.validate(feature: nil).allowed, "a stopped agent licenses nothing")
        #expect(leaverLog.contains("released cores before leaving") { leaverLog.field("outcome", of: $0) == "released" })
        for agent in [first, second] {
            var seen: (GrantStatus?, MemberStatus?); var all: [String] = []
            #expect(await LicensedTestSupport.eventually {
                let status = await agent.status()
                seen = (status.ledger.first { $0.node == id }, status.members.first { $0.id == id }); all = status.members.map { "\($0.id) \($0.state)" }
                return seen.0?.cores == 0 && seen.1?.state == "left"
            }, "the ledger shows 0 cores for the node that left: \(String(describing: seen)) \(all)")
        }
        #expect(await first.status().coresInUse == 4)
        #expect(!FileManager.default.fileExists(atPath: fixture.dataDirectory(2) + "/own-grant.dat"), "a released grant is not kept")
        await LicensedTestSupport.stopAll([first, second])
    }

    @Test func aCorruptDataFileIsSetAsideAndReported() async throws {
        let fixture = LicensedFixture(cluster: "corrupt")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1])
        try FileManager.default.createDirectory(atPath: fixture.dataDirectory(0), withIntermediateDirectories: true)
        fixture.scratch.write("data-0/ledger.dat", Array("{\"grants\": \"all of them\"}".utf8), mode: 0o600)
        let log = CapturingLogger()
        let agent = try fixture.start(0, logger: log)
        #expect(agent.startupNotices.contains { $0.contains("ledger.dat") && $0.contains("is not a LicenseMesh data file") },
                "\(agent.startupNotices)")
        #expect(log.contains("data directory notice") { log.field("notice", of: $0)?.contains("ledger.dat.corrupt-") == true })
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixture.dataDirectory(0))) ?? []
        #expect(names.contains { $0.hasPrefix("ledger.dat.corrupt-") }, "\(names)")
        // It started without it, and runs normally: it founds a cluster, becomes authority, grants itself.
        #expect(await LicensedTestSupport.eventually { await agent.validate(feature: nil).allowed })
        #expect(await LicensedTestSupport.eventually {
            ((try? FileManager.default.contentsOfDirectory(atPath: fixture.dataDirectory(0))) ?? []).contains("ledger.dat")
        }, "a fresh ledger snapshot is written")
        await agent.stop()
    }
}
