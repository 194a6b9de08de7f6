/// A seed as configured: a numeric address, or a DNS name with a port. Names are resolved when the
/// agent joins (and again on every join retry), not when the configuration is read: a Kubernetes
/// headless service's name gains addresses as pods start, so resolving once at startup would miss
/// peers that come up later.
public enum SeedAddress: Hashable, Sendable, CustomStringConvertible {
    case address(SocketAddress)
    case name(host: String, port: UInt16)

    /// Parses `10.0.0.5:7946`, `[fd00::5]:7946` or `agents.licmesh.svc:7946` (no lookup).
    public init(parsing text: String) throws(AddressError) {
        let (host, port) = try SocketAddress.splitHostAndPort(text)
        guard port != 0 else { throw AddressError(text: text, problem: "port 0 is not a port anything listens on") }
        if let ip = IPAddress(parsing: host) {
            self = .address(SocketAddress(ip: ip, port: port))
            return
        }
        guard Self.isValidHostName(host) else {
            throw AddressError(text: text, problem: "'\(quotedConfigText(host))' is neither an IP address nor a valid DNS name")
        }
        self = .name(host: host, port: port)
    }

    /// Every address the seed stands for now. Blocks on DNS for names: call from a worker thread.
    public func resolve() throws(AddressError) -> [SocketAddress] {
        switch self {
        case .address(let address): return [address]
        case .name: return try SocketAddress.resolve(description)
        }
    }

    public var description: String {
        switch self {
        case .address(let address): return address.description
        case .name(let host, let port): return "\(host):\(port)"
        }
    }

    /// RFC 1123 host names: labels of letters, digits, '-' (not at either end) and '_' (seen in
    /// service records), 1 to 63 characters each, at most 253 in all; a trailing dot is allowed.
    static func isValidHostName(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            let allowed = label.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
            guard allowed else { return false }
        }
        return true
    }
}
