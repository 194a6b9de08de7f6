import Testing
import Crypto
import SWIM
@testable import Wire

let keyA = try! SymmetricKey(bytes: [UInt8](repeating: 0xA1, count: 32))
let keyB = try! SymmetricKey(bytes: [UInt8](repeating: 0xB2, count: 32))

func sealedCodec(_ primary: SymmetricKey, accepting others: [SymmetricKey] = [], session: EnvelopeSession? = nil) -> PacketCodec {
    let keyring = Keyring(primary: primary, alsoAccepting: others)
    guard let session else { return PacketCodec(cluster: testCluster, security: .encrypted(keyring)) }
    return PacketCodec(cluster: testCluster, security: .encrypted(keyring), session: session)
}

func openError(_ codec: PacketCodec, _ packet: [UInt8]) -> WireError? {
    do { _ = try codec.open(packet); return nil } catch { return error }
}

@Suite struct EncryptionTests {
    @Test(arguments: MessageKind.allCases)
    func sealedPacketsRoundTripWithExactlyTheModelledOverhead(kind: MessageKind) throws {
        let sender = sealedCodec(keyA)
        let receiver = sealedCodec(keyA)
        var random = RandomMessages(seed: 0x5EA1 + UInt64(kind.rawValue))
        random.maximumStateEntries = 10
        for _ in 0..<60 {
            let message = random.message(kind)
            let packet = try sender.seal(message)
            #expect(packet.count == WireSize.of(message) + WireSize.encryptionOverhead)
            // The header travels in clear, marked sealed.
            #expect(Array(packet[0..<7]) == Array(codec.encode(message)[0..<7]))
            #expect(packet[7] == kind.rawValue | WireHeader.sealedFlag)
            #expect(try receiver.open(packet) == message)
        }
    }

    @Test func sealingUsesAFreshNonceEveryTime() throws {
        let sender = sealedCodec(keyA)
        let message = Message.nack(Nack(sequence: 1, source: NodeID(1)))
        let first = try sender.seal(message), second = try sender.seal(message)
        #expect(first[8..<20] != second[8..<20])
        #expect(first != second)
    }

    @Test func wrongKeyIsRejected() throws {
        let packet = try sealedCodec(keyA).seal(.ping(Ping(sequence: 7, target: NodeID(1), source: NodeID(2))))
        #expect(openError(sealedCodec(keyB), packet) == .authenticationFailed)
    }

    @Test func everyTruncationIsRejected() throws {
        let receiver = sealedCodec(keyA)
        let packet = try sealedCodec(keyA).seal(.ack(Ack(sequence: 7, source: NodeID(2), piggyback: [.left(id: NodeID(3), incarnation: 4)])))
        for cut in 0..<packet.count {
            let error = openError(receiver, Array(packet[0..<cut]))
            // Shorter than header + nonce + tag: truncated; otherwise the tag no longer verifies.
            #expect(error == (cut < 36 ? .truncated(offset: cut < 8 ? (cut < 2 ? 0 : 2) : 8) : .authenticationFailed), "cut at \(cut)")
        }
        #expect(try receiver.open(packet).kind == .ack)
    }

    /// Every bit of a sealed packet matters: the header is authenticated data, the rest is nonce,
    /// ciphertext and tag.
    @Test func everyFlippedBitIsRejected() throws {
        let receiver = sealedCodec(keyA)
        let packet = try sealedCodec(keyA).seal(.gossip(GossipMessage(source: NodeID(9), piggyback: [
            .suspect(id: NodeID(4), incarnation: 2, suspecter: NodeID(9))])))
        for byte in 0..<packet.count {
            for bit in 0..<8 {
                var damaged = packet
                damaged[byte] ^= 1 << UInt8(bit)
                let error = openError(receiver, damaged)
                #expect(error != nil, "flip of bit \(bit) of byte \(byte) accepted")
                if byte >= WireSize.header {
                    #expect(error == .authenticationFailed)
                }
            }
        }
        // The header flips are caught by the header checks or, for the type's kind bits, by the tag.
        var kindChanged = packet
        kindChanged[7] ^= 0x01
        #expect(openError(receiver, kindChanged) == .authenticationFailed)
        var flagCleared = packet
        flagCleared[7] &= ~WireHeader.sealedFlag
        #expect(openError(receiver, flagCleared) == .notEncrypted)
        #expect(try receiver.open(packet).kind == .gossip)
    }

    @Test func exactReplaysAreRejected() throws {
        let sender = sealedCodec(keyA)
        let receiver = sealedCodec(keyA)
        let packet = try sender.seal(.ping(Ping(sequence: 1, target: NodeID(1), source: NodeID(2))))
        #expect(try receiver.open(packet).kind == .ping)
        #expect(openError(receiver, packet) == .replayed)
        #expect(openError(receiver, packet) == .replayed)
        // Another receiver has its own window.
        #expect(try sealedCodec(keyA).open(packet).kind == .ping)
        // The same message sealed again is not a replay: it has the next counter.
        #expect(try receiver.open(try sender.seal(.ping(Ping(sequence: 1, target: NodeID(1), source: NodeID(2))))).kind == .ping)
    }

    @Test func forgeriesDoNotEnterTheFreshnessTable() throws {
        let receiver = sealedCodec(keyA)
        let genuine = try sealedCodec(keyA).seal(.nack(Nack(sequence: 1, source: NodeID(1))))
        // A forger reuses the genuine nonce with garbage: rejected as unauthenticated, and the
        // genuine packet still gets through afterwards.
        var forged = genuine
        forged[forged.count - 1] ^= 0xFF
        #expect(openError(receiver, forged) == .authenticationFailed)
        #expect(try receiver.open(genuine).kind == .nack)
    }

    @Test func plainAndSealedModesRejectEachOther() throws {
        let plain = PacketCodec(cluster: testCluster, security: .plain)
        let sealed = sealedCodec(keyA)
        let message = Message.nack(Nack(sequence: 3, source: NodeID(4)))
        #expect(openError(sealed, try plain.seal(message)) == .notEncrypted)
        #expect(openError(plain, try sealed.seal(message)) == .unexpectedEncryption)
        #expect(try plain.open(try plain.seal(message)) == message)
        #expect(plain.overhead == 0 && sealed.overhead == 52)
    }

    @Test func otherClustersAreRejectedBeforeDecryption() throws {
        let other = PacketCodec(clusterName: "another", security: .encrypted(Keyring(primary: keyA)))
        let packet = try other.seal(.nack(Nack(sequence: 3, source: NodeID(4))))
        #expect(openError(sealedCodec(keyA), packet) == .wrongCluster)
    }

    /// Rotation without downtime: receivers accept A and B while senders still use A; then senders
    /// move to B; then A can be dropped. A receiver that only knows A rejects B.
    @Test func keysRotateWithoutRejectingAnything() throws {
        let message = Message.ping(Ping(sequence: 11, target: NodeID(1), source: NodeID(2)))
        let onlyA = sealedCodec(keyA)
        let acceptingBoth = sealedCodec(keyA, accepting: [keyB])
        let newPrimaryB = sealedCodec(keyB, accepting: [keyA])
        let onlyB = sealedCodec(keyB)

        let fromA = try onlyA.seal(message)
        #expect(try acceptingBoth.open(fromA) == message)
        #expect(try newPrimaryB.open(fromA) == message)
        let fromB = try newPrimaryB.seal(message)
        #expect(try acceptingBoth.open(fromB) == message)
        #expect(try onlyB.open(fromB) == message)
        #expect(try sealedCodec(keyA, accepting: [keyB]).open(try onlyB.seal(message)) == message)
        #expect(openError(onlyA, try onlyB.seal(message)) == .authenticationFailed)
        #expect(openError(onlyB, try onlyA.seal(message)) == .authenticationFailed)
    }

    /// Damaged sealed packets never get through, whatever the damage.
    @Test func damagedSealedPacketsAreAllRejected() throws {
        let sender = sealedCodec(keyA)
        let receiver = sealedCodec(keyA, accepting: [keyB])
        var random = RandomMessages(seed: 0xDA3A)
        random.maximumStateEntries = 4
        let valid = try (0..<100).map { _ in try sender.seal(random.message()) }
        var mutator = PacketMutator(seed: 0xDA3B, valid: valid)
        var rejected = 0
        for _ in 0..<5_000 {
            let packet = mutator.packet()
            if valid.contains(packet) { continue }
            #expect(openError(receiver, packet) != nil)
            rejected += 1
        }
        #expect(rejected > 4_500)
    }

    @Test func oversizedValuesAreRefusedAtTheSender() {
        let message = Message.gossip(GossipMessage(source: NodeID(1), piggyback: [
            .payload(AppPayload(key: String(repeating: "k", count: 129), version: 1, value: []))]))
        #expect(throws: WireError.lengthOutOfBounds(.payloadKey, length: 129, limit: 128)) { try sealedCodec(keyA).seal(message) }
        #expect(throws: WireError.lengthOutOfBounds(.payloadKey, length: 129, limit: 128)) {
            try PacketCodec(cluster: testCluster, security: .plain).seal(message)
        }
    }
}
