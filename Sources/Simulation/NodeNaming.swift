import SWIM

/// How simulated nodes are named: node `i` has ID `i + 1` (so no node has ID zero) and address `n<i>`.
public enum NodeNaming {
    public static func id(of node: Int) -> NodeID { NodeID(UInt64(node) + 1) }

    public static func address(of node: Int) -> Address { Address("n\(node)") }

    /// The node index behind an ID, if it names a node of a cluster of `count`.
    @inline(__always)
    public static func node(of id: NodeID, count: Int) -> Int? {
        guard id.rawValue >= 1, id.rawValue <= UInt64(count) else { return nil }
        return Int(id.rawValue - 1)
    }

    /// The node index behind an address like `n17`, if it names a node of a cluster of `count`.
    /// Parses the UTF-8 directly: this runs for every message sent.
    @inline(__always)
    public static func node(of address: Address, count: Int) -> Int? {
        var value = 0
        var digits = 0
        var first = true
        for byte in address.rawValue.utf8 {
            if first {
                guard byte == UInt8(ascii: "n") else { return nil }
                first = false
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        guard digits > 0, value < count else { return nil }
        return value
    }

    /// Derives an independent 64-bit seed from a run seed and a label (SplitMix64 finaliser):
    /// every node and the network get unrelated streams from the one run seed.
    public static func mix(_ seed: UInt64, _ label: UInt64) -> UInt64 {
        var z = seed &+ (label &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
