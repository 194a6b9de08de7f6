import Foundation
@testable import Mesh
import SWIM
import Testing

/// Each kind of configuration error: the message names the field, quotes the value and says the fix.
@Suite struct ConfigErrorTests {
    @Test func theBriefsExampleMessage() throws {
        let fixture = try ConfigFixture()
        let error = fixture.error(["bind": "localhost"])
        #expect(error?.description == "config field 'bind': 'localhost' is not host:port; write e.g. \"0.0.0.0:7946\"")
        #expect(error?.kind == .badAddress && error?.field == "bind" && error?.value == "'localhost'")
    }

    @Test func unknownFieldsAreTypos() throws {
        let fixture = try ConfigFixture()
        let error = fixture.error(["seed": .array(["10.0.0.1:7946"])])
        #expect(error?.description == "config field 'seed': [1 item] is not a configuration field; did you mean 'seeds'?")
        let far = fixture.error(["colour": "blue"])
        #expect(far?.kind == .unknownField)
        #expect(far?.description.contains("remove it; the fields are nodeID, mac, bind") == true, "\(String(describing: far))")
        let setting = fixture.error(["settings": .object(["probeIntervall": "1s"])])
        #expect(setting?.description == "config field 'settings.probeIntervall': '1s' is not a protocol setting; did you mean 'probeInterval'?")
        let size = fixture.error(["settings": .object(["maxMessageSize": 9000])])
        #expect(size?.description.contains("cannot be overridden") == true)
        let licensing = fixture.error(["licensing": .object(["deadGrace": "1s"])])
        #expect(licensing?.field == "licensing.deadGrace" && licensing?.kind == .unknownField)
    }

    @Test func wrongTypes() throws {
        let fixture = try ConfigFixture()
        let cases: [(String, ConfigValue, String)] = [
            ("bind", 7946, "config field 'bind': 7946 is a number, expected text; write e.g. \"bind\": \"0.0.0.0:7946\""),
            ("cores", "8", "config field 'cores': '8' is text, expected a whole number; write e.g. \"cores\": 8 (no quotes)"),
            ("cores", 2.5, "config field 'cores': 2.5 is a number, expected a whole number; write e.g. \"cores\": 8 (no quotes)"),
            ("insecurePlaintext", "true", "config field 'insecurePlaintext': 'true' is text, expected true or false; write e.g. \"insecurePlaintext\": true (no quotes)"),
            ("seeds", "10.0.0.1:7946", "config field 'seeds': '10.0.0.1:7946' is text, expected a list of text; write e.g. \"seeds\": [\"10.0.0.2:7946\", \"agents.licmesh.svc:7946\"]"),
            ("settings", .array([]), "config field 'settings': [] is a list, expected an object; write e.g. \"settings\": {\"probeInterval\": \"500ms\"}"),
        ]
        for (field, value, message) in cases {
            #expect(fixture.error([field: value])?.description == message)
            #expect(fixture.error([field: value])?.kind == .wrongType)
        }
        let item = fixture.error(["gossipKeyFiles": .array(["gossip.key", 3])])
        #expect(item?.field == "gossipKeyFiles[1]" && item?.kind == .wrongType)
        let nested = fixture.error(["settings": .object(["indirectChecks": "3"])])
        #expect(nested?.description == "config field 'settings.indirectChecks': '3' is text, expected a whole number; write e.g. \"indirectChecks\": 3 (no quotes)")
        let duration = fixture.error(["settings": .object(["probeInterval": 1])])
        #expect(duration?.kind == .wrongType && duration?.field == "settings.probeInterval")
    }

    @Test func notJSONOrNotAnObject() throws {
        let fixture = try ConfigFixture()
        for (text, fragment) in [("{\n  \"bind\": \"0.0.0.0:7946\"\n  \"cores\": 2\n}", "line 3, column 3"), ("", "the file is empty"), ("[1, 2]", "is a list, not a JSON object")] {
            fixture.scratch.write("agent.json", text)
            do {
                _ = try AgentConfigFile.load(path: fixture.configPath)
                Issue.record("parsed \(text)")
            } catch {
                #expect(error.kind == .invalidJSON)
                #expect(error.description.hasPrefix("config file '\(fixture.configPath)': "), "\(error)")
                #expect(error.description.contains(fragment), "\(error)")
            }
        }
        #expect(throws: ConfigError.self) { try AgentConfigFile.parse(Array(repeating: 0x20, count: AgentConfigFile.maximumFileSize + 1)) }
    }

    @Test func unreadableConfigurationFile() throws {
        let fixture = try ConfigFixture()
        do {
            _ = try ResolvedAgentConfig.load(path: fixture.scratch.file("absent.json"), context: fixture.context())
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.kind == .unreadableFile)
            #expect(error.description.contains("absent.json': cannot be read: No such file or directory (errno 2); check the path given to --config"), "\(error)")
        }
        do {
            _ = try ResolvedAgentConfig.load(path: fixture.scratch.path, context: fixture.context())
            Issue.record("loaded a directory")
        } catch {
            #expect(error.kind == .unreadableFile && error.description.contains("it is a directory"))
        }
    }

    @Test func badDurations() throws {
        let fixture = try ConfigFixture()
        let error = fixture.error(["settings": .object(["probeInterval": "1 second"])])
        #expect(error?.kind == .badDuration)
        #expect(error?.description == "config field 'settings.probeInterval': '1 second' is not a duration (' second' is not a unit; use ns, us, ms, s, m or h); write e.g. \"500ms\", \"2s\", \"1.5m\" or \"1h\"")
        let licensing = fixture.error(["licensing": .object(["deadGracePeriod": "-5s"])])
        #expect(licensing?.kind == .badDuration && licensing?.field == "licensing.deadGracePeriod")
    }

    @Test func badAddresses() throws {
        let fixture = try ConfigFixture()
        let cases: [([String: ConfigValue], String, String)] = [
            (["bind": "localhost:7946"], "bind", "is not a numeric IP address and port"),
            (["bind": "0.0.0.0:0"], "bind", "has port 0"),
            (["bind": "0.0.0.0:99999"], "bind", "is not a number from 0 to 65535"),
            (["bind": "fd00::1:7946"], "bind", "IPv6 addresses need brackets"),
            (["advertise": "0.0.0.0:7946"], "advertise", "is a wildcard address"),
            (["advertise": "[fd00::1]:7946"], "advertise", "is IPv6 but bind 0.0.0.0:7946 listens on IPv4 only"),
            (["advertise": "agent-1:7946"], "advertise", "is not a numeric IP address"),
            (["seeds": .array(["10.0.0.1:7946", "10.0.0.2"])], "seeds[1]", "is not host:port"),
            (["seeds": .array(["bad name:7946"])], "seeds[0]", "neither an IP address nor a valid DNS name"),
            (["httpAddress": "127.0.0.1"], "httpAddress", "is not host:port"),
            (["httpAddress": "0.0.0.0:7946"], "httpAddress", "uses the gossip port 7946"),
            (["httpAddress": "unix:/run/licmesh/api.sock"], "httpAddress", "is a unix socket; httpAddress is the API's TCP address"),
        ]
        for (changes, field, fragment) in cases {
            let error = fixture.error(changes)
            #expect(error?.kind == .badAddress, "\(changes)")
            #expect(error?.field == field, "\(changes)")
            #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
            #expect(error?.description.contains("e.g.") == true || error?.description.contains("advertise an IPv4") == true, "\(String(describing: error))")
        }
    }

    @Test func missingAndUnreadableKeyFiles() throws {
        let fixture = try ConfigFixture()
        let missing = fixture.error(["gossipKeyFiles": .array(["gossip.key", "absent.key"])])
        #expect(missing?.kind == .missingFile && missing?.field == "gossipKeyFiles[1]")
        #expect(missing?.description == "config field 'gossipKeyFiles[1]': '\(fixture.scratch.file("absent.key"))' does not exist; make a key with 'licmesh keygen-gossip --out \(fixture.scratch.file("absent.key"))' and copy it to every agent")
        try FileManager.default.createDirectory(atPath: fixture.scratch.file("a-directory.key"), withIntermediateDirectories: true)
        let directory = fixture.error(["gossipKeyFiles": .array(["a-directory.key"])])
        #expect(directory?.kind == .unreadableFile && directory?.description.contains("it is a directory") == true)
        fixture.scratch.write("short.key", "c2hvcnQ=\n")
        let short = fixture.error(["gossipKeyFiles": .array(["short.key"])])
        #expect(short?.kind == .badValue && short?.description.contains("holds 5 bytes") == true, "\(String(describing: short))")
        let license = fixture.error(["licenseFile": "absent.lic"])
        #expect(license?.kind == .missingFile && license?.description.contains("put the license file your vendor sent there") == true)
        fixture.scratch.write("garbage.lic", "hello")
        let garbage = fixture.error(["licenseFile": "garbage.lic"])
        #expect(garbage?.kind == .badValue && garbage?.description.contains("use the license file exactly as the vendor sent it") == true)
        let vendor = fixture.error(["vendorPublicKeyFile": "license.lic"])
        #expect(vendor?.kind == .badValue && vendor?.field == "vendorPublicKeyFile")
        let absentField = fixture.error(["licenseFile": .null])
        #expect(absentField?.description == "config field 'licenseFile': is required; set \"licenseFile\" to the license your vendor sent, e.g. \"/etc/licmesh/license.lic\"")
        #expect(fixture.error(["vendorPublicKeyFile": .null])?.kind == .missingField)
    }

    @Test func unreadableFileForAnotherUser() throws {
        // Permission bits do not stop root; the test means something only for other users.
        guard geteuid() != 0 else { return }
        let fixture = try ConfigFixture()
        fixture.scratch.write("private.key", "x", mode: 0o000)
        let error = fixture.error(["gossipKeyFiles": .array(["private.key"])])
        #expect(error?.kind == .unreadableFile && error?.description.contains("make it readable by the agent's user") == true)
    }

    @Test func plaintextMustBeExplicit() throws {
        let fixture = try ConfigFixture()
        let absent = fixture.error(["gossipKeyFiles": .null])
        #expect(absent?.kind == .plaintextNotExplicit)
        #expect(absent?.description == "config field 'gossipKeyFiles': is empty, and without keys gossip travels unencrypted and unauthenticated; "
            + "make a key with 'licmesh keygen-gossip --out /etc/licmesh/gossip.key' and list it in gossipKeyFiles, or set \"insecurePlaintext\": true (trusted test networks only)")
        #expect(fixture.error(["gossipKeyFiles": .array([])])?.kind == .plaintextNotExplicit)
        #expect(fixture.error(["gossipKeyFiles": .array([]), "insecurePlaintext": false])?.kind == .plaintextNotExplicit)
        let both = fixture.error(["insecurePlaintext": true])
        #expect(both?.field == "insecurePlaintext" && both?.description.contains("contradicts gossipKeyFiles") == true)
    }

    @Test func badProfile() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.error(["profile": "lna"])?.description == "config field 'profile': 'lna' is not a settings profile; use one of \"lan\", \"wan\", \"local\"; did you mean \"lan\"?")
        #expect(fixture.error(["profile": "fast"])?.description == "config field 'profile': 'fast' is not a settings profile; use one of \"lan\", \"wan\", \"local\"")
    }

    @Test func invalidSettingsWrapTheProtocolsOwnCheck() throws {
        let fixture = try ConfigFixture()
        let overridden = fixture.error(["settings": .object(["probeTimeout": "2s"])])
        #expect(overridden?.kind == .invalidSettings && overridden?.field == "settings.probeTimeout")
        #expect(overridden?.description.hasPrefix("config field 'settings.probeTimeout': 2s is invalid: probeTimeout must be shorter than probeInterval") == true, "\(String(describing: overridden))")
        #expect(overridden?.description.hasSuffix("; change settings.probeTimeout, or the setting it is checked against") == true)
        // The field in error was not overridden: the message says which profile value it came from.
        let fromProfile = fixture.error(["profile": "wan", "settings": .object(["probeInterval": "2s"])])
        #expect(fromProfile?.field == "settings.probeTimeout")
        #expect(fromProfile?.description.contains("profile 'wan' gives probeTimeout = 3s") == true, "\(String(describing: fromProfile))")
        let checks = fixture.error(["settings": .object(["indirectChecks": 0])])
        #expect(checks?.description.contains("indirectChecks must be at least 1") == true)
        let fraction = fixture.error(["settings": .object(["nackTimeoutFraction": 1.5])])
        #expect(fraction?.field == "settings.nackTimeoutFraction")
        let licensing = fixture.error(["licensing": .object(["requestTimeout": "0s"])])
        #expect(licensing?.kind == .invalidSettings && licensing?.field == "licensing.requestTimeout")
        let policy = fixture.error(["licensing": .object(["policy": "quorum"])])
        #expect(policy?.description == "config field 'licensing.policy': 'quorum' is not a partition policy; write \"majority\" or \"available\", or leave it out to use the license's default")
    }

    @Test func nonPositiveCores() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.error(["cores": 0])?.description == "config field 'cores': 0 must be at least 1; request the cores this machine uses, e.g. \"cores\": 4, or leave it out to use the CPU count")
        #expect(fixture.error(["cores": -3])?.kind == .badValue)
        #expect(fixture.error(["cores": 3_000_000_000])?.description.contains("more than any license allows") == true)
    }

    @Test func badIdentity() throws {
        let fixture = try ConfigFixture()
        for bad in ["xyz", "", "0x", "12345678901234567", "+ff", "-1", " 1"] {
            let error = fixture.error(["nodeID": .string(bad)])
            #expect(error?.field == "nodeID" && error?.kind == .badValue, "\(bad)")
        }
        #expect(try fixture.resolve(["nodeID": "12"]).identity.nodeID == NodeID(0x12))
        let mac = fixture.error(["mac": "aa:bb:cc:dd:ee"])
        #expect(mac?.description.hasPrefix("config field 'mac': 'aa:bb:cc:dd:ee' is not a MAC address (it is 14 characters long, not 17)") == true, "\(String(describing: mac))")
        // Neither configured nor detectable (the fixture's sysfs root does not exist).
        let undetected = fixture.error(["mac": .null])
        #expect(undetected?.field == "mac" && undetected?.source == .defaulted)
        #expect(undetected?.description.contains("set \"mac\" (or LICMESH_MAC) to the MAC address the license lists for this host") == true)
    }

    @Test func badChoicesAndNames() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.error(["logLevel": "verbose"])?.description == "config field 'logLevel': 'verbose' is not one of \"debug\", \"info\", \"warn\", \"error\"; write one of \"debug\", \"info\", \"warn\", \"error\"")
        #expect(fixture.error(["logFormat": "text"])?.field == "logFormat")
        for bad in ["", "has space", String(repeating: "x", count: 65), "naïve"] {
            #expect(fixture.error(["clusterName": .string(bad)])?.field == "clusterName", "\(bad)")
        }
        fixture.scratch.write("a-file", "x")
        let data = fixture.error(["dataDir": "a-file"])
        #expect(data?.field == "dataDir" && data?.description.contains("exists but is not a directory") == true)
        #expect(fixture.error(["dataDir": ""])?.field == "dataDir")
    }

    @Test func hostileValuesAreQuotedSafely() throws {
        let fixture = try ConfigFixture()
        let error = fixture.error(["bind": .string("\u{1b}[31mred\n" + String(repeating: "z", count: 500))])
        let text = error?.description ?? ""
        #expect(!text.contains("\u{1b}") && !text.contains("\n"))
        #expect(text.count < 400, "bounded: \(text.count) characters")
    }
}
