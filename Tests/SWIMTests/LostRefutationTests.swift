import Testing
@testable import SWIM

/// Two ways a live member was suspected, and then declared dead, although it had spoken (found by the
/// 10,000-run catalogue: rolling-start seed 218, short-partition-available seed 567).
@Suite struct LostRefutationTests {
    /// The member refuted, but its refutation to the accuser was lost and gossip missed the accuser;
    /// the accuser's next ping carries the old suspicion: the member tells it again, directly.
    @Test func aStaleAccusationIsAnsweredWithTheCurrentIncarnation() {
        var swim = instance(1, knowing: [member(2), member(3)])
        let accusation = GossipMessage(source: NodeID(2), piggyback: [.suspect(id: NodeID(1), incarnation: 0, suspecter: NodeID(2))])
        _ = swim.receive(.gossip(accusation), from: address(2), now: t0)
        #expect(swim.myself.incarnation == 1, "refuted once")
        let again = swim.receive(.gossip(accusation), from: address(2), now: t0 + ms(10))
        let toAccuser = again.sends.filter { $0.1 == address(2) }.flatMap(\.0.piggyback)
        #expect(toAccuser.contains(.alive(id: NodeID(1), incarnation: 1, address: address(1), metadata: [])),
                "the accuser hears the current incarnation again")
        #expect(swim.myself.incarnation == 1, "no second refutation: the first one stands")
    }

    /// A request to a member timed out, so it is probed out of band; its answer to the request then
    /// arrives while the probe's pings are lost. Its message counts as the probe's ack.
    @Test func aMessageFromAProbedMemberIsAsGoodAsItsAck() {
        func run(answering: Bool) -> MemberState? {
            var swim = instance(1, knowing: [member(2), member(3)], settings: classic)
            _ = swim.probeNow(NodeID(2), now: t0)
            if answering {
                _ = swim.receive(.app(AppMessage(source: NodeID(2), bytes: [1])), from: address(2), now: t0 + ms(5))
            }
            _ = swim.tick(now: t0 + .seconds(3))
            return swim.member(NodeID(2))?.state
        }
        #expect(run(answering: false) == .suspect, "no word from it: suspected, as before")
        #expect(run(answering: true) == .alive)
    }

    /// The same for the round-robin probe: the member's message arrives while the probe's ping is lost.
    @Test func aMessageDuringTheRoundRobinProbeIsAsGoodAsItsAck() {
        func run(answering: Bool) -> MemberState? {
            var swim = instance(1, knowing: [member(2)], settings: classic)
            let started = swim.tick(now: t0 + .seconds(1))
            guard started.pings.contains(where: { $0.1 == address(2) }) else { return nil }
            if answering {
                _ = swim.receive(.app(AppMessage(source: NodeID(2), bytes: [1])), from: address(2), now: t0 + .seconds(1) + ms(5))
            }
            _ = swim.tick(now: t0 + .seconds(1) + ms(1_900))
            return swim.member(NodeID(2))?.state
        }
        #expect(run(answering: false) == .suspect)
        #expect(run(answering: true) == .alive)
    }

    /// `watch`: a ping over a datagram and one over a stream, no helpers; no answer on either within
    /// the probe timeout makes the member suspect, an answer on either keeps it alive.
    @Test func aWatchPingsOverADatagramAndAStreamAndSuspectsOnlyWithoutAnAnswer() {
        func run(answerOverStream: Bool?) -> MemberState? {
            var swim = instance(1, knowing: [member(2), member(3), member(4)], settings: classic)
            let sent = swim.watch(NodeID(2), now: t0)
            let streamPings = sent.compactMap { if case .streamPing(let ping, let to) = $0, to == address(2) { ping } else { nil } }
            #expect(sent.pings.map(\.1) == [address(2)] && streamPings.count == 1)
            #expect(!sent.contains { if case .send(.pingReq, _) = $0 { true } else { false } }, "no helpers")
            if let overStream = answerOverStream, let ping = streamPings.first {
                _ = swim.receive(.ack(Ack(sequence: ping.sequence, source: NodeID(2))), from: address(2),
                                 over: overStream ? .stream : .datagram, now: t0 + ms(5))
            }
            _ = swim.tick(now: t0 + ms(600))
            return swim.member(NodeID(2))?.state
        }
        #expect(run(answerOverStream: nil) == .suspect)
        #expect(run(answerOverStream: true) == .alive)
        #expect(run(answerOverStream: false) == .alive)
    }

    /// An out-of-band probe's ping is lost while the member acks our round-robin probe: that ack answers
    /// both (found while trying a watch of the authority: rolling-start seed 35 suspected a member
    /// 50 ms after it had acked).
    @Test func anAckToOneProbeAnswersEveryOpenProbeOfTheMember() {
        func run(acking: Bool) -> MemberState? {
            var swim = instance(1, knowing: [member(2)], settings: classic)
            let started = swim.tick(now: t0 + .seconds(1))
            guard let roundRobin = started.pings.first(where: { $0.1 == address(2) })?.0 else { return nil }
            _ = swim.probeNow(NodeID(2), now: t0 + .seconds(1) + ms(1))   // its datagrams are lost
            if acking {
                _ = swim.receive(.ack(Ack(sequence: roundRobin.sequence, source: NodeID(2))), from: address(2), now: t0 + .seconds(1) + ms(5))
            }
            _ = swim.tick(now: t0 + .seconds(1) + ms(600))   // past the out-of-band probe's timeout, within the period
            return swim.member(NodeID(2))?.state
        }
        #expect(run(acking: false) == .suspect, "no answer at all: suspected by the out-of-band probe")
        #expect(run(acking: true) == .alive)
    }
}
