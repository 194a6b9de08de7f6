import Foundation
@testable import Mesh
import SWIM
import Testing

@Suite struct ConfigEnvironmentTests {
    @Test func everyVariableOverridesTheFile() throws {
        let fixture = try ConfigFixture()
        try FileManager.default.createDirectory(atPath: fixture.scratch.file("keys"), withIntermediateDirectories: true)
        let environment = [
            "LICMESH_NODE_ID": "00000000000000bb",
            "LICMESH_MAC": "02:00:00:00:00:02",
            "LICMESH_BIND": "10.0.0.9:7000",
            "LICMESH_ADVERTISE": "10.0.0.99:7001",
            "LICMESH_SEEDS": " 10.0.0.1:7000, agents.example:7000 ,,",
            "LICMESH_CLUSTER": "from-env",
            "LICMESH_GOSSIP_KEY_FILES": "gossip-next.key,gossip.key",
            "LICMESH_LICENSE_FILE": fixture.scratch.file("license.lic"),
            "LICMESH_VENDOR_PUBLIC_KEY_FILE": fixture.scratch.file("vendor.pub"),
            "LICMESH_CORES": "7",
            "LICMESH_PROFILE": "local",
            "LICMESH_DATA_DIR": "/tmp/licmesh-env-data",
            "LICMESH_HTTP": "127.0.0.1:7100",
            "LICMESH_LOG_FORMAT": "json",
            "LICMESH_LOG_LEVEL": "warn",
        ]
        // The file says otherwise for every field the environment sets.
        let config = try fixture.resolve([
            "nodeID": "1", "bind": "10.0.0.1:1", "seeds": .array(["10.0.0.2:2"]), "clusterName": "from-file",
            "licenseFile": "missing.lic", "cores": 2, "profile": "wan", "dataDir": "/elsewhere", "httpAddress": "127.0.0.1:2",
            "logFormat": "logfmt", "logLevel": "error",
        ], environment: environment)
        #expect(config.identity.nodeID == NodeID(0xBB))
        #expect(config.identity.mac.description == "02:00:00:00:00:02")
        #expect(config.bind.description == "10.0.0.9:7000")
        #expect(config.advertise.description == "10.0.0.99:7001")
        #expect(config.seeds.map(\.description) == ["10.0.0.1:7000", "agents.example:7000"])
        #expect(config.clusterName == "from-env")
        #expect(config.gossipKeyFiles == [fixture.scratch.file("gossip-next.key"), fixture.scratch.file("gossip.key")])
        #expect(config.cores == 7)
        #expect(config.profile == "local" && config.settings == .local)
        #expect(config.dataDirectory == "/tmp/licmesh-env-data")
        #expect(config.httpAddress?.description == "127.0.0.1:7100")
        #expect(config.logFormat == .json && config.logLevel == .warn)
        #expect(config.file.source(of: "bind") == .environment("LICMESH_BIND"))
        #expect(config.file.source(of: "mac") == .environment("LICMESH_MAC"))
        #expect(config.file.source(of: "settings") == .file(fixture.configPath))
    }

    @Test func plaintextFlagFromEnvironment() throws {
        let fixture = try ConfigFixture()
        for text in ["true", "1", "yes", "TRUE"] {
            let config = try fixture.resolve(["gossipKeyFiles": .null], environment: ["LICMESH_INSECURE_PLAINTEXT": text])
            #expect(config.insecurePlaintext, "\(text)")
        }
        let error = fixture.error(["gossipKeyFiles": .null], environment: ["LICMESH_INSECURE_PLAINTEXT": "false"])
        #expect(error?.kind == .plaintextNotExplicit)
        let bad = fixture.error(environment: ["LICMESH_INSECURE_PLAINTEXT": "maybe"])
        #expect(bad?.description == "config field 'insecurePlaintext' (from environment variable LICMESH_INSECURE_PLAINTEXT): 'maybe' is not a boolean; set LICMESH_INSECURE_PLAINTEXT=true or LICMESH_INSECURE_PLAINTEXT=false")
    }

    @Test func openReadsFromEnvironment() throws {
        let fixture = try ConfigFixture()
        #expect(try fixture.resolve().httpOpenReads, "reads are open unless told otherwise")
        let closed = try fixture.resolve(["httpOpenReads": true], environment: ["LICMESH_HTTP_OPEN_READS": "false"])
        #expect(!closed.httpOpenReads && closed.file.source(of: "httpOpenReads") == .environment("LICMESH_HTTP_OPEN_READS"))
        #expect(!closed.insecurePlaintext, "and nothing else")
    }

    @Test func emptySeedListClearsTheFileSeeds() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve(["seeds": .array(["10.0.0.2:2"])], environment: ["LICMESH_SEEDS": ""])
        #expect(config.seeds.isEmpty)
    }

    @Test func errorsNameTheVariable() throws {
        let fixture = try ConfigFixture()
        let bind = fixture.error(environment: ["LICMESH_BIND": "localhost"])
        #expect(bind?.description == "config field 'bind' (from environment variable LICMESH_BIND): 'localhost' is not host:port; write e.g. \"0.0.0.0:7946\"")
        let cores = fixture.error(environment: ["LICMESH_CORES": "eight"])
        #expect(cores?.kind == .wrongType && cores?.source == .environment("LICMESH_CORES"))
        #expect(cores?.description.contains("'eight' is not a whole number; set e.g. LICMESH_CORES=8") == true)
        let seeds = fixture.error(environment: ["LICMESH_SEEDS": "10.0.0.1:7946,nope"])
        #expect(seeds?.field == "seeds[1]" && seeds?.source == .environment("LICMESH_SEEDS"))
        let zero = fixture.error(environment: ["LICMESH_CORES": "0"])
        #expect(zero?.kind == .badValue && zero?.field == "cores")
    }

    @Test func unknownPrefixedVariablesAreWarningsWithASuggestion() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.resolve(environment: ["LICMESH_SEED": "10.0.0.1:7946", "PATH": "/bin", "LICMESH_SOMETHING_ELSE": "x"])
        #expect(config.seeds.isEmpty)
        #expect(config.warnings.count == 2, "\(config.warnings)")
        #expect(config.warnings.contains { $0.contains("LICMESH_SEED ") && $0.contains("did you mean 'LICMESH_SEEDS'?") })
    }

    @Test func environmentIsAppliedToTheTypedFile() throws {
        let (file, warnings) = try AgentConfigFile().applyingEnvironment(["LICMESH_CORES": " 16 ", "LICMESH_GOSSIP_KEY_FILES": "a.key, b.key"])
        #expect(warnings.isEmpty)
        #expect(file.cores == 16)
        #expect(file.gossipKeyFiles == ["a.key", "b.key"])
        #expect(file.sources == ["cores": .environment("LICMESH_CORES"), "gossipKeyFiles": .environment("LICMESH_GOSSIP_KEY_FILES")])
    }
}
