import SWIM

/// The plain binary codec: header + body, no encryption. Pure and `Sendable`; the simulator and the
/// benchmarks use it directly, the runtime through `PacketCodec` (which adds the envelope).
public struct WireCodec: Sendable {
    public let cluster: ClusterHash

    public init(cluster: ClusterHash) { self.cluster = cluster }

    /// The message's bytes: exactly `WireSize.of(message)` of them, in one allocation.
    /// Values beyond the `WireLimits` bounds are encoded as they are (and rejected by receivers);
    /// `PacketCodec.seal` checks them first.
    public func encode(_ message: Message) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(WireSize.of(message))
        WireHeader.append(kind: message.kind, sealed: false, cluster: cluster, to: &out)
        MessageEncoder.appendBody(of: message, to: &out)
        return out
    }

    /// The body alone (what the envelope encrypts).
    func encodeBody(_ message: Message) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(WireSize.of(message) - WireSize.header)
        MessageEncoder.appendBody(of: message, to: &out)
        return out
    }

    public func decode(_ packet: [UInt8]) throws(WireError) -> Message {
        try packet.withUnsafeBufferPointer { (buffer) throws(WireError) -> Message in try decode(buffer) }
    }

    public func decode(_ packet: ArraySlice<UInt8>) throws(WireError) -> Message {
        try packet.withUnsafeBufferPointer { (buffer) throws(WireError) -> Message in try decode(buffer) }
    }

    /// Decodes a plain packet. A sealed one is refused: only `PacketCodec` holds keys.
    public func decode(_ packet: UnsafeBufferPointer<UInt8>) throws(WireError) -> Message {
        guard packet.count <= WireLimits.maximumMessageSize else {
            throw .tooLarge(size: packet.count, limit: WireLimits.maximumMessageSize)
        }
        let header = try WireHeader.parse(packet, cluster: cluster)
        if header.sealed { throw .unexpectedEncryption }
        var reader = ByteReader(packet, from: WireSize.header)
        return try MessageDecoder.body(header.kind, from: &reader)
    }

    /// Decodes a body whose header was checked separately (the plaintext of a sealed packet).
    func decodeBody(_ kind: MessageKind, _ body: [UInt8]) throws(WireError) -> Message {
        try body.withUnsafeBufferPointer { (buffer) throws(WireError) -> Message in
            var reader = ByteReader(buffer, from: 0)
            return try MessageDecoder.body(kind, from: &reader)
        }
    }
}
