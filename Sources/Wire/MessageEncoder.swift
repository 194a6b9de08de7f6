import SWIM

/// Writes a message's body (everything after the header) in the layout of FORMAT.md.
/// `WireSize` computes the same sizes without encoding; the tests keep the two in agreement.
enum MessageEncoder {
    static func appendBody(of message: Message, to out: inout [UInt8]) {
        switch message {
        case .ping(let m):
            out.appendVarint(UInt64(m.sequence))
            out.append(m.target)
            out.append(m.source)
            appendPiggyback(m.piggyback, to: &out)
        case .pingReq(let m):
            out.appendVarint(UInt64(m.sequence))
            out.append(m.target)
            out.appendPrefixed(m.targetAddress.rawValue)
            out.append(m.source)
            appendPiggyback(m.piggyback, to: &out)
        case .ack(let m):
            out.appendVarint(UInt64(m.sequence))
            out.append(m.source)
            appendPiggyback(m.piggyback, to: &out)
        case .nack(let m):
            out.appendVarint(UInt64(m.sequence))
            out.append(m.source)
        case .gossip(let m):
            out.append(m.source)
            appendPiggyback(m.piggyback, to: &out)
        case .pushPullRequest(let state), .pushPullResponse(let state):
            // Flags: bit 0 join, bit 1 the payloads are left out and their digest follows the source,
            // bit 2 the members are left out and their digest follows (after the payloads').
            out.append((state.join ? 1 : 0) | (state.payloadDigest == nil ? 0 : 2) | (state.memberDigest == nil ? 0 : 4))
            out.append(state.source)
            if let digest = state.payloadDigest { out.appendBigEndian(digest) }
            if let digest = state.memberDigest { out.appendBigEndian(digest) }
            out.appendVarint(UInt64(state.members.count))
            for member in state.members { append(member, to: &out) }
            out.appendVarint(UInt64(state.payloads.count))
            for payload in state.payloads { append(payload, to: &out) }
        case .app(let m):
            out.append(m.source)
            out.appendPrefixed(m.bytes)
        }
    }

    static func appendPiggyback(_ piggyback: [Gossip], to out: inout [UInt8]) {
        out.appendVarint(UInt64(piggyback.count))
        for gossip in piggyback { append(gossip, to: &out) }
    }

    static func append(_ gossip: Gossip, to out: inout [UInt8]) {
        switch gossip {
        case .alive(let id, let incarnation, let address, let metadata):
            out.append(GossipTag.alive.rawValue)
            out.append(id)
            out.appendVarint(incarnation)
            out.appendPrefixed(address.rawValue)
            out.appendPrefixed(metadata)
        case .suspect(let id, let incarnation, let suspecter):
            out.append(GossipTag.suspect.rawValue)
            out.append(id)
            out.appendVarint(incarnation)
            out.append(suspecter)
        case .dead(let id, let incarnation, let declarer):
            out.append(GossipTag.dead.rawValue)
            out.append(id)
            out.appendVarint(incarnation)
            out.append(declarer)
        case .left(let id, let incarnation):
            out.append(GossipTag.left.rawValue)
            out.append(id)
            out.appendVarint(incarnation)
        case .payload(let payload):
            out.append(GossipTag.payload.rawValue)
            append(payload, to: &out)
        }
    }

    static func append(_ member: Member, to out: inout [UInt8]) {
        out.append(member.id)
        out.appendPrefixed(member.address.rawValue)
        out.appendVarint(member.incarnation)
        out.append(member.state.rawValue)
        out.appendPrefixed(member.metadata)
    }

    static func append(_ payload: AppPayload, to out: inout [UInt8]) {
        out.appendPrefixed(payload.key)
        out.appendVarint(payload.version)
        out.appendPrefixed(payload.value)
    }
}

/// The tag byte in front of each piggybacked update. Zero is never used, so a run of zero bytes
/// (a common corruption) is not mistaken for an update.
enum GossipTag: UInt8 {
    case alive = 1, suspect = 2, dead = 3, left = 4, payload = 5
}
