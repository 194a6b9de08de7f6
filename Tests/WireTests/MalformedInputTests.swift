import Testing
import SWIM
@testable import Wire

/// A plain header for `testCluster` and the given type byte.
func header(_ type: UInt8) -> [UInt8] { [0x4C, 0x4D, 0x01, 0x1C, 0xE5, 0xED, 0x01, type] }

func decodeError(_ bytes: [UInt8]) -> WireError? {
    do { _ = try codec.decode(bytes); return nil } catch { return error }
}

let id8: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 7]

@Suite struct MalformedInputTests {
    /// The format is prefix-free: no strict prefix of a valid packet is a valid packet, and the
    /// decoder says so with `truncated` at every cut.
    @Test(arguments: MessageKind.allCases)
    func everyTruncationIsRejectedAsTruncated(kind: MessageKind) {
        var random = RandomMessages(seed: 0x7255 + UInt64(kind.rawValue))
        random.maximumStateEntries = 6
        for _ in 0..<12 {
            let bytes = codec.encode(random.message(kind))
            for cut in 0..<bytes.count {
                #expect(decodeError(Array(bytes[0..<cut]))?.kind == .truncated, "cut at \(cut) of \(bytes.count)")
            }
        }
    }

    @Test func headerErrorsAreReportedInFieldOrder() {
        let valid = codec.encode(.nack(Nack(sequence: 1, source: NodeID(2))))
        var bytes = valid
        bytes[0] = 0x4D
        #expect(decodeError(bytes) == .badMagic)
        #expect(decodeError([0x00]) == .truncated(offset: 0))
        #expect(decodeError([0x4C, 0x4D, 0x01]) == .truncated(offset: 2))
        bytes = valid; bytes[2] = 2
        #expect(decodeError(bytes) == .unsupportedVersion(2))
        bytes = valid; bytes[5] ^= 0x10
        #expect(decodeError(bytes) == .wrongCluster)
        #expect(decodeError(WireCodec(cluster: ClusterHash(clusterName: "other")).encode(.nack(Nack(sequence: 1, source: NodeID(2))))) == .wrongCluster)
        for type: UInt8 in [0, 9, 0x7F] {
            bytes = valid; bytes[7] = type
            #expect(decodeError(bytes) == .unknownType(type))
        }
        bytes = valid; bytes[7] |= WireHeader.sealedFlag
        #expect(decodeError(bytes) == .unexpectedEncryption)
    }

    @Test func unknownGossipTagsAreRejected() {
        for tag: UInt8 in [0, 6, 0x80, 0xFF] {
            let bytes = header(MessageKind.gossip.rawValue) + id8 + [1, tag] + id8 + [0]
            #expect(decodeError(bytes) == .unknownGossipTag(tag, offset: 17))
        }
    }

    @Test func lengthsBeyondTheirBoundsAreRejectedBeforeReading() {
        // 256-byte address (varint 0x80 0x02) in a ping-req, followed by enough bytes to be read.
        let filler = [UInt8](repeating: 0x61, count: 2_000)
        let pingReq = header(MessageKind.pingReq.rawValue) + [1] + id8 + [0x80, 0x02] + filler
        #expect(decodeError(pingReq) == .lengthOutOfBounds(.address, length: 256, limit: 255))
        // Alive update with a 513-byte metadata.
        let alive = header(MessageKind.gossip.rawValue) + id8 + [1, 1] + id8 + [0, 0, 0x81, 0x04] + filler
        #expect(decodeError(alive) == .lengthOutOfBounds(.metadata, length: 513, limit: 512))
        // Payload key of 129 and value of 1025 bytes.
        let key = header(MessageKind.gossip.rawValue) + id8 + [1, 5, 0x81, 0x01] + filler
        #expect(decodeError(key) == .lengthOutOfBounds(.payloadKey, length: 129, limit: 128))
        let value = header(MessageKind.gossip.rawValue) + id8 + [1, 5, 0, 0, 0x81, 0x08] + filler
        #expect(decodeError(value) == .lengthOutOfBounds(.payloadValue, length: 1025, limit: 1024))
        // A huge length within no bound at all.
        let huge = header(MessageKind.pingReq.rawValue) + [1] + id8 + [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(decodeError(huge) == .lengthOutOfBounds(.address, length: 0xFFFF_FFFF, limit: 255))
        // Within the bound but beyond the bytes present: the packet was cut.
        #expect(decodeError(header(MessageKind.pingReq.rawValue) + [1] + id8 + [10, 0x61])?.kind == .truncated)
    }

    @Test func countsBeyondTheirBoundsAreRejectedBeforeAllocating() {
        let filler = [UInt8](repeating: 0, count: 64)
        // 8,193 piggybacked updates.
        let piggyback = header(MessageKind.gossip.rawValue) + id8 + [0x81, 0x40] + filler
        #expect(decodeError(piggyback) == .countOutOfBounds(.piggyback, count: 8_193, limit: 8_192))
        // 100,001 members (varint a1 8d 06) and an absurd count.
        let members = header(MessageKind.pushPullRequest.rawValue) + [0] + id8 + [0xA1, 0x8D, 0x06] + filler
        #expect(decodeError(members) == .countOutOfBounds(.members, count: 100_001, limit: 100_000))
        let absurd = header(MessageKind.pushPullResponse.rawValue) + [1] + id8 + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(decodeError(absurd)?.kind == .countOutOfBounds)
        let payloads = header(MessageKind.pushPullRequest.rawValue) + [0] + id8 + [0, 0xA1, 0x8D, 0x06] + filler
        #expect(decodeError(payloads) == .countOutOfBounds(.payloads, count: 100_001, limit: 100_000))
        // Within the bound but more than the remaining bytes could hold: truncated, nothing reserved.
        let claims = header(MessageKind.gossip.rawValue) + id8 + [0x80, 0x40] + filler
        #expect(decodeError(claims)?.kind == .truncated)
    }

    @Test func malformedVarintsAreRejected() {
        let ack = header(MessageKind.ack.rawValue)
        // Eleven bytes long.
        #expect(decodeError(ack + [UInt8](repeating: 0x80, count: 10) + [0] + id8 + [0]) == .overlongVarint(offset: 8))
        // Not in shortest form: 0 written as two bytes, and 1 with a trailing zero group.
        #expect(decodeError(ack + [0x80, 0x00] + id8 + [0]) == .overlongVarint(offset: 8))
        #expect(decodeError(ack + [0x81, 0x80, 0x00] + id8 + [0]) == .overlongVarint(offset: 8))
        // A piggyback count of 0 as [0x80, 0x00].
        #expect(decodeError(ack + [1] + id8 + [0x80, 0x00]) == .overlongVarint(offset: 17))
        // Beyond 64 bits: the 10th byte may only be 0 or 1.
        let incarnation65 = [UInt8](repeating: 0xFF, count: 9) + [0x02]
        #expect(decodeError(header(MessageKind.gossip.rawValue) + id8 + [1, 4] + id8 + incarnation65) == .varintOverflow(offset: 26))
        // UInt64.max itself is fine.
        let max64 = [UInt8](repeating: 0xFF, count: 9) + [0x01]
        #expect(decodeError(header(MessageKind.gossip.rawValue) + id8 + [1, 4] + id8 + max64) == nil)
        // Sequence numbers are 32-bit: 2^32 overflows, 2^32 - 1 does not.
        #expect(decodeError(ack + [0x80, 0x80, 0x80, 0x80, 0x10] + id8 + [0]) == .varintOverflow(offset: 8))
        #expect(decodeError(ack + [0xFF, 0xFF, 0xFF, 0xFF, 0x0F] + id8 + [0]) == nil)
    }

    @Test func invalidUTF8IsRejected() {
        let bad: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x61, 0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x80]]
        for sequence in bad {
            let pingReq = header(MessageKind.pingReq.rawValue) + [1] + id8 + [UInt8(sequence.count)] + sequence + id8 + [0]
            #expect(decodeError(pingReq) == .invalidUTF8(.address))
            let payload = header(MessageKind.gossip.rawValue) + id8 + [1, 5, UInt8(sequence.count)] + sequence + [0, 0]
            #expect(decodeError(payload) == .invalidUTF8(.payloadKey))
            let member = header(MessageKind.pushPullRequest.rawValue) + [0] + id8 + [1] + id8 + [UInt8(sequence.count)] + sequence + [0, 0, 0, 0]
            #expect(decodeError(member) == .invalidUTF8(.address))
        }
    }

    @Test func invalidStatesFlagsAndTrailingBytesAreRejected() {
        let member = header(MessageKind.pushPullRequest.rawValue) + [0] + id8 + [1] + id8 + [0, 0]
        #expect(decodeError(member + [3, 0, 0]) == nil)
        #expect(decodeError(member + [4, 0, 0]) == .invalidState(4))
        // Flags: bit 0 join, bit 1 a payload digest follows the source, bit 2 a member digest; nothing else.
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [8] + id8 + [0, 0]) == .invalidFlag(8))
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [6] + id8 + id8 + id8 + [0, 0]) == nil)
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [4] + id8 + id8 + [1] + id8 + [0, 0, 0, 0] + [0]) == .invalidFlag(4),
                "a digest in place of the members, and members")
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [3] + id8 + id8 + [0, 0]) == nil)
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [2] + id8 + [0, 0]) == .truncated(offset: 17), "the digest is missing")
        let payload: [UInt8] = [1, 1, UInt8(ascii: "k"), 1, 0]   // one payload: key "k", version 1, empty value
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [0] + id8 + [0] + payload) == nil)
        #expect(decodeError(header(MessageKind.pushPullRequest.rawValue) + [2] + id8 + id8 + [0] + payload) == .invalidFlag(2),
                "a digest in place of the payloads, and payloads")
        let nack = codec.encode(.nack(Nack(sequence: 1, source: NodeID(2))))
        #expect(decodeError(nack + [0]) == .trailingBytes(count: 1))
        #expect(decodeError(nack + [1, 2, 3]) == .trailingBytes(count: 3))
    }

    @Test func oversizedInputIsRejectedWithoutParsing() {
        let big = header(MessageKind.gossip.rawValue) + [UInt8](repeating: 0, count: WireLimits.maximumMessageSize)
        #expect(decodeError(big) == .tooLarge(size: big.count, limit: WireLimits.maximumMessageSize))
    }

    @Test func sendersAreStoppedAtTheBoundsReceiversEnforce() {
        let longAddress = Address(String(repeating: "a", count: 256))
        let gossip = Message.gossip(GossipMessage(source: NodeID(1), piggyback: [.alive(id: NodeID(2), incarnation: 1, address: longAddress, metadata: [])]))
        #expect(throws: WireError.lengthOutOfBounds(.address, length: 256, limit: 255)) { try WireLimits.check(gossip) }
        #expect(decodeError(codec.encode(gossip)) == .lengthOutOfBounds(.address, length: 256, limit: 255))
        let payload = Message.gossip(GossipMessage(source: NodeID(1), piggyback: [.payload(AppPayload(key: "k", version: 1, value: [UInt8](repeating: 0, count: 1025)))]))
        #expect(throws: WireError.lengthOutOfBounds(.payloadValue, length: 1025, limit: 1024)) { try WireLimits.check(payload) }
        let metadata = Message.pushPullRequest(PushPullState(join: false, source: NodeID(1), members: [
            Member(id: NodeID(2), address: "x", incarnation: 0, state: .alive, metadata: [UInt8](repeating: 0, count: 513))], payloads: []))
        #expect(throws: WireError.lengthOutOfBounds(.metadata, length: 513, limit: 512)) { try WireLimits.check(metadata) }
        var random = RandomMessages(seed: 0xB0B)
        for _ in 0..<200 { #expect(throws: Never.self) { try WireLimits.check(random.message()) } }
    }

    @Test func clusterHashIsTheFirstFourBytesOfSHA256() {
        // SHA-256("abc") = ba7816bf 8f01cfea ...
        #expect(ClusterHash(clusterName: "abc").rawValue == 0xBA78_16BF)
        #expect(ClusterHash(clusterName: "prod") != ClusterHash(clusterName: "staging"))
    }
}
