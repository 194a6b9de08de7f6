import SWIM

/// Decoding primitives: an index over the packet's bytes. Every read checks the bytes remaining
/// first and throws `truncated` instead of reading past the end; lengths and counts are checked
/// against their bounds before anything is allocated.
struct ByteReader: ~Copyable {
    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var index: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int) {
        self.bytes = bytes
        self.index = index
    }

    var remaining: Int { bytes.count - index }

    mutating func byte() throws(WireError) -> UInt8 {
        guard index < bytes.count else { throw .truncated(offset: index) }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func nodeID() throws(WireError) -> NodeID {
        NodeID(rawValue: try bigEndian64())
    }

    mutating func bigEndian64() throws(WireError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated(offset: index) }
        var value: UInt64 = 0
        for i in index..<(index + 8) { value = value << 8 | UInt64(bytes[i]) }
        index += 8
        return value
    }

    /// Unsigned LEB128, at most 10 bytes, in its shortest form (so every value has exactly one
    /// encoding and a decoded packet re-encodes to the same bytes).
    mutating func varint() throws(WireError) -> UInt64 {
        let start = index
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for position in 0..<10 {
            guard index < bytes.count else { throw .truncated(offset: start) }
            let byte = bytes[index]
            index += 1
            if position == 9 {
                // The 10th byte holds bit 63 only: a continuation is an 11th byte, a higher bit overflows.
                if byte & 0x80 != 0 { throw .overlongVarint(offset: start) }
                if byte > 1 { throw .varintOverflow(offset: start) }
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && position > 0 { throw .overlongVarint(offset: start) }
                return result
            }
            shift += 7
        }
        throw .overlongVarint(offset: start)  // unreachable: the 10th byte always returns or throws
    }

    mutating func sequence() throws(WireError) -> UInt32 {
        let start = index
        let value = try varint()
        guard let sequence = UInt32(exactly: value) else { throw .varintOverflow(offset: start) }
        return sequence
    }

    /// A length prefix, checked against the field's fixed `limit` (beyond it: `lengthOutOfBounds`)
    /// and then against the bytes remaining (beyond them: `truncated`, as the input ended early).
    mutating func length(_ field: WireField, limit: Int) throws(WireError) -> Int {
        let start = index
        let value = try varint()
        guard value <= UInt64(limit) else { throw .lengthOutOfBounds(field, length: value, limit: limit) }
        let length = Int(value)
        guard length <= remaining else { throw .truncated(offset: start) }
        return length
    }

    /// A count prefix, checked against the fixed `limit` (beyond it: `countOutOfBounds`) and then
    /// against how many items of at least `minimumSize` bytes the bytes remaining could hold
    /// (beyond that: `truncated`). Callers may then reserve `count` items: never more than the
    /// input's own size could describe.
    mutating func count(_ field: WireField, limit: Int, minimumSize: Int) throws(WireError) -> Int {
        let start = index
        let value = try varint()
        guard value <= UInt64(limit) else { throw .countOutOfBounds(field, count: value, limit: limit) }
        let count = Int(value)
        guard count <= remaining / minimumSize else { throw .truncated(offset: start) }
        return count
    }

    mutating func prefixedBytes(_ field: WireField, limit: Int) throws(WireError) -> [UInt8] {
        let length = try length(field, limit: limit)
        defer { index += length }
        return Array(UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
    }

    mutating func prefixedString(_ field: WireField, limit: Int) throws(WireError) -> String {
        let length = try length(field, limit: limit)
        let slice = UnsafeBufferPointer(rebasing: bytes[index..<(index + length)])
        guard let string = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(field) }
        index += length
        return string
    }

    mutating func flag() throws(WireError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidFlag(other)
        }
    }

    mutating func state() throws(WireError) -> MemberState {
        let raw = try byte()
        guard let state = MemberState(rawValue: raw) else { throw .invalidState(raw) }
        return state
    }

    func expectEnd() throws(WireError) {
        if remaining > 0 { throw .trailingBytes(count: remaining) }
    }
}
