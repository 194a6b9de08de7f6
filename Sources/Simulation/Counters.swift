import SWIM

/// What happened to the messages the nodes sent.
public struct NetworkCounters: Hashable, Sendable, Codable {
    public var datagramsSent = 0
    public var datagramsDelivered = 0
    public var droppedByLoss = 0
    public var droppedByPartition = 0
    /// Arrived at a node that was not up (crashed, stopped, not yet started).
    public var droppedAtDownNode = 0
    public var duplicated = 0
    /// Messages addressed to an address that is no simulated node.
    public var unroutable = 0
    public var streamMessagesSent = 0
    public var streamMessagesDelivered = 0
    /// Stream messages lost to a partition or a down endpoint (the stream broke; nothing comes back).
    public var streamFailures = 0
    /// Application payloads handed to nodes (`Directive.deliver`).
    public var payloadDeliveries = 0
    /// Application messages handed to nodes (`Directive.deliverMessage`).
    public var applicationMessageDeliveries = 0
    public init() {}
}

/// Messages and bytes sent, by message kind and by transport (datagram or stream).
public struct TrafficCounters: Hashable, Sendable {
    /// Indexed by `slot(kind, stream)`.
    public private(set) var messages = [Int](repeating: 0, count: 2 * Self.kinds)
    public private(set) var bytes = [Int](repeating: 0, count: 2 * Self.kinds)

    /// Room for every message type byte (they are small integers).
    static let kinds = Int(MessageKind.allCases.map(\.rawValue).max() ?? 0) + 1

    public init() {}

    @inline(__always)
    static func slot(_ kind: MessageKind, stream: Bool) -> Int { Int(kind.rawValue) + (stream ? kinds : 0) }

    @inline(__always)
    mutating func count(_ kind: MessageKind, stream: Bool, bytes size: Int) {
        let slot = Self.slot(kind, stream: stream)
        messages[slot] += 1
        bytes[slot] += size
    }

    public func messages(_ kind: MessageKind, stream: Bool) -> Int { messages[Self.slot(kind, stream: stream)] }
    public func bytes(_ kind: MessageKind, stream: Bool) -> Int { bytes[Self.slot(kind, stream: stream)] }
    public var totalMessages: Int { messages.reduce(0, +) }
    public var totalBytes: Int { bytes.reduce(0, +) }
}
