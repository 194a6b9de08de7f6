import Testing
@testable import Licensing
import SWIM

/// Issue 10: what a key holder can send changes nothing it should not.
@Suite struct HostileInputTests {
    /// Finding 1: the authority's per-epoch sequence (UInt32) ran into an overflow trap under a flood of
    /// requests. At its end the authority now moves to a new epoch instead.
    @Test func anExhaustedSequenceStartsANewEpochInsteadOfTrapping() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 10, requestedCores: 2)
        h.refreshViews()
        let before = h.node(1).epoch
        h.nodes[NodeID(1)]!.term!.sequence = UInt32.max - 1
        h.acquire(2)   // takes the last sequence number
        h.acquire(3)   // none left: a new epoch
        h.advance(by: .seconds(2))
        #expect(h.node(1).isAuthority && h.node(1).epoch > before)
        #expect(h.node(2).ownGrant?.cores == 2 && h.node(3).ownGrant?.cores == 2)
    }

    /// An epoch no cluster could have reached (the last round, or far above the highest known) is
    /// dropped and counted: it would otherwise wrap the next proposal below every older epoch.
    @Test func implausibleEpochsAreDroppedAndCounted() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 10, requestedCores: 2)
        h.refreshViews()
        let epoch = h.node(2).epoch
        let last = Epoch(round: Epoch.maximumRound, serverRank: 2)
        let far = Epoch(round: epoch.round + (1 << 20) + 1, serverRank: 2)
        for forged in [last, far] {
            h.handle(h.nodes[NodeID(2)]!.receive(.propose(forged), from: NodeID(3), now: h.now), from: NodeID(2))
            h.handle(h.nodes[NodeID(2)]!.receivePayload(LedgerPayloads.payload(epoch: forged, authority: NodeID(3)), now: h.now), from: NodeID(2))
            let head = LedgerHead(epoch: forged, counter: 1, authority: NodeID(3), digest: 1, count: 1, through: Stamp(epoch: forged, sequence: 1))
            h.handle(h.nodes[NodeID(2)]!.receivePayload(LedgerPayloads.payload(head: head), now: h.now), from: NodeID(2))
        }
        h.settle()
        #expect(h.node(2).rejections.implausible == 6)
        #expect(h.node(2).epoch == epoch && h.node(2).promised == epoch, "neither learned nor promised")
        #expect(Epoch(round: Epoch.maximumRound, serverRank: 1).next(serverRank: 1).round == Epoch.maximumRound, "saturates, never wraps")
    }

    /// A member the authority holds suspect (a lost probe, a replayed rumour) still has its held
    /// grant confirmed: its request comes from its own address in its current life, so it is up.
    /// Refusing it as "not a member" took the cores of a node that had done nothing wrong (found
    /// while trying a watch of the authority: hostile whole-cluster-restart seeds 293, 570, 829).
    @Test func aSuspectMemberKeepsItsCores() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, requestedCores: 2)
        h.refreshViews()
        h.acquire(4)
        #expect(h.node(4).ownGrant?.cores == 2)
        let advert = h.node(4).advert.metadata
        let suspect = Member(id: NodeID(4), address: Address("n4"), incarnation: 0, state: .suspect, metadata: advert)
        h.handle(h.nodes[NodeID(1)]!.updateMembers([suspect], forgotten: [], now: h.now), from: NodeID(1))
        h.acquire(4)
        #expect(h.node(4).ownGrant?.cores == 2, "confirmed, not refused")
        #expect(h.node(1).rejections.notAMember == 0)
        #expect(h.validates(4))
    }

    /// Finding 3: an acquire "from" a node ID that was never a member was granted, and its cores were
    /// never returned. Now it is refused; and a grant to a stranger already in the ledger (a forged
    /// payload) is returned after the grace period.
    @Test func onlyMembersGetCoresAndStrangersCoresComeBack() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 4, requestedCores: 2)
        h.refreshViews()
        let stranger = NodeID(0xBAD)
        h.handle(h.nodes[NodeID(1)]!.receive(.acquire(requestID: 1, life: 1, basis: .zero, cores: 4, mac: 0xA1, held: nil), from: stranger, now: h.now), from: NodeID(1))
        #expect(h.node(1).ledger.cores(of: stranger) == 0)
        #expect(h.node(1).rejections.notAMember == 1)
        // A stranger's grant in every replica's ledger (a key holder's forged promise or entries, or a
        // restored data directory put it there).
        let forged = Grant(node: stranger, cores: 4, stamp: Stamp(epoch: h.node(1).epoch, sequence: 999))
        for n: UInt64 in 1...3 { h.nodes[NodeID(n)]!.ledger.merge(forged) }
        h.acquire(2)
        #expect(h.node(2).ownGrant == nil, "the forged grant fills the license for now")
        h.advance(by: .seconds(35))
        #expect(h.node(1).ledger.cores(of: stranger) == 0, "returned after the grace period")
        #expect(h.node(2).ownGrant?.cores == 2, "and the real node asked again and got it")
    }

    /// A message claiming to come from a member but sent from another address is dropped.
    @Test func aMessageFromAnotherAddressThanTheMembersIsDropped() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 4, requestedCores: 2)
        h.refreshViews()
        h.acquire(3)
        #expect(h.node(3).ownGrant?.cores == 2)
        let out = h.nodes[NodeID(1)]!.receive(.release(requestID: 99, life: 0, basis: h.node(1).ledger.grants[NodeID(3)]!.stamp), from: NodeID(3), address: Address("10.6.6.6:7946"), now: h.now)
        h.handle(out, from: NodeID(1))
        h.settle()
        #expect(h.node(1).ledger.cores(of: NodeID(3)) == 2)
        #expect(h.node(1).rejections.notFromMember == 1)
    }

    /// Finding 4: a key holder with another server's MAC and a lower ID became authority at once.
    /// Two live members advertising one MAC are reported, and neither may be authority.
    @Test func aDuplicatedServerMACIsReportedAndKeepsBothFromAuthority() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, requestedCores: 2)
        // Node 1, the lowest ID, claims server 3's MAC.
        h.macs[NodeID(1)] = 0xA3
        h.nodes[NodeID(1)] = try! LicensingNode(id: NodeID(1), mac: 0xA3, terms: h.node(2).terms, licenseValid: true, settings: h.node(2).settings)
        h.refreshViews()
        h.advance(by: .seconds(2))
        for n: UInt64 in 1...4 { #expect(h.node(n).duplicateMACs == [MACConflict(mac: 0xA3, nodes: [NodeID(1), NodeID(3)])]) }
        #expect(h.authorities().isEmpty, "neither claimant, and server 2 alone is no majority")
        #expect(h.node(4).serviceProblem(now: h.now)?.contains("advertised by 2 live members") == true)
        #expect(h.events[NodeID(2), default: []].contains { if case .duplicateMACs(let list) = $0 { !list.isEmpty } else { false } })
        // The impostor goes: server 3 is undisputed again, and with server 2 a majority.
        h.alive.remove(NodeID(1))
        h.refreshViews()
        h.advance(by: .seconds(2))
        #expect(h.node(2).duplicateMACs.isEmpty)
        #expect(h.authorities() == [NodeID(2)])
    }

    /// Finding 5: impossible core counts were accepted, and from a node that is not the authority the
    /// request was retried for ever. More than the license's limit is refused at once, everywhere.
    @Test func moreCoresThanTheLicenseAllowsAreRefusedAtOnce() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 8, requestedCores: 2)
        h.refreshViews()
        for n: UInt64 in [1, 3] {
            let (id, out) = h.nodes[NodeID(n)]!.acquire(cores: 9, now: h.now)
            #expect(out.contains(.event(LicensingEvent(at: h.now, kind: .requestSettled(id, .refused(
                .cpuLimitExhausted(limit: 8, inUse: 0, requested: 9, holders: [])))))))
            #expect(!h.node(n).hasPendingRequest && h.node(n).desiredCores == 0)
        }
        let huge = LicensingCodec.encode(.acquire(requestID: 1, life: 1, basis: .zero, cores: Int(Int32.max), mac: 0xA3, held: nil))
        #expect(LicensingCodec.decode(huge) != nil, "the wire carries what a license may allow")
    }

    /// Finding 2: a captured release, replayed after a failover, released the node's cores. Requests
    /// now name their life and the ledger entry they build on: every message of a whole session,
    /// replayed in any order, to anyone, before and after a failover, changes no ledger and no grant.
    @Test func replayingEveryCapturedMessageChangesNothing() {
        var h = LicensingHarness(count: 5, servers: 3, maxCores: 10, policy: .majority, requestedCores: 2)
        h.refreshViews()
        for n: UInt64 in 1...5 { h.acquire(n) }
        h.release(4)
        h.acquire(4, cores: 1)
        h.acquire(5, cores: 3)
        h.release(5)
        h.acquire(5)
        h.advance(by: .seconds(4))   // heartbeats too
        var random = SeededGenerator(seed: 10)
        func replayAll(_ h: inout LicensingHarness) {
            var messages = h.captured
            for i in stride(from: messages.count - 1, to: 0, by: -1) { messages.swapAt(i, random.below(i + 1)) }
            for (from, to, message) in messages where h.alive.contains(to) {
                let target = NodeID(UInt64(1 + random.below(5)))   // to anyone, not only the original receiver
                for receiver in [to, target] where h.alive.contains(receiver) {
                    h.handle(h.nodes[receiver]!.receive(message, from: from, now: h.now), from: receiver)
                }
            }
            h.settle()
        }
        func snapshot(_ h: LicensingHarness) -> [String] {
            h.nodes.keys.sorted().filter { h.alive.contains($0) }.map { "\($0): \(h.nodes[$0]!.ownGrant.map(\.description) ?? "-") \(h.nodes[$0]!.ledger)" }
        }
        let before = snapshot(h)
        replayAll(&h)
        #expect(snapshot(h) == before, "replays changed state")
        #expect(h.node(1).rejections.stale > 0, "the replayed requests were seen, and counted as stale")

        // After a failover the new authority has no memory of answered requests: still nothing changes.
        h.alive.remove(NodeID(1))
        h.refreshViews()
        h.advance(by: .seconds(2))
        #expect(h.authorities() == [NodeID(2)])
        let afterFailover = snapshot(h)
        replayAll(&h)
        h.advance(by: .seconds(2))
        #expect(snapshot(h) == afterFailover, "replays after a failover changed state")
        for n: UInt64 in 2...5 { #expect(h.validates(n)) }
    }
}

/// Finding 6: clocks. Servers started 200 days behind formed a majority and validated an expired
/// license; a node 400 days behind the license's issue date served and stayed authority.
@Suite struct ClockTests {
    static let expires: Int64 = 1_900_000_000
    static let issued: Int64 = 1_800_000_000

    static func terms() -> LicenseTerms {
        LicenseTerms(id: "LIC-CLOCK", maxCores: 8, hosts: [0xA1, 0xA2, 0xA3, 0xA4], servers: [0xA1, 0xA2, 0xA3], features: ["batch"],
                     expires: expires, licensee: "Clock Test", issued: issued)
    }

    /// Every node reads its own wall clock: `offsets[n]` seconds from `base`.
    static func readClocks(_ h: inout LicensingHarness, base: Int64, offsets: [UInt64: Int64]) {
        for n: UInt64 in 1...4 {
            h.handle(h.nodes[NodeID(n)]!.observeWallClock(unixSeconds: base + (offsets[n] ?? 0), now: h.now), from: NodeID(n))
        }
        h.settle()
    }

    @Test func twoServersBehindCannotMakeAnExpiredLicenseCount() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, policy: .majority, requestedCores: 2) { _ in Self.terms() }
        let day: Int64 = 86_400
        let now = Self.expires + day                       // the license expired yesterday
        let behind: [UInt64: Int64] = [1: -200 * day, 2: -200 * day]
        Self.readClocks(&h, base: now, offsets: behind)
        h.refreshViews()
        for n: UInt64 in 1...4 { h.acquire(n) }
        h.advance(by: .seconds(19))                         // the servers' clocks ride every fourth heartbeat
        Self.readClocks(&h, base: now + 19, offsets: behind)
        #expect(h.authorities() == [NodeID(1)], "the two behind are the majority's median: they may serve")
        for n: UInt64 in [1, 2] {
            let check = h.node(n).validate(feature: "batch", unixTime: now + 19 + behind[n]!)
            #expect(!check.isAllowed && check.message.contains("expired"), "node \(n): \(check.message)")
        }
        #expect(h.node(3).clockProblem?.contains("ahead of the license servers' median") == true,
                "the disagreement is reported: \(h.node(3).clockProblem ?? "none")")
        #expect(!h.node(4).validate(feature: "batch", unixTime: now + 19).isAllowed)
    }

    @Test func aClockBeforeTheIssueDateIsReportedAndNeverAuthority() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, policy: .majority, requestedCores: 2) { _ in Self.terms() }
        let right = Self.issued + 86_400
        Self.readClocks(&h, base: right, offsets: [1: -400 * 86_400])
        h.refreshViews()
        h.advance(by: .seconds(2))
        #expect(h.node(1).clockProblem?.contains("before license LIC-CLOCK was issued") == true)
        #expect(!h.node(1).advert.clockTrusted)
        #expect(h.authorities() == [NodeID(2)], "the lowest server with a clock it can trust")
        #expect(h.node(1).serviceProblem(now: h.now)?.contains("Fix: set this host's clock right") == true)
        // Its own validations are judged from the issue date on, never earlier.
        #expect(h.node(1).trustedTime(right - 400 * 86_400) >= Self.issued)
    }

    @Test func aRestartedNodeNeverJudgesBeforeTheTimeItSaved() throws {
        var node = try LicensingNode(id: NodeID(1), mac: 0xA1, terms: Self.terms(), licenseValid: true)
        node.restore(LicensingDurableState(epoch: .none, authority: nil, promised: .none, grants: [], ownGrant: nil, savedAt: Self.expires + 10))
        #expect(node.trustedTime(Self.expires - 100 * 86_400) == Self.expires + 10)
        #expect(node.validate(unixTime: Self.expires - 100 * 86_400).message.contains("expired"))
    }

    /// FlexNet's rollback case, cluster-wide: every clock set back 200 days at once, so no server knows
    /// better. The time floor that the servers' clocks vouched for stays, is saved, and survives a restart.
    @Test func clocksSetBackEverywhereCannotMakeAnExpiredLicenseCountAgain() throws {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, policy: .majority, requestedCores: 2) { _ in Self.terms() }
        let day: Int64 = 86_400
        Self.readClocks(&h, base: Self.expires - day, offsets: [:])
        h.refreshViews()
        for n: UInt64 in 1...4 { h.acquire(n) }
        h.advance(by: .seconds(13))                         // heartbeats carry the servers' clocks (every fourth)
        Self.readClocks(&h, base: Self.expires - day + 13, offsets: [:])
        #expect((Self.expires - day...Self.expires - day + 13).contains(h.node(4).timeFloor), "a reading the servers vouched for is the floor")
        #expect(h.node(4).validate(feature: "batch", unixTime: Self.expires - day + 13).isAllowed)

        Self.readClocks(&h, base: Self.expires + day, offsets: [:])   // two days later: expired
        h.advance(by: .seconds(13))                                   // a heartbeat vouches for it
        let floor = Self.expires + day
        let rolledBack = Self.expires + day - 200 * day
        Self.readClocks(&h, base: rolledBack, offsets: [:])          // every clock set back 200 days
        h.advance(by: .seconds(13))
        Self.readClocks(&h, base: rolledBack + 13, offsets: [:])
        for n: UInt64 in 1...4 {
            #expect((floor...floor + 13).contains(h.node(n).timeFloor), "node \(n): the floor never goes down")
            #expect(h.node(n).durableState.savedAt == h.node(n).timeFloor, "node \(n): what is saved never goes down")
            let check = h.node(n).validate(feature: "batch", unixTime: rolledBack + 13)
            #expect(!check.isAllowed && check.message.contains("expired"), "node \(n): \(check.message)")
        }
        var restarted = try LicensingNode(id: NodeID(4), mac: 0xA4, terms: Self.terms(), licenseValid: true)
        restarted.restore(h.node(4).durableState)
        #expect(!restarted.validate(feature: "batch", unixTime: rolledBack + 13).isAllowed, "nor across a restart")
    }

    /// A clock far ahead of the servers' for a while (a bad NTP step) is not kept as the floor: once
    /// it is set right, the license is valid on this node again.
    @Test func aClockWronglyAheadForAWhileLeavesNoFloorBehind() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, policy: .majority, requestedCores: 2) { _ in Self.terms() }
        let day: Int64 = 86_400
        let now = Self.expires - 10 * day
        Self.readClocks(&h, base: now, offsets: [:])
        h.refreshViews()
        for n: UInt64 in 1...4 { h.acquire(n) }
        h.advance(by: .seconds(13))
        Self.readClocks(&h, base: now + 13, offsets: [:])
        let floor = h.node(4).timeFloor
        #expect((now...now + 13).contains(floor))
        Self.readClocks(&h, base: now + 13, offsets: [4: 30 * day])   // node 4 jumps 30 days ahead
        h.advance(by: .seconds(13))                                   // the next heartbeat disagrees
        #expect(h.node(4).clockProblem?.contains("ahead of the license servers' median") == true)
        #expect(h.node(4).timeFloor == floor, "a reading the servers disagree with is not kept")
        Self.readClocks(&h, base: now + 26, offsets: [:])              // set right again
        h.advance(by: .seconds(13))
        #expect(h.node(4).clockProblem == nil)
        #expect(h.node(4).validate(feature: "batch", unixTime: now + 39).isAllowed)
        #expect(h.node(4).timeFloor < Self.expires)
        let verdicts = h.events[NodeID(4), default: []].compactMap { if case .clockProblem(let problem) = $0 { problem ?? "trusted" } else { nil } }
        #expect(verdicts.count == 2 && verdicts.first?.contains("ahead") == true && verdicts.last == "trusted",
                "the log tells both changes: \(verdicts)")
    }

    /// Hostile catalogue seed 491: a heartbeat replayed to an ordinary node made it acknowledge, and its
    /// clock (28 days off) became the servers' median, so every node distrusted its own clock and no
    /// server could be authority. Only servers answer heartbeats; only servers' answers count.
    @Test func onlyLicenseServersConfirmHeartbeats() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, requestedCores: 2)
        h.refreshViews()
        let epoch = h.node(1).epoch
        #expect(h.node(1).isAuthority)
        h.queue.removeAll()
        h.handle(h.nodes[NodeID(4)]!.receive(.heartbeat(epoch, beat: 1, time: 1_800_000_000), from: NodeID(1), now: h.now), from: NodeID(4))
        #expect(h.queue.isEmpty, "an ordinary node does not acknowledge")
        #expect(h.node(4).rejections.notAServer == 1)
        let beat = h.node(1).term!.beat
        let confirmations = h.node(1).term!.beatConfirmations
        h.handle(h.nodes[NodeID(1)]!.receive(.heartbeatAck(epoch, beat: beat, time: 1_802_480_000), from: NodeID(4), now: h.now), from: NodeID(1))
        #expect(h.node(1).term!.beatConfirmations == confirmations, "its acknowledgement does not count")
        #expect(h.node(1).term!.serverTimes[NodeID(4)] == nil, "nor its clock")
        #expect(h.node(1).rejections.notAServer == 1)
    }
}
