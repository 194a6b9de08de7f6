import Testing
@testable import SWIM

/// Every cell of SWIM's precedence table: an update of each kind, at a lower, equal and higher
/// incarnation, against a member held in each state.
@Suite struct PrecedenceTests {
    enum Relative: CaseIterable { case lower, equal, higher }
    enum Incoming: CaseIterable { case alive, suspect, dead, left }

    /// The table as the issue states it; the expected state after the update, or nil for "ignored".
    static func expected(held: MemberState, incoming: Incoming, relative: Relative) -> MemberState? {
        switch (incoming, held) {
        case (.alive, _):
            return relative == .higher ? .alive : nil
        case (.suspect, .alive):
            return relative == .lower ? nil : .suspect
        case (.suspect, .suspect):
            return relative == .higher ? .suspect : nil   // equal: a confirmation, state unchanged
        case (.suspect, .dead), (.suspect, .left):
            return nil
        case (.dead, .alive), (.dead, .suspect):
            return relative == .lower ? nil : .dead
        case (.dead, .dead), (.dead, .left):
            return nil
        case (.left, .left):
            return relative == .higher ? .left : nil
        case (.left, _):
            return relative == .lower ? nil : .left
        }
    }

    @Test(arguments: MemberState.allCases)
    func table(held: MemberState) {
        for incoming in Incoming.allCases {
            for relative in Relative.allCases {
                let heldIncarnation: UInt64 = 5
                let j: UInt64 = switch relative { case .lower: 4; case .equal: 5; case .higher: 6 }
                var swim = instance(1, knowing: [member(2, held, incarnation: heldIncarnation), member(3)])
                let gossip: Gossip = switch incoming {
                case .alive: .alive(id: NodeID(2), incarnation: j, address: address(2), metadata: [])
                case .suspect: .suspect(id: NodeID(2), incarnation: j, suspecter: NodeID(3))
                case .dead: .dead(id: NodeID(2), incarnation: j, declarer: NodeID(3))
                case .left: .left(id: NodeID(2), incarnation: j)
                }
                let before = swim.metrics.updatesApplied
                _ = hear(&swim, [gossip])
                let after = swim.member(NodeID(2))!
                let want = Self.expected(held: held, incoming: incoming, relative: relative)
                let context = "held \(held)#5, incoming \(incoming)#\(j)"
                if let want {
                    #expect(after.state == want, "\(context)")
                    #expect(after.incarnation == j, "\(context)")
                    #expect(swim.metrics.updatesApplied == before + 1, "\(context)")
                } else {
                    #expect(after.state == held, "\(context)")
                    #expect(after.incarnation == heldIncarnation, "\(context)")
                    #expect(swim.metrics.updatesApplied == before, "\(context)")
                }
            }
        }
    }

    @Test func suspectAtEqualIncarnationIsAConfirmation() {
        var swim = instance(1, knowing: (2...20).map { member($0) })
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(3))])
        #expect(swim.suspicionConfirmations(of: NodeID(2)) == 0)
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(4))])
        #expect(swim.suspicionConfirmations(of: NodeID(2)) == 1)
        // The same suspecter again is not independent.
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(4))])
        #expect(swim.suspicionConfirmations(of: NodeID(2)) == 1)
    }

    @Test func unknownMembersAreIntroducedOnlyByAlive() {
        var swim = instance(1, knowing: [member(3)])
        _ = hear(&swim, [.suspect(id: NodeID(7), incarnation: 1, suspecter: NodeID(3)),
                         .dead(id: NodeID(8), incarnation: 1, declarer: NodeID(3)),
                         .left(id: NodeID(9), incarnation: 1)])
        #expect(swim.member(NodeID(7)) == nil && swim.member(NodeID(8)) == nil && swim.member(NodeID(9)) == nil)
        let out = hear(&swim, [.alive(id: NodeID(7), incarnation: 0, address: address(7), metadata: [1])])
        #expect(swim.member(NodeID(7))?.state == .alive)
        #expect(out.events.contains(.joined(Member(id: NodeID(7), address: address(7), incarnation: 0, state: .alive, metadata: [1]))))
    }

    @Test func staleAliveCannotResurrectATombstone() {
        var swim = instance(1, knowing: [member(2, .dead, incarnation: 3), member(3)])
        _ = hear(&swim, [.alive(id: NodeID(2), incarnation: 3, address: address(2), metadata: [])])
        #expect(swim.member(NodeID(2))?.state == .dead)
        let out = hear(&swim, [.alive(id: NodeID(2), incarnation: 4, address: address(2), metadata: [])])
        #expect(swim.member(NodeID(2))?.state == .alive)
        #expect(out.events.contains { if case .joined = $0 { true } else { false } })
    }
}
