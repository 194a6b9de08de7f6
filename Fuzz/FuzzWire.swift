// libFuzzer entry point for the Wire decoder. Built and run by Fuzz/run.sh, not by `swift test`.
//
// Every input goes through the plain decoder, both packet codecs and the stream framer. A crash,
// a trap, an ASan report, or a broken property below (fatalError) is a finding.
import Crypto
import SWIM
import Wire

let cluster = ClusterHash(clusterName: "fuzz")
let plain = WireCodec(cluster: cluster)
let plainPackets = PacketCodec(cluster: cluster, security: .plain)
// A fixed key, so that Fuzz/corpus can hold sealed packets that authenticate.
let key = try! SymmetricKey(bytes: Array(0..<32))
let keyring = Keyring(primary: key)
/// A fixed envelope identity: corpus entries are sealed by node 1 in boot 1 (Fuzz/GenerateCorpus.swift).
func freshSession() -> EnvelopeSession { EnvelopeSession(sender: EnvelopeSender(id: NodeID(1), boot: 1)) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)

    if let message = try? plain.decode(input) {
        // Whatever decodes is canonical, within every bound, and sized as WireSize predicts.
        let again = plain.encode(message)
        guard again.elementsEqual(input) else { fatalError("decoded packet does not re-encode to the same bytes") }
        guard WireSize.of(message) == size else { fatalError("WireSize disagrees with a decoded packet") }
        guard (try? WireLimits.check(message)) != nil else { fatalError("decoder accepted a value beyond its bound") }
        guard (try? plainPackets.open(input)) == message else { fatalError("plain PacketCodec disagrees with WireCodec") }
        // And it survives sealing.
        let sealer = PacketCodec(cluster: cluster, security: .encrypted(keyring), session: freshSession())
        guard let sealed = try? sealer.seal(message), (try? sealer.open(sealed)) == message else {
            fatalError("sealed round trip failed")
        }
    }

    // A fresh receiver per input, so a sealed corpus entry is not a replay next time.
    let receiver = PacketCodec(cluster: cluster, security: .encrypted(keyring), session: freshSession())
    if let message = try? receiver.open(input) {
        guard WireSize.of(message) + WireSize.encryptionOverhead == size else { fatalError("sealed size mismatch") }
        guard (try? receiver.open(input)) == nil else { fatalError("replay accepted") }
    }

    // Frames: walk the input as a stream, opening each frame as a plain packet.
    var rest = Array(input)[...]
    while let frame = try? StreamFrame.next(in: rest, maximumLength: 1 << 16) {
        _ = try? plainPackets.open(frame.packet)
        rest = rest.dropFirst(frame.consumed)
    }
    return 0
}
