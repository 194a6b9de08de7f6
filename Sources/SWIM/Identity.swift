/// A node's identity: 64 bits, totally ordered.
///
/// The licensing layer picks the lowest live eligible ID as the authority, so the order matters:
/// operators choose a preferred authority by giving it the lowest ID. By default the runtime derives
/// the ID from the host's MAC address so that it matches the license.
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Sixteen hex digits: fixed width so that lists of IDs line up and sort as text the way they sort as numbers.
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Parses what `description` prints (with or without a `0x` prefix).
    public init?(hex: String) {
        let digits = hex.hasPrefix("0x") ? String(hex.dropFirst(2)) : hex
        guard !digits.isEmpty, digits.count <= 16, let value = UInt64(digits, radix: 16) else { return nil }
        self.rawValue = value
    }
}

/// Where a member can be reached. Opaque to the protocol: the runtime writes `host:port`
/// (`[v6]:port` for IPv6), the simulator writes a node index. Short strings are stored inline
/// by Swift, which keeps the simulator's member tables small.
public struct Address: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The wire format bounds an address to this many UTF-8 bytes.
    public static let maximumLength = 255

    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
}
