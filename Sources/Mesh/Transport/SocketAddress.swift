import SWIM

/// An IP address and a port: where a UDP socket or TCP listener is bound, or where a datagram goes.
///
/// Its text form, `host:port` or `[v6]:port`, is exactly what the runtime puts into `SWIM.Address`.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    public var family: IPAddress.Family { ip.family }

    public static func loopbackV4(port: UInt16) -> SocketAddress { SocketAddress(ip: .loopbackV4, port: port) }
    public static func loopbackV6(port: UInt16) -> SocketAddress { SocketAddress(ip: .loopbackV6, port: port) }
    /// Every IPv4 interface.
    public static func anyV4(port: UInt16) -> SocketAddress { SocketAddress(ip: .anyV4, port: port) }
    /// Every IPv6 interface (IPv6 only: sockets set IPV6_V6ONLY so a v4 socket can share the port).
    public static func anyV6(port: UInt16) -> SocketAddress { SocketAddress(ip: .anyV6, port: port) }

    /// `10.0.0.5:7946` or `[fd00::5]:7946`.
    public var description: String {
        switch ip {
        case .v4: return "\(ip):\(port)"
        case .v6: return "[\(ip)]:\(port)"
        }
    }

    /// Parses a numeric `host:port` or `[v6]:port`. Host names are not looked up here (that blocks);
    /// use `SocketAddress.resolve(_:)` for those.
    public init(parsing text: String) throws(AddressError) {
        let (host, port) = try SocketAddress.splitHostAndPort(text)
        guard let ip = IPAddress(parsing: host) else {
            throw AddressError(text: text, problem: "'\(host)' is not a numeric IPv4 or IPv6 address (resolve host names with DNS first)")
        }
        self.init(ip: ip, port: port)
    }

    /// Splits `host:port` / `[host]:port` without interpreting the host. Shared with DNS resolution.
    static func splitHostAndPort(_ text: String) throws(AddressError) -> (host: String, port: UInt16) {
        guard text.utf8.count <= SWIM.Address.maximumLength else {
            throw AddressError(text: String(text.prefix(40)) + "...", problem: "longer than \(SWIM.Address.maximumLength) bytes")
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw AddressError(text: text, problem: "missing ']' after the IPv6 address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw AddressError(text: text, problem: "expected ':port' after ']'") }
            portText = rest.dropFirst()
            guard host.contains(":") else {
                throw AddressError(text: text, problem: "brackets are only for IPv6 addresses; write IPv4 and names as host:port")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw AddressError(text: text) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw AddressError(text: text, problem: "IPv6 addresses need brackets, e.g. [\(host)]:\(portText)")
            }
        }
        guard !host.isEmpty else { throw AddressError(text: text, problem: "the host is empty") }
        guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let port = UInt16(portText)
        else {
            throw AddressError(text: text, problem: "port '\(portText)' is not a number from 0 to 65535")
        }
        return (String(host), port)
    }
}

/// A text address that cannot be used. The message quotes the input and shows the expected form.
public struct AddressError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    public var problem: String

    public init(text: String, problem: String = "expected host:port") {
        self.text = text
        self.problem = problem
    }

    public var description: String {
        "invalid address '\(text)': \(problem) (for example 10.0.0.5:7946 or [fd00::5]:7946)"
    }
}
