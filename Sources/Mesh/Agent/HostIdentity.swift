import Glibc
import SmallFiles
import SWIM

/// The default node ID: this host's MAC address, so that it matches the hosts and servers a license
/// names. Read from /sys/class/net (Linux): the first interface by name that is not loopback and has a
/// non-zero address.
public enum HostIdentity {
    public static func macAddressNodeID() -> NodeID? {
        guard let names = try? SmallFile.list(directory: "/sys/class/net") else { return nil }
        for name in names where name != "lo" {
            if let mac = readMAC("/sys/class/net/\(name)/address"), mac != 0 { return NodeID(mac) }
        }
        return nil
    }

    /// Parses "aa:bb:cc:dd:ee:ff" into its 48 bits.
    public static func parseMAC(_ text: some StringProtocol) -> UInt64? {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    private static func readMAC(_ path: String) -> UInt64? {
        guard let bytes = try? SmallFile.read(path: path, limit: 256) else { return nil }
        return parseMAC(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? "")
    }
}
