import SWIM

/// Reads a message's body (everything after the header). The inverse of `MessageEncoder`: any
/// input either decodes completely, with no byte left over, or throws.
enum MessageDecoder {
    static func body(_ kind: MessageKind, from reader: inout ByteReader) throws(WireError) -> Message {
        let message: Message
        switch kind {
        case .ping:
            let sequence = try reader.sequence()
            let target = try reader.nodeID()
            let source = try reader.nodeID()
            let piggyback = try self.piggyback(from: &reader)
            message = .ping(Ping(sequence: sequence, target: target, source: source, piggyback: piggyback))
        case .pingReq:
            let sequence = try reader.sequence()
            let target = try reader.nodeID()
            let address = try reader.prefixedString(.address, limit: WireLimits.maximumAddressLength)
            let source = try reader.nodeID()
            let piggyback = try self.piggyback(from: &reader)
            message = .pingReq(PingRequest(sequence: sequence, target: target, targetAddress: Address(rawValue: address),
                                           source: source, piggyback: piggyback))
        case .ack:
            let sequence = try reader.sequence()
            let source = try reader.nodeID()
            let piggyback = try self.piggyback(from: &reader)
            message = .ack(Ack(sequence: sequence, source: source, piggyback: piggyback))
        case .nack:
            let sequence = try reader.sequence()
            let source = try reader.nodeID()
            message = .nack(Nack(sequence: sequence, source: source))
        case .gossip:
            let source = try reader.nodeID()
            let piggyback = try self.piggyback(from: &reader)
            message = .gossip(GossipMessage(source: source, piggyback: piggyback))
        case .pushPullRequest:
            message = .pushPullRequest(try pushPullState(from: &reader))
        case .pushPullResponse:
            message = .pushPullResponse(try pushPullState(from: &reader))
        case .app:
            let source = try reader.nodeID()
            let bytes = try reader.prefixedBytes(.appMessage, limit: AppMessage.maximumLength)
            message = .app(AppMessage(source: source, bytes: bytes))
        }
        try reader.expectEnd()
        return message
    }

    static func piggyback(from reader: inout ByteReader) throws(WireError) -> [Gossip] {
        let count = try reader.count(.piggyback, limit: WireLimits.maximumPiggybackCount,
                                     minimumSize: WireLimits.minimumGossipSize)
        var updates: [Gossip] = []
        updates.reserveCapacity(count)
        for _ in 0..<count { updates.append(try gossip(from: &reader)) }
        return updates
    }

    static func gossip(from reader: inout ByteReader) throws(WireError) -> Gossip {
        let offset = reader.index
        let raw = try reader.byte()
        guard let tag = GossipTag(rawValue: raw) else { throw .unknownGossipTag(raw, offset: offset) }
        switch tag {
        case .alive:
            let id = try reader.nodeID()
            let incarnation = try reader.varint()
            let address = try reader.prefixedString(.address, limit: WireLimits.maximumAddressLength)
            let metadata = try reader.prefixedBytes(.metadata, limit: WireLimits.maximumMetadataLength)
            return .alive(id: id, incarnation: incarnation, address: Address(rawValue: address), metadata: metadata)
        case .suspect:
            let id = try reader.nodeID()
            let incarnation = try reader.varint()
            return .suspect(id: id, incarnation: incarnation, suspecter: try reader.nodeID())
        case .dead:
            let id = try reader.nodeID()
            let incarnation = try reader.varint()
            return .dead(id: id, incarnation: incarnation, declarer: try reader.nodeID())
        case .left:
            let id = try reader.nodeID()
            return .left(id: id, incarnation: try reader.varint())
        case .payload:
            return .payload(try payload(from: &reader))
        }
    }

    static func pushPullState(from reader: inout ByteReader) throws(WireError) -> PushPullState {
        let flags = try reader.byte()
        guard flags <= 7 else { throw .invalidFlag(flags) }
        let source = try reader.nodeID()
        let digest: UInt64? = flags & 2 != 0 ? try reader.bigEndian64() : nil
        let memberDigest: UInt64? = flags & 4 != 0 ? try reader.bigEndian64() : nil
        let memberCount = try reader.count(.members, limit: WireLimits.maximumMemberCount,
                                           minimumSize: WireLimits.minimumMemberSize)
        var members: [Member] = []
        members.reserveCapacity(memberCount)
        for _ in 0..<memberCount { members.append(try member(from: &reader)) }
        let payloadCount = try reader.count(.payloads, limit: WireLimits.maximumPayloadCount,
                                            minimumSize: WireLimits.minimumPayloadSize)
        var payloads: [AppPayload] = []
        payloads.reserveCapacity(payloadCount)
        for _ in 0..<payloadCount { payloads.append(try payload(from: &reader)) }
        // Left-out payloads and payloads at once would be two answers to one question.
        if digest != nil, !payloads.isEmpty { throw .invalidFlag(flags) }
        if memberDigest != nil, !members.isEmpty { throw .invalidFlag(flags) }
        return PushPullState(join: flags & 1 != 0, source: source, members: members, payloads: payloads, payloadDigest: digest,
                             memberDigest: memberDigest)
    }

    static func member(from reader: inout ByteReader) throws(WireError) -> Member {
        let id = try reader.nodeID()
        let address = try reader.prefixedString(.address, limit: WireLimits.maximumAddressLength)
        let incarnation = try reader.varint()
        let state = try reader.state()
        let metadata = try reader.prefixedBytes(.metadata, limit: WireLimits.maximumMetadataLength)
        return Member(id: id, address: Address(rawValue: address), incarnation: incarnation, state: state, metadata: metadata)
    }

    static func payload(from reader: inout ByteReader) throws(WireError) -> AppPayload {
        let key = try reader.prefixedString(.payloadKey, limit: WireLimits.maximumPayloadKeyLength)
        let version = try reader.varint()
        let value = try reader.prefixedBytes(.payloadValue, limit: WireLimits.maximumPayloadValueLength)
        return AppPayload(key: key, version: version, value: value)
    }
}
