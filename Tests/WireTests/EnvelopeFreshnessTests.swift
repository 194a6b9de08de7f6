import Crypto
import SWIM
import Testing
@testable import Wire

/// Envelope freshness (issue 10, finding 2): a replay from any earlier time is rejected, whatever
/// happened in between: floods of genuine packets, the receiver's restart, the sender's restart.
@Suite struct EnvelopeFreshnessTests {
    static func session(_ id: UInt64, boot: UInt64 = 1_000, floors: [SenderFloor] = [], capacity: Int = FreshnessTable.defaultCapacity) -> EnvelopeSession {
        EnvelopeSession(sender: EnvelopeSender(id: NodeID(id), boot: boot), floors: floors, capacity: capacity)
    }

    static func nack(_ sequence: UInt32) -> Message { .nack(Nack(sequence: sequence, source: NodeID(1))) }

    /// The audit flushed an 8,192-packet nonce window with 15,000 captured packets, then replayed a
    /// release. Counters only rise: no number of genuine packets, from any senders, lets it back in.
    @Test func noFloodOfGenuinePacketsLetsAnOldOneBackIn() throws {
        let receiver = sealedCodec(keyA, session: Self.session(100))
        let victim = sealedCodec(keyA, session: Self.session(1))
        let captured = try victim.seal(Self.nack(1))
        #expect(try receiver.open(captured) == Self.nack(1))
        let others = (2...5).map { sealedCodec(keyA, session: Self.session(UInt64($0))) }
        for round in 0..<4_000 {
            _ = try receiver.open(victim.seal(Self.nack(UInt32(round))))
            for other in others { _ = try receiver.open(other.seal(Self.nack(UInt32(round)))) }
        }
        #expect(openError(receiver, captured) == .replayed)
    }

    /// What a receiver accepted, its next life rejects: the floors it saved come back on restart.
    @Test func aRestartedReceiverRejectsWhatItsPreviousLifeAccepted() throws {
        let sender = sealedCodec(keyA, session: Self.session(1))
        let packets = try (0..<10).map { try sender.seal(Self.nack(UInt32($0))) }
        let before = Self.session(100)
        for packet in packets { _ = try sealedCodec(keyA, session: before).open(packet) }
        let after = sealedCodec(keyA, session: Self.session(100, floors: before.floors))
        for packet in packets { #expect(openError(after, packet) == .replayed) }
        #expect(try after.open(sender.seal(Self.nack(11))) == Self.nack(11), "the sender's next packet is fresh")
        // Without the floors (a receiver that saved nothing) the same packets would be accepted.
        #expect(try sealedCodec(keyA, session: Self.session(100)).open(packets[0]) == Self.nack(0))
    }

    /// A packet of a sender's earlier life is rejected once a later life has been seen, by this
    /// receiver's life and by the next one.
    @Test func packetsOfAnEarlierLifeOfTheSenderAreRejected() throws {
        let firstLife = EnvelopeSender(id: NodeID(1), boot: EnvelopeSender.boot(after: nil, unixMicroseconds: 5_000))
        let secondLife = EnvelopeSender(id: NodeID(1), boot: EnvelopeSender.boot(after: firstLife.boot, unixMicroseconds: 4_000))
        #expect(secondLife.boot == 5_001, "a clock set back still starts above the saved boot")
        let old = try sealedCodec(keyA, session: EnvelopeSession(sender: firstLife)).seal(Self.nack(1))
        let new = try sealedCodec(keyA, session: EnvelopeSession(sender: secondLife)).seal(Self.nack(1))
        let receiver = Self.session(100)
        #expect(try sealedCodec(keyA, session: receiver).open(new) == Self.nack(1))
        #expect(openError(sealedCodec(keyA, session: receiver), old) == .earlierLife(sender: NodeID(1), boot: 5_000, newest: 5_001))
        let restarted = sealedCodec(keyA, session: Self.session(100, floors: receiver.floors))
        #expect(openError(restarted, old)?.kind == .earlierLife)
        #expect(openError(restarted, new) == .replayed)
    }

    /// Reordering within the window is accepted once; beyond it, rejected.
    @Test func reorderingWithinTheWindowIsAcceptedOnceAndOlderPacketsAreNot() throws {
        let sender = sealedCodec(keyA, session: Self.session(1))
        let receiver = sealedCodec(keyA, session: Self.session(100))
        let packets = try (1...2_000).map { try sender.seal(Self.nack(UInt32($0))) }
        let lateWithin = 2_000 - FreshnessTable.windowSize / 2, lateBeyond = 2_000 - FreshnessTable.windowSize - 1
        for (index, packet) in packets.enumerated() where index + 1 != lateWithin && index + 1 != lateBeyond {
            _ = try receiver.open(packet)
        }
        #expect(try receiver.open(packets[lateWithin - 1]) == Self.nack(UInt32(lateWithin)))
        #expect(openError(receiver, packets[lateWithin - 1]) == .replayed)
        #expect(openError(receiver, packets[lateBeyond - 1]) == .replayed, "older than the window: never seen, still refused")
    }

    /// Stream frames are numbered apart: one sealed before a burst of datagrams is still accepted.
    @Test func streamFramesAreNotJudgedAgainstDatagrams() throws {
        let sender = sealedCodec(keyA, session: Self.session(1))
        let receiver = sealedCodec(keyA, session: Self.session(100))
        let frame = try sender.seal(Self.nack(0), over: .stream)
        for sequence in 1...3_000 { _ = try receiver.open(sender.seal(Self.nack(UInt32(sequence)))) }
        #expect(try receiver.open(frame) == Self.nack(0))
        #expect(openError(receiver, frame) == .replayed)
    }

    /// A key rotation makes a new codec on the same session: nothing accepted before comes back.
    @Test func aKeyRotationReopensNoReplay() throws {
        let session = Self.session(100)
        let receiver = sealedCodec(keyA, session: session)
        let packet = try sealedCodec(keyA, session: Self.session(1)).seal(Self.nack(1))
        _ = try receiver.open(packet)
        let rotated = receiver.replacingKeyring(Keyring(primary: keyB, alsoAccepting: [keyA]))
        #expect(openError(rotated, packet) == .replayed)
    }

    /// Senders beyond the capacity push the oldest out: a key holder inventing IDs cannot grow it.
    @Test func theTableIsBoundedAndForgetsTheOldestSenderFirst() throws {
        let receiver = Self.session(100, capacity: 4)
        let codec = sealedCodec(keyA, session: receiver)
        let senders = (1...6).map { sealedCodec(keyA, session: Self.session(UInt64($0))) }
        let first = try senders[0].seal(Self.nack(1))
        _ = try codec.open(first)
        for sender in senders.dropFirst() { _ = try codec.open(sender.seal(Self.nack(1))) }
        #expect(receiver.senderCount == 4)
        #expect(try codec.open(first) == Self.nack(1), "sender 1 was forgotten: the protocol's own rules are the last line")
    }

    /// A sealed plaintext shorter than an envelope stamp (only a key holder can make one) is refused.
    @Test func aPlaintextWithoutAStampIsRefused() throws {
        var packet: [UInt8] = []
        WireHeader.append(kind: .nack, sealed: true, cluster: testCluster, to: &packet)
        let nonce = SecureRandom.bytes(AESGCM.nonceLength)
        let sealed = try AESGCM.seal([1, 2, 3], key: keyA, nonce: nonce, authenticating: packet)
        packet += nonce + sealed.ciphertext + sealed.tag
        #expect(openError(sealedCodec(keyA), packet)?.kind == .truncated)
    }

    @Test func stampsRoundTripWithTheirChannel() {
        for channel in EnvelopeChannel.allCases {
            let stamp = EnvelopeStamp(sender: NodeID(.max), boot: .max, channel: channel, counter: (1 << 63) - 1)
            var bytes: [UInt8] = []
            stamp.append(to: &bytes)
            #expect(bytes.count == EnvelopeStamp.size)
            #expect(EnvelopeStamp(bytes[...]) == stamp)
        }
    }
}
