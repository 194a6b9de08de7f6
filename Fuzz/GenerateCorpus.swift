// Writes the seed corpus for FuzzWire: valid plain and sealed packets of every kind, and a few
// stream frames. Compiled by Fuzz/make-corpus.sh together with Tests/WireTests/RandomMessages.swift.
import Crypto
import Foundation
import SWIM
import Wire

@main
struct GenerateCorpus {
    static func main() throws {
        let directory = CommandLine.arguments.dropFirst().first ?? "Fuzz/corpus"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cluster = ClusterHash(clusterName: "fuzz")
        let plain = WireCodec(cluster: cluster)
        let sealed = PacketCodec(cluster: cluster, security: .encrypted(Keyring(primary: try SymmetricKey(bytes: Array(0..<32)))),
                                 session: EnvelopeSession(sender: EnvelopeSender(id: NodeID(1), boot: 1)))
        var random = RandomMessages(seed: 0xF0_22_C0_DE)
        random.maximumStateEntries = 5
        var written = 0
        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
            written += 1
        }
        for kind in MessageKind.allCases {
            for index in 0..<30 {
                let message = random.message(kind)
                try write("\(kind)-\(index)", plain.encode(message))
                if index < 5 { try write("\(kind)-sealed-\(index)", try sealed.seal(message)) }
            }
        }
        for index in 0..<5 {
            let frames = try (0..<3).flatMap { _ in try StreamFrame.frame(plain.encode(random.message(.ack))) }
            try write("frames-\(index)", frames)
        }
        print("wrote \(written) seed packets to \(directory)")
    }
}
