// Seeded random SWIM messages for property tests and for the fuzz seed corpus (Fuzz/run.sh compiles
// this file too, so it imports only SWIM).
import SWIM

/// Generates every message kind and gossip case with values that exercise the format's edges:
/// varints of every width, 32-bit sequence extremes, empty and maximum-length fields, multi-byte UTF-8.
struct RandomMessages {
    var rng: SeededGenerator
    /// Upper bound on members and payloads in push-pull states (kept small so tests stay fast).
    var maximumStateEntries = 40

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// A value of a random bit width: small and huge values equally likely, so every varint length appears.
    mutating func wideValue() -> UInt64 {
        let bits = rng.below(65)
        if bits == 0 { return 0 }
        if bits == 64 { return rng.next() }
        return rng.next() & ((1 << UInt64(bits)) - 1)
    }

    mutating func sequence() -> UInt32 {
        switch rng.below(4) {
        case 0: return [0, 1, 127, 128, UInt32.max][rng.below(5)]
        default: return UInt32(truncatingIfNeeded: wideValue() >> UInt64(rng.below(33)))
        }
    }

    mutating func nodeID() -> NodeID {
        rng.chance(0.3) ? NodeID(UInt64(rng.below(16))) : NodeID(rng.next())
    }

    /// A length in 0...maximum: usually short, sometimes exactly the maximum.
    mutating func length(upTo maximum: Int) -> Int {
        switch rng.below(10) {
        case 0: return maximum
        case 1: return 0
        case 2, 3: return rng.below(maximum + 1)
        default: return rng.below(min(maximum, 24) + 1)
        }
    }

    mutating func bytes(upTo maximum: Int) -> [UInt8] {
        (0..<length(upTo: maximum)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// A string of at most `maximum` UTF-8 bytes, mixing 1-, 2-, 3- and 4-byte scalars.
    mutating func string(upTo maximum: Int) -> String {
        let pieces = ["a", "Z", "0", ".", ":", "[", "]", "-", "\u{0}", "é", "ß", "Ж", "€", "日", "\u{FFFD}", "🙂", "𝄞"]
        let target = length(upTo: maximum)
        var result = ""
        var size = 0
        while size < target {
            let piece = pieces[rng.below(pieces.count)]
            let pieceSize = piece.utf8.count
            if size + pieceSize > target { result += String(repeating: "x", count: target - size); break }
            result += piece
            size += pieceSize
        }
        return result
    }

    mutating func address() -> Address {
        switch rng.below(3) {
        case 0: return Address("10.0.\(rng.below(256)).\(rng.below(256)):\(7946 + rng.below(100))")
        case 1: return Address("[fe80::\(String(rng.below(65536), radix: 16))]:\(rng.below(65536))")
        default: return Address(string(upTo: Address.maximumLength))
        }
    }

    mutating func payload() -> AppPayload {
        AppPayload(key: string(upTo: AppPayload.maximumKeyLength), version: wideValue(),
                   value: bytes(upTo: AppPayload.maximumValueLength))
    }

    /// Gossip of the given case (0 alive, 1 suspect, 2 dead, 3 left, 4 payload), or of a random one.
    mutating func gossip(case index: Int? = nil) -> Gossip {
        switch index ?? rng.below(5) {
        case 0: return .alive(id: nodeID(), incarnation: wideValue(), address: address(),
                              metadata: bytes(upTo: Member.maximumMetadataLength))
        case 1: return .suspect(id: nodeID(), incarnation: wideValue(), suspecter: nodeID())
        case 2: return .dead(id: nodeID(), incarnation: wideValue(), declarer: nodeID())
        case 3: return .left(id: nodeID(), incarnation: wideValue())
        default: return .payload(payload())
        }
    }

    static let gossipCaseCount = 5

    mutating func piggyback() -> [Gossip] {
        let count = rng.chance(0.2) ? 0 : rng.below(12)
        return (0..<count).map { _ in gossip() }
    }

    mutating func member() -> Member {
        Member(id: nodeID(), address: address(), incarnation: wideValue(),
               state: MemberState.allCases[rng.below(MemberState.allCases.count)],
               metadata: bytes(upTo: Member.maximumMetadataLength))
    }

    mutating func pushPullState() -> PushPullState {
        var state = PushPullState(join: rng.chance(0.5), source: nodeID(), members: [], payloads: [])
        // Either the members (payloads), or their digest in their place.
        if rng.chance(0.3) {
            state.memberDigest = rng.next()
        } else {
            state.members = (0..<rng.below(maximumStateEntries + 1)).map { _ in member() }
        }
        if rng.chance(0.3) {
            state.payloadDigest = rng.next()
        } else {
            state.payloads = (0..<rng.below(maximumStateEntries / 2 + 1)).map { _ in payload() }
        }
        return state
    }

    mutating func message(_ kind: MessageKind) -> Message {
        switch kind {
        case .ping: .ping(Ping(sequence: sequence(), target: nodeID(), source: nodeID(), piggyback: piggyback()))
        case .pingReq: .pingReq(PingRequest(sequence: sequence(), target: nodeID(), targetAddress: address(),
                                            source: nodeID(), piggyback: piggyback()))
        case .ack: .ack(Ack(sequence: sequence(), source: nodeID(), piggyback: piggyback()))
        case .nack: .nack(Nack(sequence: sequence(), source: nodeID()))
        case .gossip: .gossip(GossipMessage(source: nodeID(), piggyback: piggyback()))
        case .pushPullRequest: .pushPullRequest(pushPullState())
        case .pushPullResponse: .pushPullResponse(pushPullState())
        case .app: .app(AppMessage(source: nodeID(), bytes: bytes(upTo: AppMessage.maximumLength)))
        }
    }

    mutating func message() -> Message {
        message(MessageKind.allCases[rng.below(MessageKind.allCases.count)])
    }
}

extension Message {
    /// The same message with another piggyback list (messages without one are returned unchanged).
    func withPiggyback(_ piggyback: [Gossip]) -> Message {
        switch self {
        case .ping(var m): m.piggyback = piggyback; return .ping(m)
        case .pingReq(var m): m.piggyback = piggyback; return .pingReq(m)
        case .ack(var m): m.piggyback = piggyback; return .ack(m)
        case .gossip(var m): m.piggyback = piggyback; return .gossip(m)
        case .nack, .pushPullRequest, .pushPullResponse, .app: return self
        }
    }
}
