import Testing
@testable import SWIM

@Suite struct LifecycleTests {
    @Test func joinRetriesWithBackoffUntilASeedAnswers() {
        var swim = try! SWIMInstance(id: NodeID(1), address: address(1), settings: .lan, seed: 3)
        var out = swim.join(seeds: [address(1), address(2), address(3)], now: t0)
        #expect(out.pushPulls.map(\.1) == [address(2), address(3)], "never our own address")
        #expect(out.pushPulls.allSatisfy { $0.0.join })
        var attempts: [Instant] = [t0]
        var now = t0
        while attempts.count < 5 {
            now = swim.nextDeadline
            out = swim.tick(now: now)
            if !out.pushPulls.isEmpty { attempts.append(now) }
        }
        let gaps = zip(attempts.dropFirst(), attempts).map { $0 - $1 }
        #expect(gaps == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(!swim.isJoined)
        let answer = PushPullState(join: false, source: NodeID(2), members: [member(2), member(3)], payloads: [])
        out = swim.receive(.pushPullResponse(answer), from: address(2), over: .stream, now: now)
        #expect(swim.isJoined)
        #expect(swim.activeMemberCount == 3)
        #expect(out.events.filter { if case .joined = $0 { true } else { false } }.count == 2)
    }

    @Test func aPushPullRequestIsMergedAndAnsweredWithOurState() {
        var swim = instance(1, knowing: [member(2)])
        let request = PushPullState(join: true, source: NodeID(5), members: [member(5), member(2, .dead, incarnation: 0)], payloads: [])
        let out = swim.receive(.pushPullRequest(request), from: address(5), over: .stream, now: t0)
        guard case .replyOnStream(.pushPullResponse(let reply))? = out.first(where: { if case .replyOnStream = $0 { true } else { false } }) else {
            Issue.record("no reply"); return
        }
        #expect(Set(reply.members.map(\.id)) == [NodeID(1), NodeID(2), NodeID(5)])
        #expect(swim.member(NodeID(2))?.state == .dead, "merged with the same precedence rules")
    }

    @Test func periodicExchangesSendADigestAndPayloadsOnlyWhenTheyDiffer() {
        var swim = instance(1, knowing: [member(2)])
        _ = swim.publish(AppPayload(key: "k", version: 1, value: [1, 2, 3]), now: t0)
        let digest = swim.payloadDigest
        #expect(digest == PayloadDigest.of(AppPayload(key: "k", version: 1, value: [1, 2, 3])))
        func reply(to request: PushPullState) -> PushPullState? {
            let out = swim.receive(.pushPullRequest(request), from: address(5), over: .stream, now: t0)
            for directive in out { if case .replyOnStream(.pushPullResponse(let answer)) = directive { return answer } }
            return nil
        }
        // The asker holds the same payloads: the answer carries members and our digest only.
        let same = reply(to: PushPullState(join: false, source: NodeID(5), members: [member(5)], payloads: [], payloadDigest: digest))
        #expect(same?.payloads.isEmpty == true)
        #expect(same?.payloadDigest == digest)
        // It holds something else (here: nothing): it gets every payload.
        let differs = reply(to: PushPullState(join: false, source: NodeID(5), members: [member(5)], payloads: [], payloadDigest: 0))
        #expect(differs?.payloads.map(\.key) == ["k"])
        #expect(differs?.payloadDigest == nil)
        // An asker that sent its payloads gets ours too (a join, a reconnect).
        let full = reply(to: PushPullState(join: true, source: NodeID(5), members: [member(5)], payloads: []))
        #expect(full?.payloads.map(\.key) == ["k"])
        // A newer version replaces the old one in the digest; the digest does not depend on the order of arrival.
        _ = swim.publish(AppPayload(key: "k", version: 2, value: [9]), now: t0)
        _ = swim.publish(AppPayload(key: "other", version: 1, value: []), now: t0)
        var reordered = instance(3, knowing: [member(2)])
        _ = reordered.publish(AppPayload(key: "other", version: 1, value: []), now: t0)
        _ = reordered.publish(AppPayload(key: "k", version: 2, value: [9]), now: t0)
        #expect(swim.payloadDigest == reordered.payloadDigest)
        #expect(swim.payloadDigest != digest)
    }

    @Test func periodicExchangesSendMembersOnlyWhenTheTablesDiffer() {
        var swim = instance(1, knowing: [member(2)])
        var twin = instance(2, knowing: [member(1)])
        func reply(to request: PushPullState) -> PushPullState? {
            let out = swim.receive(.pushPullRequest(request), from: address(2), over: .stream, now: t0)
            for directive in out { if case .replyOnStream(.pushPullResponse(let answer)) = directive { return answer } }
            return nil
        }
        // A periodic exchange sends digests only.
        let request = twin.localState(join: false, omittingMembers: true, omittingPayloads: true)
        #expect(request.members.isEmpty && request.memberDigest != nil)
        // Both know the same two members at the same incarnations: the answer carries no rows either.
        #expect(request.memberDigest == swim.memberDigest, "the digest does not depend on whose table it is")
        let same = reply(to: request)
        #expect(same?.members.isEmpty == true && same?.memberDigest == swim.memberDigest)
        // The asker's table differs (it has heard of a third member): it gets every row.
        _ = twin.receive(.pushPullResponse(PushPullState(join: false, source: NodeID(1), members: [member(3)], payloads: [])),
                         from: address(1), over: .stream, now: t0)
        let differs = reply(to: twin.localState(join: false, omittingMembers: true, omittingPayloads: true))
        #expect(differs?.memberDigest == nil)
        #expect(differs?.members.map(\.id) == [NodeID(1), NodeID(2)])
    }

    @Test func aPartnerThatLacksOurMembersGetsThemInOneFollowUpExchange() {
        var swim = instance(1, knowing: [member(2), member(3)])
        let start = swim.tick(now: t0 + .seconds(120))   // well past the first push-pull
        guard let partner = start.compactMap({ if case .pushPull(let state, let to) = $0, state.memberDigest != nil { to } else { nil } }).first else {
            Issue.record("no periodic exchange started")
            return
        }
        func followUps(_ out: [Directive]) -> [PushPullState] {
            out.compactMap { if case .pushPull(let state, let to) = $0, to == partner { state } else { nil } }
        }
        // The partner's table differs and lacks member 3: we send our rows once.
        let partial = PushPullState(join: false, source: NodeID(9), members: [member(1), member(2)], payloads: [])
        let first = followUps(swim.receive(.pushPullResponse(partial), from: partner, over: .stream, now: t0 + .seconds(120)))
        #expect(first.count == 1 && first.first?.members.contains { $0.id == NodeID(3) } == true)
        // Its answer to that follow-up starts nothing more, whatever it says.
        #expect(followUps(swim.receive(.pushPullResponse(partial), from: partner, over: .stream, now: t0 + .seconds(121))).isEmpty)
    }

    @Test func fullStateArrivingAsADatagramIsIgnoredAndCounted() {
        var swim = instance(1, knowing: [member(2)])
        let request = PushPullState(join: true, source: NodeID(5), members: [member(5)], payloads: [])
        #expect(swim.receive(.pushPullRequest(request), from: address(5), now: t0).isEmpty)
        #expect(swim.receive(.pushPullResponse(request), from: address(5), now: t0).isEmpty)
        #expect(swim.member(NodeID(5)) == nil)
        #expect(swim.metrics.misroutedExchanges == 2)
    }

    @Test func aPingOverAStreamIsAnsweredOnThatStream() {
        var swim = instance(1, knowing: [member(2)])
        let out = swim.receive(.ping(Ping(sequence: 4, target: NodeID(1), source: NodeID(2))), from: address(2), over: .stream, now: t0)
        #expect(out.sends.isEmpty, "no datagram: the answer goes back on the stream")
        guard case .replyOnStream(.ack(let ack))? = out.first else { Issue.record("no stream reply: \(out)"); return }
        #expect(ack.sequence == 4 && ack.source == NodeID(1))
    }

    /// A first server whose seeds were all down is joined by the next one: that exchange joins it too,
    /// without waiting for its own next join retry.
    @Test func beingJoinedCountsAsJoined() {
        var swim = try! SWIMInstance(id: NodeID(1), address: address(1), settings: .lan, seed: 3)
        _ = swim.join(seeds: [address(2)], now: t0)
        #expect(!swim.isJoined)
        let request = PushPullState(join: true, source: NodeID(2), members: [member(2)], payloads: [])
        _ = swim.receive(.pushPullRequest(request), from: address(2), over: .stream, now: t0 + .seconds(3))
        #expect(swim.isJoined)
        #expect(run(&swim, until: t0 + .seconds(60)).pushPulls.allSatisfy { !$0.0.join }, "no join retries after that")
    }

    /// After a partition heals, a node that everyone holds dead pings the few it holds alive; their acks
    /// tell it it is held dead (even when that news has left their queues), and it refutes at once.
    @Test func aPingerHeldDeadHearsItInTheAckAndRefutes() {
        var observer = instance(1, knowing: [member(2, .dead, incarnation: 3)])
        let out = observer.receive(.ping(Ping(sequence: 5, target: NodeID(1), source: NodeID(2))), from: address(2), now: t0)
        #expect(out.acks.count == 1)
        #expect(out.allPiggyback.first == .dead(id: NodeID(2), incarnation: 3, declarer: NodeID(1)))
        var pinger = try! SWIMInstance(id: NodeID(2), address: address(2), settings: .lan, seed: 1, incarnation: 3)
        pinger.bootstrap(members: [member(1)], now: t0)
        let refuted = pinger.receive(out.sends[0].0, from: address(1), now: t0)
        #expect(pinger.myself.incarnation == 4)
        #expect(refuted.events.contains(.refutedSuspicionOfSelf(incarnation: 4)))
        // A member held alive gets no such news.
        var calm = instance(1, knowing: [member(2)])
        #expect(calm.receive(.ping(Ping(sequence: 6, target: NodeID(1), source: NodeID(2))), from: address(2), now: t0).allPiggyback.isEmpty)
    }

    @Test func leaveIsBroadcastAndPingsAreStillAnswered() {
        var swim = instance(1, knowing: (2...5).map { member($0) })
        let out = swim.leave(now: t0)
        let told = Set(out.sends.map(\.1))
        #expect(told == Set((2...5).map(address)))
        #expect(out.allPiggyback.allSatisfy { $0 == .left(id: NodeID(1), incarnation: 0) })
        let reply = swim.receive(.ping(Ping(sequence: 9, target: NodeID(1), source: NodeID(2))), from: address(2), now: t0)
        #expect(reply.acks.count == 1)
        #expect(reply.allPiggyback.contains(.left(id: NodeID(1), incarnation: 0)))
        // A leaving node probes nobody.
        #expect(run(&swim, until: t0 + .seconds(30)).pings.isEmpty)
    }

    @Test func aDepartedMemberIsNotProbedAndIsForgottenAfterRetention() {
        var settings = Settings.lan
        settings.tombstoneRetention = .seconds(10)
        var swim = instance(1, knowing: [member(2), member(3)], settings: settings)
        let heard = hear(&swim, [.left(id: NodeID(2), incarnation: 0)])
        #expect(heard.events.contains { if case .left(let m) = $0 { m.id == NodeID(2) } else { false } })
        let out = run(&swim, until: t0 + .seconds(20))
        #expect(out.pings.allSatisfy { $0.0.target == NodeID(3) })
        #expect(swim.member(NodeID(2)) == nil)
        #expect(out.events.contains(.forgotten(NodeID(2))))
    }

    @Test func idConflictIsReportedAndNeverMerged() {
        var swim = instance(1, knowing: [member(2)])
        let out = hear(&swim, [.alive(id: NodeID(2), incarnation: 3, address: "elsewhere", metadata: [])])
        #expect(out.events == [.idConflict(id: NodeID(2), known: address(2), claimant: "elsewhere")])
        #expect(swim.member(NodeID(2))?.address == address(2))
        #expect(swim.member(NodeID(2))?.incarnation == 0)
        // About ourselves: reported too, and we do not change.
        let own = hear(&swim, [.alive(id: NodeID(1), incarnation: 9, address: "impostor", metadata: [])])
        #expect(own.events == [.idConflict(id: NodeID(1), known: address(1), claimant: "impostor")])
        #expect(swim.myself.incarnation == 0)
    }

    @Test func helperNacksWhenTheTargetIsSilentAndRelaysTheAckOtherwise() {
        var swim = instance(1, knowing: [member(2), member(3)])
        var out = swim.receive(.pingReq(PingRequest(sequence: 77, target: NodeID(3), targetAddress: address(3), source: NodeID(2))),
                               from: address(2), now: t0)
        let (ping, to) = out.pings[0]
        #expect(to == address(3))
        out = swim.tick(now: t0 + .milliseconds(400))
        #expect(out.nacks.map(\.0.sequence) == [77])
        #expect(out.nacks.map(\.1) == [address(2)])

        out = swim.receive(.pingReq(PingRequest(sequence: 78, target: NodeID(3), targetAddress: address(3), source: NodeID(2))),
                           from: address(2), now: t0)
        let second = out.pings[0].0
        out = swim.receive(.ack(Ack(sequence: second.sequence, source: NodeID(3))), from: address(3), now: t0)
        #expect(out.acks.map(\.0.sequence) == [78])
        #expect(swim.tick(now: t0 + .seconds(1)).nacks.isEmpty)
        _ = ping
    }

    @Test func pingsForAnotherIDAreNotAnswered() {
        var swim = instance(1, knowing: [member(2)])
        let out = swim.receive(.ping(Ping(sequence: 1, target: NodeID(5), source: NodeID(2))), from: address(2), now: t0)
        #expect(out.acks.isEmpty)
        #expect(swim.metrics.misdirectedPings == 1)
    }

    @Test func probingCoversEveryMemberOncePerPass() {
        var swim = instance(1, knowing: (2...11).map { member($0) })
        var targets: [NodeID] = []
        while targets.count < 20 {
            let out = swim.tick(now: swim.nextDeadline)
            for (ping, to) in out.pings {
                targets.append(ping.target)
                _ = swim.receive(.ack(Ack(sequence: ping.sequence, source: ping.target)), from: to, now: swim.nextDeadline)
            }
        }
        #expect(Set(targets[0..<10]).count == 10)
        #expect(Set(targets[10..<20]).count == 10)
        #expect(Array(targets[0..<10]) != Array(targets[10..<20]), "reshuffled each pass")
    }

    @Test func sameSeedSameDirectivesDifferentSeedDifferent() {
        func trace(seed: UInt64) -> [Directive] {
            var swim = instance(1, knowing: (2...20).map { member($0) }, seed: seed)
            return run(&swim, until: t0 + .seconds(20))
        }
        #expect(trace(seed: 5) == trace(seed: 5))
        #expect(trace(seed: 5) != trace(seed: 6))
    }
}
