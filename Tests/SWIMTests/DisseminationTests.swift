import Testing
@testable import SWIM

@Suite struct DisseminationTests {
    func alive(_ n: UInt64, incarnation: UInt64 = 0, metadataBytes: Int = 0) -> Gossip {
        .alive(id: NodeID(n), incarnation: incarnation, address: address(n), metadata: [UInt8](repeating: 7, count: metadataBytes))
    }

    @Test func eachUpdateIsSentAtMostItsRetransmitLimit() {
        var queue = BroadcastQueue()
        queue.enqueue(alive(5))
        var sent = 0
        for _ in 0..<10 { sent += queue.take(budget: 1000, limit: 3).count }
        #expect(sent == 3)
        #expect(queue.isEmpty)
    }

    /// A periodic payload (the authority's heartbeat) sent again and again to one member (a node that
    /// watches us, pinging every period) keeps its few transmissions for the others.
    @Test func aPeriodicPayloadSentAgainToOneRecipientKeepsItsTransmissions() {
        var queue = BroadcastQueue()
        let beat = Gossip.payload(AppPayload(key: "lm.e", version: 1, value: [1]))
        queue.enqueue(beat, limit: 2)
        queue.enqueue(alive(5))
        for _ in 0..<5 { _ = queue.take(budget: 1000, limit: 3, for: address(9)) }
        #expect(queue.queued(.payload("lm.e")) != nil, "still queued for others")
        #expect(queue.queued(.member(NodeID(5))) == nil, "a membership update counts every transmission, as before")
        #expect(queue.take(budget: 1000, limit: 3, for: address(7)) == [beat])
        #expect(queue.isEmpty, "sent to two members: its limit")
    }

    /// Heartbeats of one term are passed on a few times each; the first of a new term (a new authority)
    /// is news, with the full budget, and so is a payload this node never held.
    @Test func aNewTermOfAPeriodicPayloadGetsTheFullBudget() {
        var swim = instance(1, knowing: (2...10).map { member($0) })
        swim.periodicPayloadKeys = ["lm.e"]
        swim.periodicRetransmitLimit = 3
        let now = Instant(nanoseconds: 0)
        _ = swim.publish(AppPayload(key: "lm.e", version: 2 << 32 | 1, value: [1]), now: now)
        #expect(swim.broadcasts.ownLimit(of: .payload("lm.e")) == nil, "never held: the full budget")
        _ = swim.publish(AppPayload(key: "lm.e", version: 2 << 32 | 2, value: [1]), now: now)
        #expect(swim.broadcasts.ownLimit(of: .payload("lm.e")) == 3, "the next beat of the term")
        _ = swim.publish(AppPayload(key: "lm.e", version: 3 << 32 | 1, value: [1]), now: now)
        #expect(swim.broadcasts.ownLimit(of: .payload("lm.e")) == nil, "a new term")
        _ = swim.receive(.ping(Ping(sequence: 1, target: NodeID(1), source: NodeID(2), piggyback: [.payload(AppPayload(key: "lm.e", version: 3 << 32 | 2, value: [1]))])),
                         from: address(2), now: now)
        #expect(swim.broadcasts.ownLimit(of: .payload("lm.e")) == 3, "received: a beat of the term held")
    }

    @Test func retransmitLimitFollowsLambdaLogN() {
        // n = 9 others + self = 10 active: ceil(log10(11)) = 2, times lambda 4.
        let swim = instance(1, knowing: (2...10).map { member($0) })
        #expect(swim.retransmitLimit == 8)
        let big = instance(1, knowing: (2...200).map { member($0) })
        #expect(big.retransmitLimit == 12)   // ceil(log10(201)) = 3
    }

    @Test func aNearlyFullMessageLooksAtABoundedPartOfALongQueue() {
        var queue = BroadcastQueue()
        for n in 1...5_000 { queue.enqueue(alive(UInt64(n), metadataBytes: 40)) }
        let size = WireSize.of(alive(1, metadataBytes: 40))
        // Room for two and a bit: two are taken, then at most `maximumMisses` more are looked at.
        let taken = queue.take(budget: 2 * size + size / 2, limit: 10)
        #expect(taken.count == 2)
        #expect(queue.visitedInLastTake <= 2 + BroadcastQueue.maximumMisses)
        // Plenty of room: it fills up (the IDs' lengths vary a little), whatever the misses before.
        let filled = queue.take(budget: 100 * size, limit: 10)
        #expect(filled.count > 90)
        #expect(filled.reduce(0) { $0 + WireSize.of($1) } > 100 * size - 2 * size)
        #expect(queue.count == 5_000)
    }

    @Test func leastSentFirstThenNewestFirst() {
        var queue = BroadcastQueue()
        queue.enqueue(alive(1))
        queue.enqueue(alive(2))
        _ = queue.take(budget: WireSize.of(alive(2)), limit: 10)   // sends the newest, 2, once
        queue.enqueue(alive(3))
        let order = queue.take(budget: 10_000, limit: 10).compactMap(\.memberID)
        #expect(order == [NodeID(3), NodeID(1), NodeID(2)])
    }

    @Test func aNewerUpdateReplacesTheQueuedOneAndStartsUnsent() {
        var queue = BroadcastQueue()
        queue.enqueue(alive(4))
        _ = queue.take(budget: 1000, limit: 10)
        #expect(queue.transmits(of: .member(NodeID(4))) == 1)
        queue.enqueue(.suspect(id: NodeID(4), incarnation: 0, suspecter: NodeID(1)))
        #expect(queue.count == 1)
        #expect(queue.transmits(of: .member(NodeID(4))) == 0)
        #expect(queue.queued(.member(NodeID(4))) == .suspect(id: NodeID(4), incarnation: 0, suspecter: NodeID(1)))
        // Payloads: a newer version of a key replaces the older one.
        queue.enqueue(.payload(AppPayload(key: "ledger", version: 1, value: [1])))
        queue.enqueue(.payload(AppPayload(key: "ledger", version: 2, value: [2])))
        #expect(queue.count == 2)
        #expect(queue.queued(.payload("ledger")) == .payload(AppPayload(key: "ledger", version: 2, value: [2])))
    }

    @Test func piggybackStaysWithinTheByteBudget() {
        var settings = Settings.lan
        settings.maxMessageSize = 300
        var swim = instance(1, knowing: [member(2)], settings: settings)
        // Fill the queue with far more than one message can carry.
        _ = hear(&swim, (100..<400).map { alive($0, metadataBytes: 20) })
        let out = run(&swim, until: swim.nextDeadline)
        let sends = out.sends
        #expect(!sends.isEmpty)
        for (message, _) in sends {
            #expect(WireSize.of(message) <= 300)
            #expect(!message.piggyback.isEmpty)
        }
        var queue = BroadcastQueue()
        for n in 0..<100 { queue.enqueue(alive(UInt64(n), metadataBytes: Int(n))) }
        let taken = queue.take(budget: 500, limit: 5)
        #expect(taken.reduce(0) { $0 + WireSize.of($1) } <= 500)
        #expect(taken.count > 3, "smaller updates fill the room a large one could not")
    }

    @Test func payloadsAreStoredDeliveredAndNewerVersionsWin() {
        var swim = instance(1, knowing: [member(2)])
        let v1 = AppPayload(key: "grant/2", version: 1, value: [1])
        let v2 = AppPayload(key: "grant/2", version: 2, value: [2])
        var out = hear(&swim, [.payload(v2)])
        #expect(out.contains(.deliver(v2)))
        out = hear(&swim, [.payload(v1)])
        #expect(!out.contains(.deliver(v1)), "an older version is ignored")
        #expect(swim.payload(forKey: "grant/2") == v2)
        _ = swim.publish(AppPayload(key: "mine", version: 1, value: [9]), now: t0)
        #expect(swim.payload(forKey: "mine")?.value == [9])
    }
}

@Suite struct SettingsTests {
    @Test func profilesAreValid() throws {
        for name in Settings.profileNames { try Settings.profile(named: name)!.validate() }
        #expect(Settings.profile(named: "moon") == nil)
    }

    @Test func invalidSettingsAreRejectedWithTheField() {
        var s = Settings.lan
        s.probeTimeout = .seconds(2)
        #expect(throws: SettingsError.self) { try s.validate() }
        do { try s.validate() } catch { #expect(error.field == "probeTimeout") }

        s = .lan; s.indirectChecks = 0
        do { try s.validate(); Issue.record("zero fan-out accepted") } catch { #expect(error.field == "indirectChecks") }

        s = .lan; s.retransmitMultiplier = 0
        do { try s.validate(); Issue.record("zero retransmits accepted") } catch { #expect(error.field == "retransmitMultiplier") }

        s = .lan; s.maxMessageSize = 10
        do { try s.validate(); Issue.record("tiny packets accepted") } catch { #expect(error.description.contains("maxMessageSize")) }

        #expect(throws: SettingsError.self) { _ = try SWIMInstance(id: NodeID(1), address: "a", settings: s, seed: 1) }
    }
}
