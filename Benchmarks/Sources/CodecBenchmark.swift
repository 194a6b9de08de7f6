import Crypto
import Foundation
import SWIM
import Wire
import AgentHarness

/// Throughput of the wire format in process: encode and decode (`WireCodec`, plain), seal and open
/// (`PacketCodec` with AES-256-GCM), for the messages an agent sends most: a ping carrying a few
/// updates, a bare ack, and a push-pull of 100 members. Each case is repeated; the median and the
/// spread of the repetitions are reported (single-threaded: one core of a shared machine).
public enum CodecBenchmark {
    public struct Case: Codable, Sendable {
        public var message: String
        public var operation: String
        /// Bytes of the input or output packet: plain size for encode/decode, sealed for seal/open.
        public var packetBytes: Int
        /// Median over the repetitions, and the slowest and fastest repetition.
        public var messagesPerSecond: Double
        public var slowestMessagesPerSecond: Double
        public var fastestMessagesPerSecond: Double
        public var megabytesPerSecond: Double
        public var repetitions: Int
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "codec"
        public var date: String
        var machine: MachineDescription
        public var cases: [Case]
    }

    /// The messages measured, with names for the table.
    static func typicalMessages() -> [(name: String, message: Message)] {
        let address = Address("127.0.0.1:7946")
        let metadata = [UInt8](repeating: 0x5A, count: 24)
        let updates: [Gossip] = [
            .alive(id: NodeID(0xA1), incarnation: 3, address: address, metadata: metadata),
            .suspect(id: NodeID(0xA2), incarnation: 1, suspecter: NodeID(0xA3)),
            .dead(id: NodeID(0xA4), incarnation: 2, declarer: NodeID(0xA3)),
        ]
        var members: [Member] = []
        for i in 0..<100 {
            let address = Address("10.0.0.\(i + 1):7946")
            let state: MemberState = i % 17 == 0 ? .suspect : .alive
            members.append(Member(id: NodeID(UInt64(0x1000 + i)), address: address, incarnation: UInt64(i % 5), state: state,
                                  metadata: [UInt8](repeating: 0x4C, count: 24)))
        }
        return [
            ("ping + 3 updates", .ping(Ping(sequence: 77, target: NodeID(0xB1), source: NodeID(0xB2), piggyback: updates))),
            ("ack", .ack(Ack(sequence: 77, source: NodeID(0xB1)))),
            ("push-pull, 100 members", .pushPullResponse(PushPullState(join: false, source: NodeID(0xB1), members: members, payloads: []))),
        ]
    }

    public static func run(repetitions: Int, secondsPerRepetition: Double, resultsDirectory: String,
                           print log: (String) -> Void) throws -> Results {
        let machine = MachineDescription.current()
        log("codec benchmark: \(repetitions) repetitions of about \(formatFixed(secondsPerRepetition, 2)) s per case, one thread")
        log("machine: \(machine.summary)")
        let plain = WireCodec(cluster: ClusterHash(clusterName: "bench"))
        let keyring = Keyring(primary: SymmetricKey.random())
        var cases: [Case] = []
        for (name, message) in typicalMessages() {
            let encoded = plain.encode(message)
            guard (try? plain.decode(encoded)) == message else {
                throw BenchmarkError("codec benchmark: \(name) does not decode to itself; the wire format has a bug")
            }
            let sealedSize = try PacketCodec(cluster: plain.cluster, security: .encrypted(keyring)).seal(message).count

            cases.append(measure(name, "encode", encoded.count, repetitions, secondsPerRepetition) { count in
                var sink = 0
                for _ in 0..<count { sink &+= plain.encode(message).count }
                return sink
            })
            cases.append(measure(name, "decode", encoded.count, repetitions, secondsPerRepetition) { count in
                var sink = 0
                for _ in 0..<count { if (try? plain.decode(encoded)) != nil { sink &+= 1 } }
                return sink
            })
            cases.append(measure(name, "seal", sealedSize, repetitions, secondsPerRepetition) { count in
                let sealer = PacketCodec(cluster: plain.cluster, security: .encrypted(keyring))
                var sink = 0
                for _ in 0..<count { sink &+= (try? sealer.seal(message).count) ?? 0 }
                return sink
            })
            // Open needs distinct packets (a replay is refused): seal a batch outside the timing.
            cases.append(measure(name, "open", sealedSize, repetitions, secondsPerRepetition, prepare: { count in
                let sealer = PacketCodec(cluster: plain.cluster, security: .encrypted(keyring))
                return (0..<count).compactMap { _ in try? sealer.seal(message) }
            }) { packets in
                let opener = PacketCodec(cluster: plain.cluster, security: .encrypted(keyring))
                var sink = 0
                for packet in packets { if (try? opener.open(packet)) != nil { sink &+= 1 } }
                return sink
            })
        }
        log(table(cases))
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), machine: machine, cases: cases)
        log("wrote \(try BenchmarkResults.write(results, name: "bench-codec.json", directory: resultsDirectory))")
        return results
    }

    /// Times `body(count)` with `count` calibrated so that one repetition lasts about `seconds`.
    private static func measure(_ name: String, _ operation: String, _ bytes: Int, _ repetitions: Int, _ seconds: Double,
                                _ body: (Int) -> Int) -> Case {
        measure(name, operation, bytes, repetitions, seconds, prepare: { $0 }, body)
    }

    private static func measure<Input>(_ name: String, _ operation: String, _ bytes: Int, _ repetitions: Int, _ seconds: Double,
                                       prepare: (Int) -> Input, _ body: (Input) -> Int) -> Case {
        let clock = ContinuousClock()
        // Calibrate: double the count until one run takes a tenth of the target, then scale.
        // Inputs are bounded to 256 MB of packets (open prepares them in memory).
        let limit = max(1_000, 256 << 20 / max(bytes, 1))
        var count = 100
        while count < limit {
            let input = prepare(count)
            let elapsed = clock.measure { _ = body(input) }.seconds
            if elapsed >= seconds / 10 { count = min(limit, Int(Double(count) * seconds / max(elapsed, 1e-9))); break }
            count *= 2
        }
        count = max(1, min(count, limit))
        var rates: [Double] = []
        var sink = 0
        for _ in 0..<repetitions {
            let input = prepare(count)
            let elapsed = clock.measure { sink &+= body(input) }.seconds
            rates.append(Double(count) / max(elapsed, 1e-9))
        }
        if sink == 42 { print("") }  // keeps the work observable to the optimizer
        rates.sort()
        let median = rates[rates.count / 2]
        return Case(message: name, operation: operation, packetBytes: bytes, messagesPerSecond: median,
                    slowestMessagesPerSecond: rates.first ?? 0, fastestMessagesPerSecond: rates.last ?? 0,
                    megabytesPerSecond: median * Double(bytes) / 1e6, repetitions: repetitions)
    }

    static func table(_ cases: [Case]) -> String {
        var rows = [["message", "operation", "bytes", "messages/s", "MB/s", "slowest..fastest run (messages/s)"]]
        for c in cases {
            rows.append([c.message, c.operation, "\(c.packetBytes)", thousands(c.messagesPerSecond),
                         formatFixed(c.megabytesPerSecond, 1), thousands(c.slowestMessagesPerSecond) + " .. " + thousands(c.fastestMessagesPerSecond)])
        }
        return TextFormat.table(rows) + "\n  (single thread; throughput depends on CPU: 2 cores shared with other developers' builds)"
    }

    static func thousands(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
}
