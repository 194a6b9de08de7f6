import SWIM

/// Encoding primitives. Callers reserve the exact capacity first (`WireSize` knows it), so these
/// appends never reallocate.
extension Array where Element == UInt8 {
    @inlinable
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(truncatingIfNeeded: v))
    }

    @inlinable
    mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable
    mutating func appendBigEndian(_ value: UInt64) {
        appendBigEndian(UInt32(truncatingIfNeeded: value >> 32))
        appendBigEndian(UInt32(truncatingIfNeeded: value))
    }

    @inlinable
    mutating func append(_ id: NodeID) { appendBigEndian(id.rawValue) }

    /// A varint length, then the bytes.
    @inlinable
    mutating func appendPrefixed(_ bytes: [UInt8]) {
        appendVarint(UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    /// A varint length, then the UTF-8 bytes, exactly as Swift stores them (no normalization), so
    /// decoding and re-encoding gives the same bytes.
    @inlinable
    mutating func appendPrefixed(_ string: String) {
        let utf8 = string.utf8
        appendVarint(UInt64(utf8.count))
        append(contentsOf: utf8)
    }
}
