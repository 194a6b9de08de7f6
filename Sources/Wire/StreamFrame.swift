/// Framing of packets on a stream (push-pull and fallback pings over TCP): a 4-byte big-endian
/// length, then one packet (sealed or plain, exactly as in a datagram). No I/O here: the runtime
/// reads the prefix, checks it with `length(prefix:)`, reads that many bytes and opens them.
public enum StreamFrame {
    public static let prefixLength = 4
    /// The largest packet a frame may carry: `WireLimits.maximumPacketSize` (16 MiB + 28).
    public static let maximumLength = WireLimits.maximumPacketSize

    public static func frame(_ packet: [UInt8]) throws(WireError) -> [UInt8] {
        guard packet.count <= maximumLength else { throw .tooLarge(size: packet.count, limit: maximumLength) }
        var frame: [UInt8] = []
        frame.reserveCapacity(prefixLength + packet.count)
        frame.appendBigEndian(UInt32(packet.count))
        frame += packet
        return frame
    }

    /// The packet length a prefix announces, checked against `maximumLength` (a smaller limit may be
    /// passed) before the caller allocates or waits for that many bytes.
    public static func length(prefix: some Collection<UInt8>, maximumLength: Int = StreamFrame.maximumLength) throws(WireError) -> Int {
        guard prefix.count >= prefixLength else { throw .truncated(offset: 0) }
        let length = prefix.prefix(prefixLength).reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumLength else { throw .tooLarge(size: length, limit: maximumLength) }
        return length
    }

    /// The first complete frame at the start of `buffer`: its packet and the bytes it used
    /// (prefix included), or nil when `buffer` does not hold a whole frame yet.
    public static func next(in buffer: ArraySlice<UInt8>, maximumLength: Int = StreamFrame.maximumLength)
        throws(WireError) -> (packet: ArraySlice<UInt8>, consumed: Int)? {
        guard buffer.count >= prefixLength else { return nil }
        let length = try self.length(prefix: buffer, maximumLength: maximumLength)
        guard buffer.count - prefixLength >= length else { return nil }
        let start = buffer.startIndex + prefixLength
        return (buffer[start..<(start + length)], prefixLength + length)
    }
}
