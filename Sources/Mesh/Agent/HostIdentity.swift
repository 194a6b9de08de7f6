import Glibc
import SWIM

/// The default node ID: this host's MAC address, so that it matches the hosts and servers a license
/// names. Read from /sys/class/net (Linux): the first interface by name that is not loopback and has a
/// non-zero address.
public enum HostIdentity {
    public static func macAddressNodeID() -> NodeID? {
        guard let directory = opendir("/sys/class/net") else { return nil }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != "..", name != "lo" { names.append(name) }
        }
        closedir(directory)
        for name in names.sorted() {
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
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return parseMAC(text.split(separator: "\n").first ?? "")
    }
}
