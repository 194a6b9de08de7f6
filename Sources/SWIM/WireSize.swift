/// Encoded sizes of messages in the `Wire` format, computed without encoding.
///
/// The protocol core uses these to fill each message's piggyback budget and the simulator to count
/// bytes. `Wire` is the authority on the format (see Sources/Wire/FORMAT.md); its tests check that
/// every size here equals the length of the real encoding, so the two cannot drift apart.
public enum WireSize {
    /// magic (2) + version (1) + cluster hash (4) + message type (1).
    public static let header = 8
    /// Added by the encryption envelope: 96-bit nonce + envelope stamp (sender ID, boot and counter,
    /// 8 bytes each, encrypted with the body) + 128-bit GCM tag.
    public static let encryptionOverhead = 12 + 24 + 16

    /// Bytes of an unsigned LEB128 varint.
    @inlinable
    public static func varint(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    /// A length-prefixed byte string (varint length).
    @inlinable
    public static func bytes(_ count: Int) -> Int { varint(UInt64(count)) + count }

    public static func of(_ address: Address) -> Int { bytes(address.rawValue.utf8.count) }

    public static func of(_ payload: AppPayload) -> Int {
        bytes(payload.key.utf8.count) + varint(payload.version) + bytes(payload.value.count)
    }

    /// One piggybacked update: a tag byte, then its fields.
    public static func of(_ gossip: Gossip) -> Int {
        switch gossip {
        case .alive(_, let incarnation, let address, let metadata):
            1 + 8 + varint(incarnation) + of(address) + bytes(metadata.count)
        case .suspect(_, let incarnation, _), .dead(_, let incarnation, _):
            1 + 8 + varint(incarnation) + 8
        case .left(_, let incarnation):
            1 + 8 + varint(incarnation)
        case .payload(let payload):
            1 + of(payload)
        }
    }

    public static func of(_ member: Member) -> Int {
        8 + of(member.address) + varint(member.incarnation) + 1 + bytes(member.metadata.count)
    }

    /// A piggyback list: a varint count, then the updates.
    public static func of(piggyback: [Gossip]) -> Int {
        piggyback.reduce(varint(UInt64(piggyback.count))) { $0 + of($1) }
    }

    /// The whole message with its header, before encryption.
    public static func of(_ message: Message) -> Int {
        header + body(message)
    }

    /// A message's fixed part, without its piggyback list: what the budget must leave room for.
    public static func fixedPart(of message: Message) -> Int {
        switch message {
        case .ping(let m): header + varint(UInt64(m.sequence)) + 8 + 8
        case .pingReq(let m): header + varint(UInt64(m.sequence)) + 8 + of(m.targetAddress) + 8
        case .ack(let m): header + varint(UInt64(m.sequence)) + 8
        case .nack(let m): header + varint(UInt64(m.sequence)) + 8
        case .gossip: header + 8
        case .pushPullRequest, .pushPullResponse: of(message)
        case .app(let m): header + 8 + bytes(m.bytes.count)
        }
    }

    private static func body(_ message: Message) -> Int {
        switch message {
        case .ping, .pingReq, .ack, .gossip:
            fixedPart(of: message) - header + of(piggyback: message.piggyback)
        case .nack, .app:
            fixedPart(of: message) - header
        case .pushPullRequest(let state), .pushPullResponse(let state):
            1 + 8 + (state.payloadDigest == nil ? 0 : 8) + (state.memberDigest == nil ? 0 : 8)
                + state.members.reduce(varint(UInt64(state.members.count))) { $0 + of($1) }
                + state.payloads.reduce(varint(UInt64(state.payloads.count))) { $0 + of($1) }
        }
    }
}
