import Testing
@testable import SWIM

@Suite struct RefutationTests {
    @Test func suspicionOfSelfIsRefutedWithAHigherIncarnation() {
        var swim = instance(1, knowing: (2...6).map { member($0) })
        let out = hear(&swim, [.suspect(id: NodeID(1), incarnation: 0, suspecter: NodeID(2))])
        #expect(swim.myself.incarnation == 1)
        #expect(swim.metrics.refutations == 1)
        #expect(out.events == [.refutedSuspicionOfSelf(incarnation: 1)])
        // The refutation goes out at once (urgent gossip) and stays queued for piggybacking.
        let alive = Gossip.alive(id: NodeID(1), incarnation: 1, address: address(1), metadata: [])
        #expect(out.allPiggyback.contains(alive))
        #expect(swim.pendingBroadcasts >= 1)
        #expect(swim.localHealth == 1, "having to refute raises the local health multiplier")
    }

    @Test func staleSuspicionOfSelfIsIgnored() {
        var swim = instance(1, knowing: [member(2)])
        _ = hear(&swim, [.suspect(id: NodeID(1), incarnation: 0, suspecter: NodeID(2))])
        let out = hear(&swim, [.suspect(id: NodeID(1), incarnation: 0, suspecter: NodeID(2))])
        #expect(swim.myself.incarnation == 1)
        #expect(out.events.isEmpty)
    }

    @Test func restartedNodeRisesAboveItsPreviousLife() {
        // A node restarted with incarnation 0 hears that its previous life died at incarnation 7.
        var swim = instance(1, knowing: [member(2)])
        _ = hear(&swim, [.dead(id: NodeID(1), incarnation: 7, declarer: NodeID(2))])
        #expect(swim.myself.incarnation == 8)
        #expect(swim.myself.state == .alive)
        // Gossip of the previous life being alive at a higher incarnation also pushes it up.
        _ = hear(&swim, [.alive(id: NodeID(1), incarnation: 11, address: address(1), metadata: [])])
        #expect(swim.myself.incarnation == 12)
    }

    @Test func aRefutationClearsTheSuspicionElsewhere() {
        var swim = instance(1, knowing: (2...6).map { member($0) })
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(3))])
        #expect(swim.suspicionDeadline(of: NodeID(2)) != nil)
        let out = hear(&swim, [.alive(id: NodeID(2), incarnation: 1, address: address(2), metadata: [])])
        #expect(swim.member(NodeID(2))?.state == .alive)
        #expect(swim.suspicionDeadline(of: NodeID(2)) == nil)
        #expect(out.events.contains { if case .refuted(let m) = $0 { m.id == NodeID(2) } else { false } })
    }
}

@Suite struct LocalHealthTests {
    /// Drives one probe that nobody answers: direct ping, ping-reqs, then failure.
    func failOneProbe(_ swim: inout SWIMInstance, nacks: Int) -> (target: NodeID, out: [Directive]) {
        var out: [Directive] = []
        while swim.probe == nil { out += swim.tick(now: swim.nextDeadline) }   // a probe is in flight
        let target = swim.probe!.target
        out += swim.tick(now: swim.nextDeadline)               // direct timeout: ping-reqs go out
        for (request, helper) in out.pingRequests.prefix(nacks) {
            let helperID = NodeID(UInt64(helper.rawValue.dropFirst())!)
            out += swim.receive(.nack(Nack(sequence: request.sequence, source: helperID)), from: helper, now: swim.nextDeadline)
        }
        out += swim.tick(now: swim.nextDeadline)               // end of period: failure
        return (target, out)
    }

    @Test func failedProbesAndMissedNacksRaiseItAndSuccessLowersIt() {
        var swim = instance(1, knowing: (2...10).map { member($0) })
        #expect(swim.localHealth == 0)
        let (target, out) = failOneProbe(&swim, nacks: 3)
        #expect(out.pingRequests.count == 3)
        #expect(out.events.contains { if case .suspected(let m, let by) = $0 { m.id == target && by == NodeID(1) } else { false } })
        #expect(swim.localHealth == 1, "one failed probe, every helper nacked")

        _ = failOneProbe(&swim, nacks: 1)
        #expect(swim.localHealth == 1 + 1 + 2, "a failed probe plus two missed nacks")

        // Successful probes lower it one step each.
        for expected in [3, 2, 1, 0, 0] {
            while swim.probe == nil { _ = swim.tick(now: swim.nextDeadline) }
            let probe = swim.probe!
            _ = swim.receive(.ack(Ack(sequence: probe.sequence, source: probe.target)), from: probe.targetAddress, now: swim.nextDeadline)
            #expect(swim.localHealth == expected)
        }
    }

    @Test func aProbeFailsAsSoonAsEveryHelperHasNacked() {
        var swim = instance(1, knowing: (2...10).map { member($0) })
        while swim.probe == nil { _ = swim.tick(now: swim.nextDeadline) }
        let out = swim.tick(now: swim.nextDeadline)
        let at = swim.nextDeadline
        var suspected = false
        for (request, helper) in out.pingRequests {
            let helperID = NodeID(UInt64(helper.rawValue.dropFirst())!)
            let reply = swim.receive(.nack(Nack(sequence: request.sequence, source: helperID)), from: helper, now: at - .milliseconds(100))
            suspected = suspected || reply.events.contains { if case .suspected = $0 { true } else { false } }
        }
        #expect(suspected, "failed before the end of the period")
    }

    @Test func itStretchesTheProbeIntervalAndIsCapped() {
        var settings = classic
        settings.maxLocalHealthMultiplier = 3
        var swim = instance(1, knowing: (2...10).map { member($0) }, settings: settings)
        for _ in 0..<5 { _ = failOneProbe(&swim, nacks: 0) }
        #expect(swim.localHealth == 2, "capped at maxLocalHealthMultiplier - 1")
        #expect(swim.currentProbeInterval == .seconds(3))
        // The next probe's direct timeout is stretched too.
        let start = swim.nextDeadline
        _ = swim.tick(now: start)
        #expect(swim.nextDeadline == start + .milliseconds(1500))
    }
}

@Suite struct SuspicionTimeoutTests {
    @Test func timeoutShrinksFromMaximumToMinimumWithConfirmations() {
        var suspicion = Suspicion(incarnation: 0, by: NodeID(1), at: t0, clusterSize: 100, settings: classic)
        // floor = 4 * log10(100) * 1 s = 8 s; ceiling = 6 * floor = 48 s; k = suspicionConfirmations = 3.
        #expect(suspicion.minimum == .seconds(8))
        #expect(suspicion.maximum == .seconds(48))
        #expect(suspicion.timeout == .seconds(48))
        let confirmed2x = suspicion.confirm(by: NodeID(2))
        #expect(confirmed2x)
        let one = suspicion.timeout
        #expect(one < .seconds(48) && one > .seconds(8))
        let repeated2x = suspicion.confirm(by: NodeID(2))
        #expect(!repeated2x, "a repeated suspecter is not a new confirmation")
        let confirmed3x = suspicion.confirm(by: NodeID(3))
        #expect(confirmed3x)
        let two = suspicion.timeout
        #expect(two < one && two > .seconds(8))
        let confirmed4x = suspicion.confirm(by: NodeID(4))
        #expect(confirmed4x)
        #expect(suspicion.timeout == .seconds(8))
        let confirmed5x = suspicion.confirm(by: NodeID(5))
        #expect(confirmed5x)
        #expect(suspicion.timeout == .seconds(8), "never below the floor")
    }

    @Test func instanceDeadlineMovesEarlierAsConfirmationsArrive() {
        var settings = Settings.lan
        settings.probeOnSuspicion = false
        var swim = instance(1, knowing: (2...30).map { member($0) }, settings: settings)
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(3))])
        let first = swim.suspicionDeadline(of: NodeID(2))!
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(4))])
        let second = swim.suspicionDeadline(of: NodeID(2))!
        _ = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(5))])
        let third = swim.suspicionDeadline(of: NodeID(2))!
        #expect(second < first && third < second)
        // When it expires the member is declared dead by us.
        let out = swim.tick(now: third)
        #expect(swim.member(NodeID(2))?.state == .dead)
        #expect(out.events.contains { if case .confirmedDead(let m, let by) = $0 { m.id == NodeID(2) && by == NodeID(1) } else { false } })
    }

    @Test func smallClustersDoNotWaitForConfirmationsTheyCannotGet() {
        var suspicion = Suspicion(incarnation: 0, by: NodeID(1), at: t0, clusterSize: 3, settings: .lan)
        #expect(suspicion.expectedConfirmations == 1, "in 3 members only one other can confirm")
        #expect(suspicion.timeout == suspicion.maximum)
        _ = suspicion.confirm(by: NodeID(2))
        #expect(suspicion.timeout == suspicion.minimum)
        let pair = Suspicion(incarnation: 0, by: NodeID(1), at: t0, clusterSize: 2, settings: .lan)
        #expect(pair.timeout == pair.minimum, "nobody else could ever confirm")
    }

    @Test func hearingASuspicionProbesTheSuspectAndAFailureConfirmsIt() {
        var swim = instance(1, knowing: (2...30).map { member($0) })
        let out = hear(&swim, [.suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(3))])
        let probe = out.pings.first { $0.0.target == NodeID(2) }
        #expect(probe != nil)
        #expect(probe?.0.piggyback.first == .suspect(id: NodeID(2), incarnation: 0, suspecter: NodeID(3)),
                "the suspect hears of its suspicion first (buddy system)")
        _ = swim.tick(now: t0 + .milliseconds(500))
        #expect(swim.suspicionConfirmations(of: NodeID(2)) == 1)
    }
}
