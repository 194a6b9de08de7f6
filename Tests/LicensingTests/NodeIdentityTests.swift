import Foundation
import Testing
import SWIM
@testable import Licensing
import LicenseTools

/// Node identity from a fake /sys/class/net tree.
@Suite struct NodeIdentityTests {
    let temporaryDirectories = TemporaryDirectories()

    /// Builds `<root>/<name>/{address,type,flags}` and, for hardware interfaces, a `device` entry.
    func sysfs(_ interfaces: [(name: String, address: String?, type: String, hardware: Bool)]) throws -> String {
        let root = temporaryDirectories.make()
        for interface in interfaces {
            let directory = root + "/" + interface.name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let address = interface.address { Fixture.write(address + "\n", to: directory + "/address") }
            Fixture.write(interface.type + "\n", to: directory + "/type")
            Fixture.write((interface.type == "772" ? "0x9" : "0x1003") + "\n", to: directory + "/flags")
            if interface.hardware { try FileManager.default.createDirectory(atPath: directory + "/device", withIntermediateDirectories: true) }
        }
        return root
    }

    @Test func firstHardwareInterfaceInNameOrderWins() throws {
        let root = try sysfs([
            ("lo", "00:00:00:00:00:00", "772", false),
            ("wlan0", "02:00:00:00:00:0b", "1", true),
            ("eth1", "02:00:00:00:00:0a", "1", true),
            ("docker0", "02:42:ac:11:00:01", "1", false),
            ("eth0", "52:54:00:12:34:56", "1", true),
        ])
        let identity = try NodeIdentity.resolve(sysfsRoot: root)
        #expect(identity.interface == "eth0")
        #expect(identity.mac.description == "52:54:00:12:34:56")
        #expect(identity.nodeID == NodeID(0x5254_0012_3456))
    }

    @Test func loopbackZeroMissingAndUnparsableAddressesAreSkipped() throws {
        let root = try sysfs([
            ("a-loop", "11:22:33:44:55:66", "772", false), // loopback by type, not by name
            ("b-zero", "00:00:00:00:00:00", "1", true),
            ("c-none", nil, "1", true),
            ("d-ib", "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0d:f4:11", "32", true),
            ("e-veth", "ae:11:22:33:44:55", "1", false),
        ])
        let identity = try NodeIdentity.resolve(sysfsRoot: root)
        #expect(identity.interface == "e-veth") // no hardware interface qualifies, so the first virtual one
        #expect(identity.mac.description == "ae:11:22:33:44:55")
    }

    @Test func explicitValuesOverrideTheHost() throws {
        let root = try sysfs([("eth0", "52:54:00:12:34:56", "1", true)])
        let mac = Fixture.mac1
        let both = try NodeIdentity.resolve(mac: mac, nodeID: NodeID(7), sysfsRoot: "/nonexistent")
        #expect(both.mac == mac && both.nodeID == NodeID(7) && both.interface == nil)
        let macOnly = try NodeIdentity.resolve(mac: mac, sysfsRoot: "/nonexistent")
        #expect(macOnly.nodeID == NodeID(mac.rawValue))
        let idOnly = try NodeIdentity.resolve(nodeID: NodeID(1), sysfsRoot: root)
        #expect(idOnly.nodeID == NodeID(1) && idOnly.mac.description == "52:54:00:12:34:56")
    }

    @Test func noQualifyingInterfaceSaysToSetTheMAC() throws {
        let root = try sysfs([("lo", "00:00:00:00:00:00", "772", false), ("tun0", "00:00:00:00:00:00", "65534", false)])
        #expect {
            try NodeIdentity.resolve(sysfsRoot: root)
        } throws: { error in
            let text = (error as? NodeIdentityError)?.description ?? ""
            return text.contains("looked at lo, tun0") && text.contains("Set the node's MAC address explicitly")
        }
        #expect {
            try NodeIdentity.resolve(sysfsRoot: root + "/missing")
        } throws: { error in
            (error as? NodeIdentityError)?.description.contains("cannot list the directory") == true
        }
    }

    @Test func theRealHostEitherResolvesOrExplains() {
        // Whatever this machine has, the answer is a MAC or a readable error, never a crash.
        do {
            let identity = try NodeIdentity.resolve()
            #expect(!identity.mac.isZero)
            #expect(identity.nodeID == NodeIdentity.nodeID(for: identity.mac))
        } catch {
            #expect(error.description.contains("Set the node's MAC address explicitly"))
        }
    }
}
