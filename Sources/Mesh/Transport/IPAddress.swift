import Glibc

/// An IPv4 or IPv6 host address, stored as plain integers so that it is Hashable, Sendable and cheap
/// to copy (the C structs are none of these).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Host byte order: 127.0.0.1 is 0x7F00_0001.
    case v4(UInt32)
    /// The 128 bits as two big-endian halves, plus the interface index for link-local addresses (0 = none).
    case v6(high: UInt64, low: UInt64, scopeID: UInt32)

    public static let loopbackV4 = IPAddress.v4(0x7F00_0001)
    public static let anyV4 = IPAddress.v4(0)
    public static let loopbackV6 = IPAddress.v6(high: 0, low: 1, scopeID: 0)
    public static let anyV6 = IPAddress.v6(high: 0, low: 0, scopeID: 0)

    public enum Family: Sendable, Hashable, CustomStringConvertible {
        case ipv4, ipv6
        public var description: String { self == .ipv4 ? "IPv4" : "IPv6" }
        var systemValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    public var family: Family {
        if case .v4 = self { return .ipv4 }
        return .ipv6
    }

    public var isLoopback: Bool {
        switch self {
        case .v4(let bits): return bits >> 24 == 127
        case .v6(let high, let low, _): return high == 0 && low == 1
        }
    }

    /// The "any address" used to bind on every interface.
    public var isWildcard: Bool {
        switch self {
        case .v4(let bits): return bits == 0
        case .v6(let high, let low, _): return high == 0 && low == 0
        }
    }

    /// Parses a numeric literal only ("10.0.0.5", "fd00::5", "fe80::1%eth0"); names go through DNS
    /// (`SocketAddress.resolve`). Returns nil for anything else.
    public init?(parsing text: String) {
        // inet_pton takes a C string: reject embedded NULs and absurd lengths before handing it over.
        guard !text.isEmpty, text.utf8.count <= 64, !text.utf8.contains(0) else { return nil }
        if !text.contains(":") {
            var address = in_addr()
            guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: address.s_addr))
            return
        }
        var literal = Substring(text)
        var scopeID: UInt32 = 0
        if let percent = text.firstIndex(of: "%") {
            literal = text[..<percent]
            let scope = text[text.index(after: percent)...]
            guard let index = IPAddress.interfaceIndex(String(scope)) else { return nil }
            scopeID = index
        }
        var address = in6_addr()
        guard inet_pton(AF_INET6, String(literal), &address) == 1 else { return nil }
        let (high, low) = IPAddress.halves(of: address)
        self = .v6(high: high, low: low, scopeID: scopeID)
    }

    /// Canonical text: dotted quad, or RFC 5952 compressed IPv6 with "%scope" when scoped.
    public var description: String {
        switch self {
        case .v4(let bits):
            return "\(bits >> 24).\((bits >> 16) & 0xFF).\((bits >> 8) & 0xFF).\(bits & 0xFF)"
        case .v6(_, _, let scopeID):
            var address = in6Address
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return "::" }
            let literal = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return scopeID == 0 ? literal : "\(literal)%\(IPAddress.interfaceName(scopeID))"
        }
    }

    var in6Address: in6_addr {
        guard case .v6(let high, let low, _) = self else { return in6_addr() }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            withUnsafeBytes(of: high.bigEndian) { raw.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 8) }
            withUnsafeBytes(of: low.bigEndian) { (raw.baseAddress! + 8).copyMemory(from: $0.baseAddress!, byteCount: 8) }
        }
        return address
    }

    static func halves(of address: in6_addr) -> (high: UInt64, low: UInt64) {
        withUnsafeBytes(of: address) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// A scope is an interface name ("eth0") or its index ("2").
    private static func interfaceIndex(_ scope: String) -> UInt32? {
        guard !scope.isEmpty, scope.utf8.count < Int(IF_NAMESIZE) else { return nil }
        if let number = UInt32(scope) { return number }
        let index = if_nametoindex(scope)
        return index == 0 ? nil : index
    }

    private static func interfaceName(_ index: UInt32) -> String {
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &name) != nil else { return String(index) }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
