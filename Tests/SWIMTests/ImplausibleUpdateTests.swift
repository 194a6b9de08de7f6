import Testing
@testable import SWIM

/// Issue 10, finding 1: one datagram with an incarnation of 2^64-1 made its subject refute with one
/// more (an arithmetic overflow: the agent crashed, and gossip crashed it again after each restart).
@Suite struct ImplausibleUpdateTests {
    @Test func anAbsurdIncarnationAboutUsIsDroppedAndCountedNotRefuted() {
        var swim = instance(1, knowing: [member(2)])
        let absurd = [UInt64.max, UInt64.max - 1, Member.maximumIncarnation, Member.maximumFreeIncarnation + Member.maximumIncarnationJump + 1]
        for incarnation in absurd {
            for gossip in [Gossip.suspect(id: NodeID(1), incarnation: incarnation, suspecter: NodeID(2)),
                           .dead(id: NodeID(1), incarnation: incarnation, declarer: NodeID(2)),
                           .alive(id: NodeID(1), incarnation: incarnation, address: address(1), metadata: [1])] {
                _ = swim.receive(.gossip(GossipMessage(source: NodeID(2), piggyback: [gossip])), from: address(2), now: t0)
            }
        }
        #expect(swim.myself.incarnation == 0, "never adopted")
        #expect(swim.metrics.implausibleUpdates == 12)
        #expect(swim.metrics.refutations == 0)
        // Below the free bound a claim is believed and refuted, however far above ours.
        _ = swim.receive(.gossip(GossipMessage(source: NodeID(2), piggyback: [.dead(id: NodeID(1), incarnation: 1 << 40, declarer: NodeID(2))])),
                         from: address(2), now: t0)
        #expect(swim.myself.incarnation == (1 << 40) + 1)
        #expect(swim.metrics.refutations == 1)
    }

    @Test func othersDoNotAdoptWhatTheSubjectWouldRefuseToRefute() {
        let free = Member.maximumFreeIncarnation, jump = Member.maximumIncarnationJump
        var swim = instance(1, knowing: [member(2, incarnation: free + 5)])
        _ = swim.receive(.gossip(GossipMessage(source: NodeID(3), piggyback: [.dead(id: NodeID(2), incarnation: free + 5 + jump + 1, declarer: NodeID(3))])),
                         from: address(3), now: t0)
        #expect(swim.member(NodeID(2))?.state == .alive)
        _ = swim.receive(.gossip(GossipMessage(source: NodeID(3), piggyback: [.suspect(id: NodeID(2), incarnation: free + 5 + jump, suspecter: NodeID(3))])),
                         from: address(3), now: t0)
        #expect(swim.member(NodeID(2))?.state == .suspect, "within the jump: a possible life, refutable by one more")
        // A member never heard of is introduced only below the free bound.
        _ = swim.receive(.gossip(GossipMessage(source: NodeID(3), piggyback: [
            .alive(id: NodeID(9), incarnation: free, address: address(9), metadata: []),
        ])), from: address(3), now: t0)
        #expect(swim.member(NodeID(9)) == nil)
        // The same rules for a push-pull's rows.
        let state = PushPullState(join: false, source: NodeID(3), members: [member(8, incarnation: .max)], payloads: [])
        _ = swim.receive(.pushPullRequest(state), from: address(3), over: .stream, now: t0)
        #expect(swim.member(NodeID(8)) == nil)
        #expect(swim.metrics.implausibleUpdates == 3)
    }

    @Test func aPersistedFloorBeyondTheCeilingStartsBelowIt() throws {
        let swim = try SWIMInstance(id: NodeID(1), address: address(1), settings: .lan, seed: 1, incarnation: .max)
        #expect(swim.myself.incarnation < Member.maximumIncarnation)
    }
}
