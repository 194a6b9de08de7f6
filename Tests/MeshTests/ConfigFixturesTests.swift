import Crypto
import Foundation
import Licensing
@testable import Mesh
import SWIM
import Testing
import Wire

/// A scratch directory removed when the value goes away.
final class ScratchDirectory {
    let path: String

    init(_ label: String = "licmesh-test") {
        var base = NSTemporaryDirectory()
        while base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/\(label).XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) } ?? "/nonexistent-mkdtemp-failed"
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String, mode: Int = 0o644) {
        write(name, Array(text.utf8), mode: mode)
    }

    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(bytes), attributes: [.posixPermissions: mode])
    }

    func read(_ name: String) -> [UInt8] {
        FileManager.default.contents(atPath: file(name)).map { Array($0) } ?? []
    }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Key, license and vendor key files in a scratch directory, and a configuration context that
/// reads nothing from this machine: the tests see the same interfaces and CPU count everywhere.
final class ConfigFixture {
    let scratch = ScratchDirectory("licmesh-config")
    static let mac = MACAddress(rawValue: 0x02_00_00_00_00_01)!
    static let otherMAC = MACAddress(rawValue: 0x02_00_00_00_00_02)!
    let gossipKey = SymmetricKey.random()
    let secondGossipKey = SymmetricKey.random()
    let vendorKey = Ed25519PrivateKey.generate()
    let license: SignedLicense

    init() throws {
        let terms = try License(licensee: "Config Tests", issued: LicenseDate(secondsSince1970: 1_700_000_000),
                                expires: LicenseDate(secondsSince1970: 4_000_000_000), maxCores: 64,
                                hosts: [Self.mac, Self.otherMAC], servers: [Self.mac, Self.otherMAC])
        license = try SignedLicense.sign(terms, with: vendorKey)
        scratch.write("gossip.key", GossipKeyFile.contents(of: gossipKey), mode: 0o600)
        scratch.write("gossip-next.key", GossipKeyFile.contents(of: secondGossipKey), mode: 0o600)
        scratch.write("license.lic", LicenseArmor.encode(license))
        scratch.write("vendor.pub", LicenseKeyFile.encode(publicKey: vendorKey.publicKey))
    }

    var configPath: String { scratch.file("agent.json") }

    /// The smallest configuration that resolves: explicit MAC, one key, the license, relative paths.
    static let minimal: [String: ConfigValue] = [
        "mac": .string(mac.description),
        "gossipKeyFiles": .array(["gossip.key"]),
        "licenseFile": "license.lic",
        "vendorPublicKeyFile": "vendor.pub",
    ]

    static let interfaces: [InterfaceAddress] = [
        InterfaceAddress(interface: "lo", ip: .loopbackV4, isLoopback: true),
        InterfaceAddress(interface: "eth0", ip: .v4(0xC633_6407)),      // 198.51.100.7, public
        InterfaceAddress(interface: "eth1", ip: .v4(0x0A01_0203)),      // 10.1.2.3, private
        InterfaceAddress(interface: "eth1", ip: IPAddress(parsing: "fd00::3")!),
    ]

    func context(_ environment: [String: String] = [:], interfaces: [InterfaceAddress] = ConfigFixture.interfaces) -> ConfigContext {
        ConfigContext(environment: environment, cpuCount: 4, sysfsRoot: scratch.file("no-sysfs"),
                      interfaceAddresses: { interfaces })
    }

    /// `members` as the JSON text of a configuration file.
    static func json(_ members: [String: ConfigValue]) -> String {
        AgentConfigFile.render(members)
    }

    /// Writes `members` (the minimal configuration with `changes` applied; `.null` removes a field) and resolves it.
    func resolve(_ changes: [String: ConfigValue] = [:], environment: [String: String] = [:],
                 interfaces: [InterfaceAddress] = ConfigFixture.interfaces) throws(ConfigError) -> ResolvedAgentConfig {
        var members = Self.minimal
        for (key, value) in changes { members[key] = value == .null ? nil : value }
        scratch.write("agent.json", Self.json(members))
        return try ResolvedAgentConfig.load(path: configPath, context: context(environment, interfaces: interfaces))
    }

    /// The error resolving `changes` produces; records a test failure when there is none.
    func error(_ changes: [String: ConfigValue] = [:], environment: [String: String] = [:],
               interfaces: [InterfaceAddress] = ConfigFixture.interfaces, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
        do {
            let resolved = try resolve(changes, environment: environment, interfaces: interfaces)
            Issue.record("expected a configuration error, but it resolved (bind \(resolved.bind))", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}

extension AgentConfigFile {
    /// Test-only: a JSON object from loose members (values the typed file could not hold included).
    static func render(_ members: [String: ConfigValue]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(members)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

@Suite struct ConfigDefaultsTests {
    @Test func minimalConfigurationGetsEveryDocumentedDefault() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve()
        #expect(config.identity.mac == ConfigFixture.mac)
        #expect(config.identity.nodeID == NodeID(0x02_00_00_00_00_01))
        #expect(config.bind.description == "0.0.0.0:7946")
        // Wildcard bind: the first private address of the same family, not the public one before it.
        #expect(config.advertise.description == "10.1.2.3:7946")
        #expect(config.advertiseOrigin == "detected on eth1")
        #expect(config.seeds.isEmpty)
        #expect(config.clusterName == "licmesh")
        #expect(config.gossipKeyFiles == [fixture.scratch.file("gossip.key")])
        #expect(config.insecurePlaintext == false)
        guard case .encrypted(let keyring) = config.secrets.security else {
            Issue.record("expected encryption")
            return
        }
        #expect(keyring.primary == fixture.gossipKey && keyring.accepted == [fixture.gossipKey])
        #expect(config.licenseFile == fixture.scratch.file("license.lic"))
        #expect(config.secrets.license == fixture.license)
        #expect(config.secrets.vendorKey == fixture.vendorKey.publicKey)
        #expect(config.cores == 4)
        #expect(config.licensing.requestedCores == 4)
        #expect(config.profile == "lan")
        #expect(config.settings == .lan)
        #expect(config.licensing.policy == nil)
        #expect(config.licensing.deadGracePeriod == LicensingSettings().deadGracePeriod)
        #expect(config.dataDirectory == "/var/lib/licmesh")
        #expect(config.httpAddress?.description == "127.0.0.1:7947")
        #expect(config.logFormat == .logfmt)
        #expect(config.logLevel == .info)
        #expect(config.warnings.isEmpty, "\(config.warnings)")
        #expect(config.summary.contains { $0.key == "advertise" && $0.value.hasPrefix("10.1.2.3:7946") })
    }

    @Test func defaultMACComesFromSysfsWhenNotConfigured() throws {
        let fixture = try ConfigFixture()
        let sysfs = fixture.scratch.file("sysfs")
        try FileManager.default.createDirectory(atPath: sysfs + "/eth7/device", withIntermediateDirectories: true)
        try "02:00:00:00:00:02\n".write(toFile: sysfs + "/eth7/address", atomically: false, encoding: .utf8)
        var members = ConfigFixture.minimal
        members["mac"] = nil
        let file = try AgentConfigFile.parse(Array(ConfigFixture.json(members).utf8), path: fixture.configPath)
        var context = fixture.context()
        context.sysfsRoot = sysfs
        let config = try ResolvedAgentConfig.resolve(file, context: context)
        #expect(config.identity.mac == ConfigFixture.otherMAC)
        #expect(config.identity.interface == "eth7")
        #expect(config.identity.nodeID == NodeID(0x02_00_00_00_00_02))
    }

    @Test func reloadSecretsReadsTheFilesAgain() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve()
        let replacement = SymmetricKey.random()
        fixture.scratch.write("gossip.key", GossipKeyFile.contents(of: replacement), mode: 0o600)
        let reloaded = try config.reloadSecrets()
        guard case .encrypted(let keyring) = reloaded.security else {
            Issue.record("expected encryption")
            return
        }
        #expect(keyring.primary == replacement)
        fixture.scratch.write("license.lic", "not a license")
        #expect(throws: ConfigError.self) { try config.reloadSecrets() }
    }
}
