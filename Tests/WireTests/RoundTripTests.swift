import Testing
import SWIM
@testable import Wire

let testCluster = ClusterHash(rawValue: 0x1CE5_ED01)
let codec = WireCodec(cluster: testCluster)

@Suite struct RoundTripTests {
    @Test(arguments: MessageKind.allCases)
    func everyMessageKindRoundTrips(kind: MessageKind) throws {
        var random = RandomMessages(seed: 0xC0DEC + UInt64(kind.rawValue))
        let count = (kind == .pushPullRequest || kind == .pushPullResponse) ? 150 : 400
        for _ in 0..<count {
            let message = random.message(kind)
            let bytes = codec.encode(message)
            #expect(bytes.count == WireSize.of(message))
            #expect(bytes[7] == kind.rawValue)
            #expect(try codec.decode(bytes) == message)
        }
    }

    @Test(arguments: 0..<RandomMessages.gossipCaseCount)
    func everyGossipCaseRoundTrips(gossipCase: Int) throws {
        var random = RandomMessages(seed: 0x6055_1900 + UInt64(gossipCase))
        for round in 0..<300 {
            let updates = (0..<(1 + round % 6)).map { _ in random.gossip(case: gossipCase) }
            let carrier = [MessageKind.ping, .pingReq, .ack, .gossip][round % 4]
            let message = random.message(carrier).withPiggyback(updates)
            let bytes = codec.encode(message)
            #expect(bytes.count == WireSize.of(message))
            #expect(try codec.decode(bytes).piggyback == updates)
        }
    }

    /// The core fills piggyback budgets from `WireSize` without encoding: its per-part sizes must
    /// add up to the real encoding.
    @Test func sizeModelAgreesWithEncodingPartByPart() {
        var random = RandomMessages(seed: 0x5125)
        for _ in 0..<2_000 {
            let message = random.message()
            let full = codec.encode(message).count
            #expect(full == WireSize.of(message))
            switch message {
            case .nack, .pushPullRequest, .pushPullResponse, .app:
                #expect(WireSize.fixedPart(of: message) == full)
            case .ping, .pingReq, .ack, .gossip:
                let piggyback = message.piggyback
                #expect(WireSize.fixedPart(of: message) + WireSize.of(piggyback: piggyback) == full)
                // With no updates, what remains is the fixed part plus a one-byte count of zero.
                let bare = codec.encode(message.withPiggyback([])).count
                #expect(bare == WireSize.fixedPart(of: message) + 1)
                // Each update adds exactly its modelled size (the one-byte count stays one byte).
                let gossip = random.gossip()
                let one = codec.encode(message.withPiggyback([gossip])).count
                #expect(one - bare == WireSize.of(gossip))
            }
        }
    }

    @Test func extremeValuesRoundTrip() throws {
        let longAddress = Address(String(repeating: "€", count: 85))  // 255 bytes of 3-byte scalars
        let metadata = [UInt8](repeating: 0xFF, count: Member.maximumMetadataLength)
        let payload = AppPayload(key: String(repeating: "k", count: AppPayload.maximumKeyLength), version: .max,
                                 value: [UInt8](repeating: 0, count: AppPayload.maximumValueLength))
        let piggyback: [Gossip] = [
            .alive(id: NodeID(.max), incarnation: .max, address: longAddress, metadata: metadata),
            .alive(id: NodeID(0), incarnation: 0, address: "", metadata: []),
            .suspect(id: NodeID(0), incarnation: .max, suspecter: NodeID(.max)),
            .dead(id: NodeID(.max), incarnation: 1 << 63, declarer: NodeID(0)),
            .left(id: NodeID(1), incarnation: 127),
            .payload(payload),
            .payload(AppPayload(key: "", version: 0, value: [])),
        ]
        let messages: [Message] = [
            .ping(Ping(sequence: .max, target: NodeID(.max), source: NodeID(0), piggyback: piggyback)),
            .pingReq(PingRequest(sequence: 0, target: NodeID(0), targetAddress: longAddress, source: NodeID(.max), piggyback: piggyback)),
            .ack(Ack(sequence: 1 << 31, source: NodeID(.max), piggyback: piggyback)),
            .nack(Nack(sequence: .max, source: NodeID(.max))),
            .gossip(GossipMessage(source: NodeID(0), piggyback: [])),
            .pushPullRequest(PushPullState(join: true, source: NodeID(.max), members: [], payloads: [])),
            .pushPullResponse(PushPullState(join: false, source: NodeID(0), members: [
                Member(id: NodeID(.max), address: longAddress, incarnation: .max, state: .left, metadata: metadata),
                Member(id: NodeID(0), address: "", incarnation: 0, state: .alive),
            ], payloads: [payload])),
        ]
        for message in messages {
            let bytes = codec.encode(message)
            #expect(bytes.count == WireSize.of(message))
            #expect(try codec.decode(bytes) == message)
            #expect(codec.encode(try codec.decode(bytes)) == bytes)
        }
    }

    /// Pins the layout FORMAT.md documents, byte for byte.
    @Test func goldenBytesMatchFormatDocument() {
        let ping = Message.ping(Ping(sequence: 300, target: NodeID(0x0102_0304_0506_0708), source: NodeID(9)))
        #expect(hex(codec.encode(ping)) == "4c4d01 1ce5ed01 01 ac02 0102030405060708 0000000000000009 00".filter { $0 != " " })

        let ack = Message.ack(Ack(sequence: 5, source: NodeID(2), piggyback: [
            .alive(id: NodeID(3), incarnation: 1, address: "a:1", metadata: [0xAB]),
            .suspect(id: NodeID(4), incarnation: 2, suspecter: NodeID(5)),
            .left(id: NodeID(6), incarnation: 0),
            .payload(AppPayload(key: "k", version: 128, value: [7])),
        ]))
        #expect(hex(codec.encode(ack)) == [
            "4c4d01 1ce5ed01 03", "05", "0000000000000002", "04",
            "01 0000000000000003 01 03613a31 01ab",
            "02 0000000000000004 02 0000000000000005",
            "04 0000000000000006 00",
            "05 016b 8001 0107",
        ].joined().filter { $0 != " " })

        let state = Message.pushPullResponse(PushPullState(join: true, source: NodeID(1), members: [
            Member(id: NodeID(2), address: "b", incarnation: 3, state: .suspect, metadata: []),
        ], payloads: []))
        #expect(hex(codec.encode(state)) == "4c4d01 1ce5ed01 07 01 0000000000000001 01 0000000000000002 0162 03 01 00 00".filter { $0 != " " })
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
