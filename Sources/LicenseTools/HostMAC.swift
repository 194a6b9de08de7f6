import Licensing
import SmallFiles
import SWIM

/// This host's identity read from sysfs: the file I/O behind `NodeIdentity`'s defaults, kept out
/// of the pure Licensing core.
extension NodeIdentity {
    public static let defaultSysfsRoot = "/sys/class/net"

    /// The identity to run with: explicit values win; whatever is missing comes from the host.
    /// An explicit MAC means sysfs is not read at all.
    public static func resolve(mac: MACAddress? = nil, nodeID: NodeID? = nil,
                               sysfsRoot: String = defaultSysfsRoot) throws(NodeIdentityError) -> NodeIdentity {
        if let mac { return NodeIdentity(mac: mac, nodeID: nodeID) }
        let found = try hostMAC(sysfsRoot: sysfsRoot)
        return NodeIdentity(mac: found.mac, nodeID: nodeID, interface: found.interface)
    }

    /// The host's MAC: among interfaces in name order, skipping loopback and interfaces whose address
    /// is missing, unparsable (e.g. InfiniBand's 20-byte addresses) or all zeros, the first one that is
    /// backed by a hardware device (has a `device` entry), else the first remaining virtual one.
    /// Preferring hardware keeps `docker0` or a bridge, whose MACs may change at boot, from winning
    /// over `eth0` just because it sorts first.
    public static func hostMAC(sysfsRoot: String = defaultSysfsRoot) throws(NodeIdentityError) -> (interface: String, mac: MACAddress) {
        let names: [String]
        do {
            names = try SmallFile.list(directory: sysfsRoot)
        } catch {
            throw .noUsableInterface(sysfsRoot: sysfsRoot, examined: [], detail: "\(sysfsRoot): cannot list the directory: \(error.systemText)")
        }
        var virtualCandidate: (interface: String, mac: MACAddress)?
        var examined: [String] = []
        for name in names.prefix(4096) {
            examined.append(name)
            let directory = sysfsRoot + "/" + name
            guard !isLoopback(directory: directory, name: name),
                  let bytes = try? SmallFile.read(path: directory + "/address", limit: 256),
                  let mac = try? MACAddress(parsing: String(decoding: bytes, as: UTF8.self)),
                  !mac.isZero else { continue }
            if SmallFile.exists(directory + "/device") { return (name, mac) }
            if virtualCandidate == nil { virtualCandidate = (name, mac) }
        }
        if let virtualCandidate { return virtualCandidate }
        throw .noUsableInterface(sysfsRoot: sysfsRoot, examined: examined, detail: nil)
    }

    /// ARPHRD_LOOPBACK is 772 in `type`; IFF_LOOPBACK is 0x8 in `flags`.
    private static func isLoopback(directory: String, name: String) -> Bool {
        if name == "lo" { return true }
        if let type = try? SmallFile.read(path: directory + "/type", limit: 64),
           String(decoding: type, as: UTF8.self).trimmingASCIIWhitespace() == "772" { return true }
        if let flags = try? SmallFile.read(path: directory + "/flags", limit: 64) {
            let text = String(decoding: flags, as: UTF8.self).trimmingASCIIWhitespace()
            let digits = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
            if let value = UInt32(digits, radix: 16), value & 0x8 != 0 { return true }
        }
        return false
    }
}

public enum NodeIdentityError: Error, Equatable, CustomStringConvertible {
    case noUsableInterface(sysfsRoot: String, examined: [String], detail: String?)

    public var description: String {
        switch self {
        case let .noUsableInterface(root, examined, detail):
            let seen = examined.isEmpty ? "none found" : "looked at " + examined.map { printable($0) }.joined(separator: ", ")
            return "cannot determine this node's MAC address: no network interface under \(root) has a non-loopback, non-zero MAC ("
                + seen + (detail.map { "; \($0)" } ?? "") + "). Set the node's MAC address explicitly in the agent configuration "
                + "(the MAC listed for this host in the license)."
        }
    }
}
