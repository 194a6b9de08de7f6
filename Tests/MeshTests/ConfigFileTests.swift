import Foundation
import Licensing
@testable import Mesh
import SWIM
import Testing
import Wire

@Suite struct ConfigFileTests {
    /// Every field of docs/configuration.md, none at its default.
    static func everyField() -> [String: ConfigValue] {
        [
            "nodeID": "0x00000000000000aa",
            "mac": "02-00-00-00-00-02",
            "bind": "10.0.0.5:8000",
            "advertise": "192.0.2.10:9000",
            "seeds": .array(["10.0.0.6:8000", "agents.licmesh.svc.cluster.local:8000", "[fd00::7]:8000", "10.0.0.6:8000"]),
            "clusterName": "production-eu.1",
            "gossipKeyFiles": .array(["gossip-next.key", "gossip.key"]),
            "licenseFile": "license.lic",
            "vendorPublicKeyFile": "vendor.pub",
            "cores": 12,
            "profile": "wan",
            "settings": .object([
                "probeInterval": "4s", "probeTimeout": "1500ms", "indirectChecks": 4, "nackTimeoutFraction": 0.7,
                "suspicionMultiplier": 5, "suspicionMaxMultiplier": 5.5, "probeOnSuspicion": false,
                "maxLocalHealthMultiplier": 6, "retransmitMultiplier": 3, "pushPullInterval": "2m",
                "streamFallbackPing": false, "tombstoneRetention": "1h", "joinRetryInterval": "1.5s",
                "maxJoinRetryInterval": "45s", "leaveFanout": 5, "urgentGossipFanout": 0,
            ]),
            "licensing": .object(["policy": "available", "deadGracePeriod": "45s", "requestTimeout": "300ms",
                                  "proposalTimeout": "600ms", "retryInterval": "700ms", "maximumClockSkew": "2m",
                                  "refusedRetryInterval": "3s"]),
            "dataDir": "state",
            "httpAddress": "127.0.0.1:9001",
            "httpSocket": "api.sock",
            "httpSocketMode": "0640",
            "httpSocketGroup": "licmesh",
            "httpTokenFile": "api.token",
            "httpOpenReads": false,
            "logFormat": "json",
            "logLevel": "debug",
        ]
    }

    @Test func everyDocumentedFieldIsParsedAndResolved() throws {
        let fixture = try ConfigFixture()
        fixture.scratch.write("api.token", "0123456789abcdef-token\n", mode: 0o640)
        let config = try fixture.resolve(Self.everyField())
        #expect(config.identity.nodeID == NodeID(0xAA))
        #expect(config.identity.mac == ConfigFixture.otherMAC)
        #expect(config.bind == SocketAddress(ip: .v4(0x0A00_0005), port: 8000))
        #expect(config.advertise.description == "192.0.2.10:9000")
        #expect(config.advertiseOrigin == "configured")
        #expect(config.seeds == [
            .address(try SocketAddress(parsing: "10.0.0.6:8000")),
            .name(host: "agents.licmesh.svc.cluster.local", port: 8000),
            .address(try SocketAddress(parsing: "[fd00::7]:8000")),
        ], "duplicates dropped, order kept")
        #expect(config.clusterName == "production-eu.1")
        #expect(config.gossipKeyFiles == [fixture.scratch.file("gossip-next.key"), fixture.scratch.file("gossip.key")])
        guard case .encrypted(let keyring) = config.secrets.security else {
            Issue.record("expected encryption")
            return
        }
        #expect(keyring.primary == fixture.secondGossipKey, "the first file is the primary")
        #expect(keyring.accepted == [fixture.secondGossipKey, fixture.gossipKey])
        #expect(config.cores == 12 && config.licensing.requestedCores == 12)
        #expect(config.profile == "wan")

        var expected = Settings.wan
        expected.probeInterval = .seconds(4)
        expected.probeTimeout = .milliseconds(1500)
        expected.indirectChecks = 4
        expected.nackTimeoutFraction = 0.7
        expected.suspicionMultiplier = 5
        expected.suspicionMaxMultiplier = 5.5
        expected.probeOnSuspicion = false
        expected.maxLocalHealthMultiplier = 6
        expected.retransmitMultiplier = 3
        expected.pushPullInterval = .seconds(120)
        expected.streamFallbackPing = false
        expected.tombstoneRetention = .seconds(3600)
        expected.joinRetryInterval = .milliseconds(1500)
        expected.maxJoinRetryInterval = .seconds(45)
        expected.leaveFanout = 5
        expected.urgentGossipFanout = 0
        #expect(config.settings == expected)

        #expect(config.licensing.policy == .available)
        #expect(config.licensing.deadGracePeriod == .seconds(45))
        #expect(config.licensing.requestTimeout == .milliseconds(300))
        #expect(config.licensing.proposalTimeout == .milliseconds(600))
        #expect(config.licensing.retryInterval == .milliseconds(700))
        #expect(config.licensing.maximumClockSkew == .seconds(120))
        #expect(config.licensing.refusedRetryInterval == .seconds(3))
        #expect(config.dataDirectory == fixture.scratch.file("state"), "relative to the configuration file's directory")
        #expect(config.httpAddress?.description == "127.0.0.1:9001")
        #expect(config.httpSocket == fixture.scratch.file("api.sock"))
        #expect(config.httpSocketAccess == UnixSocketAccess(mode: 0o640, group: "licmesh"))
        #expect(config.httpToken == "0123456789abcdef-token")
        #expect(config.httpOpenReads == false)
        #expect(config.apiConfiguration.server.unixSocketPath == config.httpSocket)
        #expect(config.apiConfiguration.access.bearerToken == "0123456789abcdef-token")
        #expect(config.logFormat == .json)
        #expect(config.logLevel == .debug)
    }

    @Test func everyDocumentedFieldIsKnownToTheParser() throws {
        let documented = Set(Self.everyField().keys).union(["insecurePlaintext"])
        #expect(documented == Set(AgentConfigFile.fieldNames))
        let docs = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/MeshTests/ConfigFileTests.swift", with: "docs/configuration.md"), encoding: .utf8)
        for field in AgentConfigFile.fieldNames {
            #expect(docs.contains("### `\(field)`"), "docs/configuration.md documents \(field)")
        }
        for (name, _) in SettingsOverrides.swimFields { #expect(docs.contains("`\(name)`"), "docs mention settings.\(name)") }
        for (variable, _, _) in AgentConfigFile.environmentVariables { #expect(docs.contains("`\(variable)`"), "docs mention \(variable)") }
    }

    /// The example shipped with the systemd unit resolves; only its file paths are pointed at test files.
    @Test func deployExampleConfigurationIsValid() throws {
        let fixture = try ConfigFixture()
        let path = #filePath.replacingOccurrences(of: "Tests/MeshTests/ConfigFileTests.swift", with: "Deploy/systemd/agent.json")
        let file = try AgentConfigFile.load(path: path)
        let config = try ResolvedAgentConfig.resolve(file, context: fixture.context([
            "LICMESH_MAC": ConfigFixture.mac.description,
            "LICMESH_GOSSIP_KEY_FILES": fixture.scratch.file("gossip.key"),
            "LICMESH_LICENSE_FILE": fixture.scratch.file("license.lic"),
            "LICMESH_VENDOR_PUBLIC_KEY_FILE": fixture.scratch.file("vendor.pub"),
        ]))
        #expect(config.clusterName == "production" && config.seeds.count == 2 && config.warnings.isEmpty)
    }

    /// The configuration inside the Kubernetes ConfigMap resolves with the environment the DaemonSet sets.
    @Test func kubernetesConfigMapConfigurationIsValid() throws {
        let fixture = try ConfigFixture()
        let manifest = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/MeshTests/ConfigFileTests.swift",
                                                                                 with: "Deploy/kubernetes/configmap.yaml"), encoding: .utf8)
        // The block scalar under "agent.json: |", indented four spaces.
        let lines = manifest.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "agent.json: |" })
        let json = lines[(start + 1)...].prefix { $0.hasPrefix("    ") }.map { $0.dropFirst(4) }.joined(separator: "\n")
        let file = try AgentConfigFile.parse(Array(json.utf8), path: "/etc/licmesh/config/agent.json")
        #expect(file.seeds == ["licmesh-peers.licmesh.svc.cluster.local:7946"])
        let config = try ResolvedAgentConfig.resolve(file, context: fixture.context([
            "LICMESH_ADVERTISE": "10.0.0.5:7946",
            "LICMESH_MAC": ConfigFixture.mac.description,
            "LICMESH_GOSSIP_KEY_FILES": fixture.scratch.file("gossip.key"),
            "LICMESH_LICENSE_FILE": fixture.scratch.file("license.lic"),
            "LICMESH_VENDOR_PUBLIC_KEY_FILE": fixture.scratch.file("vendor.pub"),
        ]))
        #expect(config.advertise.description == "10.0.0.5:7946" && config.logFormat == .json && config.warnings.isEmpty)
    }

    @Test func plaintextWhenExplicitlyAllowed() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve(["gossipKeyFiles": .null, "insecurePlaintext": true])
        guard case .plain = config.secrets.security else {
            Issue.record("expected plaintext")
            return
        }
        #expect(config.insecurePlaintext)
        #expect(config.warnings.contains { $0.contains("insecurePlaintext is true") })
    }

    @Test func nullMeansDefault() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve(["bind": .null, "cores": .null])
        #expect(config.bind.description == "0.0.0.0:7946" && config.cores == 4)
    }

    @Test func jsonTextRoundTrips() throws {
        var file = AgentConfigFile()
        file.nodeID = "00000000000000aa"
        file.seeds = ["10.0.0.6:7946", "agents:7946"]
        file.insecurePlaintext = true
        file.cores = 3
        file.settings = ["probeInterval": "500ms", "indirectChecks": 2]
        file.dataDir = "/var/lib/licmesh"
        let text = file.jsonText()
        #expect(text.contains("\"dataDir\" : \"/var/lib/licmesh\""), "no escaped slashes: \(text)")
        #expect(!text.contains("mac"), "absent fields are left out")
        let parsed = try AgentConfigFile.parse(Array(text.utf8))
        #expect(parsed == file)
    }

    @Test func advertiseDefaultsToASpecificBindAddress() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve(["bind": "10.9.8.7:7000"])
        #expect(config.advertise.description == "10.9.8.7:7000")
        #expect(config.advertiseOrigin == "the bind address")
    }

    @Test func advertiseDetectionSkipsLoopbackLinkLocalAndDownInterfaces() throws {
        let fixture = try ConfigFixture()
        let interfaces = [
            InterfaceAddress(interface: "lo", ip: .loopbackV4, isLoopback: true),
            InterfaceAddress(interface: "eth0", ip: .v4(0xA9FE_0001)),               // 169.254.0.1
            InterfaceAddress(interface: "eth1", ip: .v4(0x0A00_0001), isUp: false),  // 10.0.0.1, down
            InterfaceAddress(interface: "eth2", ip: .v4(0xC633_6407)),               // 198.51.100.7
        ]
        #expect(try fixture.resolve([:], interfaces: interfaces).advertise.description == "198.51.100.7:7946")
        let v6 = try fixture.resolve(["bind": "[::]:7946", "httpAddress": "[::1]:7947"])
        #expect(v6.advertise.description == "[fd00::3]:7946")
        let error = fixture.error([:], interfaces: Array(interfaces.prefix(3)))
        #expect(error?.kind == .missingField && error?.field == "advertise")
        #expect(error?.description.contains("set \"advertise\"") == true, "\(String(describing: error))")
    }

    @Test func warnsAboutUnreachableOrExposedAddressesAndUnlistedMAC() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve(["bind": "127.0.0.1:7946", "advertise": "10.0.0.1:7946", "httpAddress": "0.0.0.0:7947",
                                          "mac": "02:00:00:00:00:09"])
        #expect(config.warnings.count == 3, "\(config.warnings)")
        #expect(config.warnings.contains { $0.contains("loopback") && $0.contains("10.0.0.1:7946") })
        #expect(config.warnings.contains { $0.contains("httpAddress 0.0.0.0:7947") })
        #expect(config.warnings.contains { $0.contains("02:00:00:00:00:09") && $0.contains("not among the hosts") })
    }

    @Test func seedSyntax() throws {
        #expect(try SeedAddress(parsing: "10.0.0.1:1") == .address(SocketAddress(ip: .v4(0x0A00_0001), port: 1)))
        #expect(try SeedAddress(parsing: "licmesh-peers.licmesh.svc:7946") == .name(host: "licmesh-peers.licmesh.svc", port: 7946))
        #expect(try SeedAddress(parsing: "_gossip.example.com.:7946").description == "_gossip.example.com.:7946")
        for bad in ["agents", "agents:", "agents:0", "agents:70000", "-bad.example:1", "a..b:1", "a b:1", "[10.0.0.1]:1", "fd00::1:7946",
                    String(repeating: "a", count: 64) + ".com:1"] {
            #expect(throws: AddressError.self, "\(bad)") { try SeedAddress(parsing: bad) }
        }
    }

    @Test func literalSeedsResolveToThemselves() throws {
        #expect(try SeedAddress(parsing: "10.0.0.1:7946").resolve() == [try SocketAddress(parsing: "10.0.0.1:7946")])
        #expect(try SeedAddress.name(host: "localhost", port: 7946).resolve().allSatisfy { $0.ip.isLoopback && $0.port == 7946 })
    }
}
