import Crypto
import Licensing
@testable import Mesh
import SWIM
import Testing
import Wire

extension TransportTests.LicensedReload {
    /// What SIGHUP does: the agent re-reads its files and takes the new license without a restart.
    @Test func reloadingPicksUpANewLicense() async throws {
        let fixture = LicensedFixture(cluster: "reload")
        let wrong = try fixture.writeLicense(hosts: [1, 2], servers: [1, 2])
        let log = CapturingLogger()
        let agent = try fixture.start(0, logger: log)
        #expect(await LicensedTestSupport.eventually { await agent.status().joined })
        #expect(await agent.validate(feature: nil).message.hasPrefix(LicensingMessages.invalidMultiServerLicense))

        let right = try fixture.writeLicense(hosts: [0, 1], servers: [0, 1], maxCores: 8)
        let installed = try await agent.reload()
        #expect(installed.isValid && installed.id == right.license.id && installed.id != wrong.license.id)
        #expect(await LicensedTestSupport.eventually { await agent.validate(feature: nil).allowed })
        let status = await agent.status()
        #expect(status.license?.id == right.license.id && status.license?.maxCores == 8 && status.licensed && status.isAuthority)
        // The cluster hears of the new license through the member's advert.
        #expect(await LicensedTestSupport.eventually {
            NodeAdvert(metadata: agent.agent.myself.metadata) == NodeAdvert(mac: LicensedFixture.mac(0).rawValue, licenseID: right.license.id, licenseValid: true,
                                                                         lineage: LicenseTerms(right.license).lineage, life: 1)
        })
        #expect(log.contains("reloaded license and keys") { log.field("license", of: $0) == right.license.id })

        // A broken file changes nothing.
        fixture.scratch.write("license.lic", "not a license")
        await #expect(throws: LicensedAgentError.self) { try await agent.reload() }
        #expect(await agent.validate(feature: nil).allowed)
        #expect(agent.installedLicense.id == right.license.id)
        await agent.stop()

        // The new advert went out with a higher incarnation; the next life starts above it.
        let incarnation = agent.agent.myself.incarnation
        #expect(incarnation >= 1)
        let directory = try DataDirectory.open(path: fixture.dataDirectory(0), clusterName: fixture.cluster, nodeID: agent.id)
        #expect(try directory.beginBoot().incarnation > incarnation)
    }

    @Test func reloadingReplacesTheGossipKeys() async throws {
        let fixture = LicensedFixture(cluster: "rekey")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1])
        let oldKey = SymmetricKey.random(), newKey = SymmetricKey.random()
        fixture.scratch.write("gossip.key", GossipKeyFile.contents(of: oldKey), mode: 0o600)
        var config = try fixture.config(0)
        config.agent.security = .encrypted(Keyring(primary: oldKey))
        let (keyFile, licenseFile, vendorFile) = (fixture.scratch.file("gossip.key"), fixture.scratch.file("license.lic"), fixture.scratch.file("vendor.pub"))
        config.reloadSecrets = { () throws(ConfigError) -> AgentSecrets in
            try AgentSecrets.load(gossipKeyFiles: [keyFile], insecurePlaintext: false, licenseFile: licenseFile, vendorPublicKeyFile: vendorFile)
        }
        let first = try LicensedAgent.start(config, logger: CapturingLogger())
        fixture.scratch.write("gossip.key", GossipKeyFile.contents(of: newKey), mode: 0o600)
        try await first.reload()

        // An agent that only knows the new key joins it.
        var other = try fixture.config(1, seeds: [first.agent.address])
        other.agent.security = .encrypted(Keyring(primary: newKey))
        let second = try LicensedAgent.start(other, logger: CapturingLogger())
        #expect(await LicensedTestSupport.eventually { LicensedTestSupport.converged([first, second]) })
        #expect(await LicensedTestSupport.eventually { await LicensedTestSupport.allLicensed([first, second]) })
        await LicensedTestSupport.stopAll([first, second])
    }
}
