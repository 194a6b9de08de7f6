import SWIM

/// Damages valid packets the ways networks and attackers do: bit flips, cuts, splices of two
/// packets, inserted and deleted bytes, runs of varint-continuation bytes, and plain noise.
struct PacketMutator {
    var rng: SeededGenerator
    let valid: [[UInt8]]

    init(seed: UInt64, valid: [[UInt8]]) {
        rng = SeededGenerator(seed: seed)
        self.valid = valid
    }

    mutating func packet() -> [UInt8] {
        var bytes = valid[rng.below(valid.count)]
        let rounds = 1 + (rng.chance(0.3) ? rng.below(4) : 0)
        for _ in 0..<rounds { mutate(&bytes) }
        return bytes
    }

    mutating func mutate(_ bytes: inout [UInt8]) {
        switch rng.below(8) {
        case 0 where !bytes.isEmpty:  // flip 1 to 4 bits
            for _ in 0...rng.below(4) {
                bytes[rng.below(bytes.count)] ^= 1 << UInt8(rng.below(8))
            }
        case 1:  // cut
            bytes.removeLast(rng.below(bytes.count + 1))
        case 2:  // splice: the start of this packet, the end of another
            let other = valid[rng.below(valid.count)]
            bytes = Array(bytes.prefix(rng.below(bytes.count + 1))) + other.suffix(rng.below(other.count + 1))
        case 3:  // insert a few bytes
            let at = rng.below(bytes.count + 1)
            bytes.insert(contentsOf: (0...rng.below(4)).map { _ in interestingByte() }, at: at)
        case 4 where !bytes.isEmpty:  // delete a few bytes
            let at = rng.below(bytes.count)
            bytes.removeSubrange(at..<min(bytes.count, at + 1 + rng.below(4)))
        case 5 where !bytes.isEmpty:  // overwrite with boundary values (lengths, counts, tags)
            for _ in 0...rng.below(3) { bytes[rng.below(bytes.count)] = interestingByte() }
        case 6 where !bytes.isEmpty:  // a run of continuation bytes: overlong and overflowing varints
            let at = rng.below(bytes.count)
            let run = [UInt8](repeating: 0xFF, count: 1 + rng.below(12))
            bytes.replaceSubrange(at..<min(bytes.count, at + run.count), with: run)
        default:  // noise, sometimes behind a valid header
            let noise = (0..<rng.below(80)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            bytes = rng.chance(0.7) ? Array(bytes.prefix(8)) + noise : noise
        }
    }

    mutating func interestingByte() -> UInt8 {
        [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x7F, 0x80, 0x81, 0xFE, 0xFF][rng.below(12)]
    }
}
