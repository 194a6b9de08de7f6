#if canImport(Glibc)
import Glibc
#endif
import SmallFiles

/// Datagrams the kernel dropped before this agent could read them (a full receive buffer), from the
/// `drops` column of /proc/net/udp and /proc/net/udp6 for the socket bound to `port`. Nil where the
/// files do not exist or name no such socket.
enum KernelDrops {
    static func udp(port: UInt16) -> Int? {
        var total: Int?
        for file in ["/proc/self/net/udp", "/proc/self/net/udp6"] {
            guard let text = try? SmallFile.read(path: file, limit: 1 << 20) else { continue }
            let wanted = ":" + hex4(port)
            for line in String(decoding: text, as: UTF8.self).split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
                guard columns.count >= 13, columns[1].hasSuffix(wanted), let drops = Int(columns[12]) else { continue }
                total = (total ?? 0) + drops
            }
        }
        return total
    }

    private static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
