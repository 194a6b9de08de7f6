import Crypto
import Foundation
import Licensing
@testable import Mesh
import SWIM
import Synchronization
import Testing
import Wire

/// Licensed-agent tests on real UDP and TCP over loopback with the `local` profile. They live in the
/// serialized `TransportTests` suite because they open and close many descriptors, which the
/// descriptor-leak tests count.
extension TransportTests {
    @Suite struct LicensedTakeover {}
    @Suite struct LicensedRefusals {}
    @Suite struct LicensedPersistence {}
    @Suite struct LicensedReload {}
    @Suite struct LicensedLifecycle {}
}

/// Log records kept for inspection (and printed with LICMESH_TEST_LOG set).
final class CapturingLogger: AgentLogger {
    let records = Mutex<[LogRecord]>([])
    func log(_ record: LogRecord) {
        records.withLock { $0.append(record) }
        AgentTestSupport.logger.log(record)
    }
    func contains(_ message: String, where predicate: (LogRecord) -> Bool = { _ in true }) -> Bool {
        records.withLock { $0.contains { $0.message == message && predicate($0) } }
    }
    func field(_ key: String, of record: LogRecord) -> String? { record.fields.first { $0.key == key }?.value }
}

/// A throwaway vendor key, licenses for test MACs, and agents configured through real config files
/// (bound to port 0 after resolving, since configuration files name fixed ports).
final class LicensedFixture {
    let scratch = ScratchDirectory("licmesh-licensed")
    let vendorKey = Ed25519PrivateKey.generate()
    let cluster: String

    init(cluster: String = "licensed-tests") {
        self.cluster = cluster
        scratch.write("vendor.pub", LicenseKeyFile.encode(publicKey: vendorKey.publicKey))
    }

    /// 02:00:00:00:10:0i; node IDs (derived from the MAC) sort the same way.
    static func mac(_ index: Int) -> MACAddress { MACAddress(rawValue: 0x02_00_00_00_10_00 + UInt64(index))! }

    /// Signs a license and writes it to `name`.
    @discardableResult
    func writeLicense(_ name: String = "license.lic", hosts: [Int], servers: [Int], maxCores: Int = 64,
                      issued: Int64 = 1_700_000_000, expires: Int64 = 4_000_000_000, id: String? = nil) throws -> SignedLicense {
        let terms = try License(id: id, licensee: "Licensed Agent Tests", issued: LicenseDate(secondsSince1970: issued),
                                expires: LicenseDate(secondsSince1970: expires), maxCores: maxCores,
                                hosts: hosts.map(Self.mac), servers: servers.map(Self.mac))
        let signed = try SignedLicense.sign(terms, with: vendorKey)
        scratch.write(name, LicenseArmor.encode(signed))
        return signed
    }

    func dataDirectory(_ index: Int) -> String { scratch.file("data-\(index)") }

    /// The configuration of agent `index` as `licmesh agent --config` would load it, bound to port 0.
    func config(_ index: Int, seeds: [SocketAddress] = [], cores: Int = 2, license: String = "license.lic",
                licensing: [String: ConfigValue] = [:], port: UInt16 = 0) throws -> LicensedAgentConfig {
        var file = AgentConfigFile()
        file.mac = Self.mac(index).description
        file.bind = "127.0.0.1:9"  // replaced by port 0 below
        file.seeds = seeds.map(\.description)
        file.clusterName = cluster
        file.insecurePlaintext = true
        file.licenseFile = license
        file.vendorPublicKeyFile = "vendor.pub"
        file.cores = cores
        file.profile = "local"
        file.licensing = licensing
        file.dataDir = "data-\(index)"
        file.httpAddress = "127.0.0.1:10"
        let path = scratch.file("agent-\(index).json")
        scratch.write("agent-\(index).json", file.jsonText())
        let context = ConfigContext(environment: [:], cpuCount: 2, sysfsRoot: scratch.file("no-sysfs"), interfaceAddresses: { [] })
        let resolved = try ResolvedAgentConfig.load(path: path, context: context)
        var config = LicensedAgentConfig(resolved)
        config.agent.bindAddress = .loopbackV4(port: port)
        config.agent.advertiseAddress = nil
        config.agent.randomSeed = UInt64(index) &+ 0x5EED
        config.seedRetryInterval = .milliseconds(200)
        return config
    }

    /// Starts agent `index`; the logger records what it printed.
    func start(_ index: Int, seeds: [SocketAddress] = [], cores: Int = 2, license: String = "license.lic",
               licensing: [String: ConfigValue] = [:], port: UInt16 = 0, logger: CapturingLogger = CapturingLogger()) throws -> LicensedAgent {
        try LicensedAgent.start(config(index, seeds: seeds, cores: cores, license: license, licensing: licensing, port: port), logger: logger)
    }

    /// Starts agents 0..<count with every one after the first seeded with the first.
    func startCluster(count: Int, cores: Int = 2, licensing: [String: ConfigValue] = [:]) throws -> [LicensedAgent] {
        var agents: [LicensedAgent] = []
        for index in 0..<count {
            agents.append(try start(index, seeds: agents.first.map { [$0.agent.address] } ?? [], cores: cores, licensing: licensing))
        }
        return agents
    }
}

enum LicensedTestSupport {
    /// Every agent sees every other one alive.
    static func converged(_ agents: [LicensedAgent]) -> Bool {
        let ids = Set(agents.map(\.id))
        return agents.allSatisfy { agent in ids.isSubset(of: Set(agent.agent.members.filter { $0.state == .alive }.map(\.id))) }
    }

    static func allLicensed(_ agents: [LicensedAgent]) async -> Bool {
        for agent in agents where await !agent.validate(feature: nil).allowed { return false }
        return true
    }

    /// Polls an async condition until it holds or the deadline passes.
    static func eventually(within timeout: Duration = AgentTestSupport.patience, _ condition: () async -> Bool) async -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return await condition()
    }

    static func stopAll(_ agents: [LicensedAgent]) async {
        await withTaskGroup(of: Void.self) { group in
            for agent in agents { group.addTask { await agent.stop() } }
        }
    }
}

@Suite struct LicensedUnitTests {
    @Test func licenseTermsCarryEveryFieldOfTheDocument() throws {
        let fixture = LicensedFixture()
        let signed = try fixture.writeLicense(hosts: [1, 2, 3], servers: [1, 2], maxCores: 12, expires: 3_000_000_000)
        let installed = InstalledLicense(signed, vendorKey: fixture.vendorKey.publicKey, mac: LicensedFixture.mac(3), unixTime: 1_800_000_000)
        #expect(installed.isValid && installed.problem == nil)
        let terms = try #require(installed.terms)
        #expect(terms.id == signed.license.id && terms.maxCores == 12 && terms.expires == 3_000_000_000)
        #expect(terms.hosts == Set([1, 2, 3].map { LicensedFixture.mac($0).rawValue }))
        #expect(terms.servers == [1, 2].map { LicensedFixture.mac($0).rawValue })
        #expect(terms.defaultPolicy == .available)
    }

    @Test func aLicenseThatDoesNotVerifyHereSaysWhy() throws {
        let fixture = LicensedFixture()
        let signed = try fixture.writeLicense(hosts: [1, 2], servers: [1, 2])
        let unlisted = InstalledLicense(signed, vendorKey: fixture.vendorKey.publicKey, mac: LicensedFixture.mac(9), unixTime: 1_800_000_000)
        #expect(!unlisted.isValid && unlisted.terms != nil)
        #expect(unlisted.problem?.hasPrefix("Invalid license for multi-server environment setup.") == true)
        #expect(unlisted.problem?.contains(LicensedFixture.mac(9).description) == true)
        let expired = InstalledLicense(signed, vendorKey: fixture.vendorKey.publicKey, mac: LicensedFixture.mac(1), unixTime: 4_100_000_000)
        #expect(!expired.isValid && expired.problem?.contains("license expired on") == true)
        let forged = InstalledLicense(signed, vendorKey: Ed25519PrivateKey.generate().publicKey, mac: LicensedFixture.mac(1), unixTime: 1_800_000_000)
        #expect(!forged.isValid && forged.terms == nil, "nothing in a license with a bad signature is trusted")
    }

    @Test func jsonLogLinesAreOneObjectEachWithUniqueKeys() throws {
        let record = LogRecord(.warning, "a \"quoted\"\nmessage", [LogField("node", "00ab"), LogField("msg", "clash"), LogField("ctl", "\u{1}\u{2028}")])
        let line = JSONLineLogger.line(record, timestamp: "2025-01-02T03:04:05.678Z")
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "warn" && object["msg"] == "a \"quoted\"\nmessage" && object["node"] == "00ab")
        #expect(object["field_msg"] == "clash" && object["ctl"] == "\u{1}\u{2028}")
    }

    @Test func ledgerSnapshotsKeepThePromiseAndOldFilesStillRead() throws {
        let snapshot = LedgerSnapshot(ledger: Ledger([Grant(node: NodeID(7), cores: 2, stamp: Stamp(epoch: Epoch(round: 2, serverRank: 0), sequence: 3))]),
                                      epoch: Epoch(round: 2, serverRank: 0), authority: NodeID(1), promised: Epoch(round: 5, serverRank: 1), savedAt: 42)
        #expect(try LedgerSnapshot(payload: snapshot.payload) == snapshot)
        // A file written before the promise was kept: the promise reads as the epoch.
        let old = Array(snapshot.payload.dropLast(5))
        let read = try LedgerSnapshot(payload: old)
        #expect(read.promised == snapshot.epoch && read.ledger == snapshot.ledger)
        // A promise below the epoch, or an unknown extension, is not what we write.
        #expect(throws: DataFileProblem.self) { try LedgerSnapshot(payload: old + [1, 0, 0, 0, 1]) }
        #expect(throws: DataFileProblem.self) { try LedgerSnapshot(payload: old + [2, 0, 0, 9, 0]) }
        #expect(throws: DataFileProblem.self) { try LedgerSnapshot(payload: old + [0, 0, 0, 1]) }
    }

    @Test func detectionLatencyRunsFromFirstSuspicionToDeath() {
        var clock = SuspicionClock()
        let member = Member(id: NodeID(5), address: "x", incarnation: 0, state: .suspect)
        #expect(clock.observe(MembershipEvent(at: Instant(nanoseconds: 1_000_000_000), kind: .suspected(member, by: NodeID(1)))) == nil)
        #expect(clock.observe(MembershipEvent(at: Instant(nanoseconds: 1_500_000_000), kind: .suspected(member, by: NodeID(2)))) == nil)
        #expect(clock.observe(MembershipEvent(at: Instant(nanoseconds: 3_000_000_000), kind: .confirmedDead(member, by: NodeID(2)))) == .seconds(2))
        // Refuted in between: no latency for the later death.
        _ = clock.observe(MembershipEvent(at: Instant(nanoseconds: 4_000_000_000), kind: .suspected(member, by: NodeID(1))))
        _ = clock.observe(MembershipEvent(at: Instant(nanoseconds: 4_100_000_000), kind: .refuted(member)))
        #expect(clock.observe(MembershipEvent(at: Instant(nanoseconds: 5_000_000_000), kind: .confirmedDead(member, by: NodeID(1)))) == nil)
    }
}
