import Testing
import SWIM
@testable import Wire

@Suite struct DecoderFuzzTests {
    /// 100,000 random and damaged packets: the decoder must return or throw every time (a trap would
    /// end the test process), and whatever it accepts must be canonical: re-encoding the message
    /// gives the very same bytes, which decode to the same message.
    @Test func decoderIsTotalAndCanonicalOnDamagedPackets() throws {
        var random = RandomMessages(seed: 0xF022)
        random.maximumStateEntries = 6
        let valid = (0..<400).map { _ in codec.encode(random.message()) }
        var mutator = PacketMutator(seed: 0xF023, valid: valid)

        var accepted = 0
        var rejectedByKind: [WireError.Kind: Int] = [:]
        for _ in 0..<100_000 {
            let packet = mutator.packet()
            do {
                let message = try codec.decode(packet)
                accepted += 1
                let again = codec.encode(message)
                #expect(again == packet)
                #expect(try codec.decode(again) == message)
            } catch {
                rejectedByKind[error.kind, default: 0] += 1
            }
        }
        // The mutations must reach deep into the format, not stop at the header.
        #expect(accepted > 1_000)
        let expectedKinds: [WireError.Kind] = [.truncated, .badMagic, .unsupportedVersion, .wrongCluster, .unknownType,
                                               .unknownGossipTag, .lengthOutOfBounds, .countOutOfBounds, .overlongVarint,
                                               .varintOverflow, .invalidUTF8, .invalidState, .invalidFlag, .trailingBytes]
        for kind in expectedKinds {
            #expect(rejectedByKind[kind, default: 0] > 0, "no packet rejected as \(kind)")
        }
    }
}
