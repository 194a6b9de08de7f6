import Testing
@testable import Licensing
import SWIM

/// The paths around the failover, rule by rule, on licensing nodes wired directly (the simulator tests
/// them together with SWIM over many seeds: ScenarioCatalogueTests).
@Suite struct LicensingPathsTests {
    func settled(_ h: LicensingHarness, _ n: UInt64) -> [(RequestID, RequestOutcome)] {
        h.events[NodeID(n), default: []].compactMap { if case .requestSettled(let id, let outcome) = $0 { (id, outcome) } else { nil } }
    }

    // MARK: Answers matched to their requests

    @Test func everyRequestIsSettledOnceUnderItsOwnID() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 10, requestedCores: 2)
        h.refreshViews()
        let (granted, out) = h.nodes[NodeID(3)]!.acquire(now: h.now)
        h.handle(out, from: NodeID(3))
        h.settle()
        // An invalid request is settled at once, under its own ID, and changes nothing else.
        let (invalid, invalidOut) = h.nodes[NodeID(3)]!.acquire(cores: 0, now: h.now)
        h.handle(invalidOut, from: NodeID(3))
        let (released, releaseOut) = h.nodes[NodeID(3)]!.release(now: h.now)
        h.handle(releaseOut, from: NodeID(3))
        h.settle()
        // Nothing held any more: released at once, without asking anyone.
        let (again, againOut) = h.nodes[NodeID(3)]!.release(now: h.now)
        h.handle(againOut, from: NodeID(3))
        let outcomes = settled(h, 3)
        #expect(outcomes.map(\.0) == [granted, invalid, released, again], "each exactly once, in order")
        guard outcomes.count == 4 else { return }
        #expect(outcomes[0].1.grant?.cores == 2)
        #expect(outcomes[1].1 == .refused(.invalidRequest("ask for at least one core (got 0), or release the cores instead")))
        #expect(outcomes[2].1 == .released && outcomes[3].1 == .released)
        #expect(Set([granted, invalid, released, again]).count == 4)
    }

    @Test func aNewRequestSupersedesTheOneInFlightAndLeavingAbandonsIt() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 10, requestedCores: 2)
        h.refreshViews()
        h.alive.remove(NodeID(1)); h.alive.remove(NodeID(2))   // nobody answers node 3 now
        let (first, out1) = h.nodes[NodeID(3)]!.acquire(now: h.now)
        h.handle(out1, from: NodeID(3))
        let (second, out2) = h.nodes[NodeID(3)]!.acquire(cores: 3, now: h.now)
        h.handle(out2, from: NodeID(3))
        h.handle(h.nodes[NodeID(3)]!.leaving(now: h.now), from: NodeID(3))
        let outcomes = settled(h, 3)
        #expect(outcomes.count == 2)
        #expect(outcomes.first?.0 == first && outcomes.first?.1 == .superseded(by: second))
        #expect(outcomes.last?.0 == second && outcomes.last?.1 == .abandoned("this node is leaving the cluster"))
    }

    /// Item 7 of issue 9: an authority established while a server promised a higher epoch to another
    /// candidate used to refuse every grant with "No quorum" for good. A rejection now makes it step
    /// down and propose above, and the grant goes through.
    @Test func anAuthorityRejectedByTheServersStepsDownAndProposesAbove() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 10, policy: .majority, requestedCores: 2)
        h.refreshViews()
        #expect(h.authorities() == [NodeID(1)])
        let stale = h.node(1).epoch
        // Servers 2 and 3 promise a higher epoch to server 2 (a candidacy racing the first at a cold start).
        let higher = Epoch(round: stale.round, serverRank: 1)
        for n: UInt64 in [2, 3] { _ = h.nodes[NodeID(n)]!.receive(.propose(higher), from: NodeID(2), now: h.now) }
        h.acquire(1)
        h.advance(by: .seconds(2))
        #expect(h.authorities() == [NodeID(1)])
        #expect(h.node(1).epoch > higher, "it proposed above the epoch the servers had promised")
        #expect(h.node(1).ownGrant?.cores == 2)
        #expect(h.events[NodeID(1), default: []].contains { if case .steppedDown = $0 { true } else { false } })
    }

    // MARK: No node left without cores

    /// Items 1 and 8: a node held dead long enough for its cores to come back, and restarted: its
    /// reclaim finds them released and is granted anew (it used to be told "released" and stay without).
    @Test func aLateRestartGetsItsCoresBack() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, requestedCores: 2)
        h.refreshViews()
        h.acquire(4)
        let saved = h.node(4).durableState
        h.alive.remove(NodeID(4))
        h.refreshViews()
        h.advance(by: .seconds(31))
        #expect(h.node(1).ledger.cores(of: NodeID(4)) == 0, "returned after the grace period")
        var restarted = try! LicensingNode(id: NodeID(4), mac: 0xA4, terms: h.node(1).terms, licenseValid: true,
                                           settings: h.node(4).settings, requestIDBase: 1_000)
        restarted.restore(saved)
        h.nodes[NodeID(4)] = restarted
        h.alive.insert(NodeID(4))
        h.refreshViews()
        h.acquire(4)
        #expect(h.node(4).ownGrant?.cores == 2)
        #expect(h.validates(4))
    }

    /// Items 3 and 4: a revoked node and a refused node ask again by themselves, once cores are free.
    @Test func aRefusedNodeAsksAgainWhenCoresAreFreedWithTodaysFigures() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 6, requestedCores: 2)
        h.refreshViews()
        for n: UInt64 in 1...3 { h.acquire(n) }
        h.acquire(4)
        #expect(h.node(4).ownGrant == nil)
        h.advance(by: .seconds(1))   // replicas pull the authority's changes within a pull interval
        #expect(h.node(4).validate(unixTime: 1_800_000_000).message.contains("6 are in use"))
        h.acquire(2, cores: 1)   // node 2 shrinks to 1: 5 in use now; node 4's 2 still do not fit
        h.advance(by: .seconds(1))
        #expect(h.node(4).validate(unixTime: 1_800_000_000).message.contains("5 are in use"),
                "the message follows the ledger, not the refusal's old figures: \(h.node(4).validate(unixTime: 1_800_000_000).message)")
        #expect(h.node(4).validate(unixTime: 1_800_000_000).message.contains("asks again"))
        h.release(3)
        h.advance(by: .seconds(1))
        #expect(h.node(4).ownGrant?.cores == 2, "asked again at once when the release reached its replica")
    }

    @Test func noCoresMessagesSayWhatHappened() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 6, requestedCores: 2)
        let unixTime: Int64 = 1_800_000_000
        #expect(h.node(3).validate(unixTime: unixTime).message.contains("it has not asked for any"))
        h.refreshViews()
        h.acquire(3)
        h.release(3)
        let afterRelease = h.node(3).validate(unixTime: unixTime).message
        #expect(afterRelease.contains("it released them") || afterRelease.contains("released its cores"), "\(afterRelease)")
        for message in [afterRelease] { #expect(!message.contains("has not been answered") && !message.contains("waiting for the answer")) }
        // A request in flight says so, and to whom.
        h.alive.remove(NodeID(1)); h.alive.remove(NodeID(2))
        h.refreshViews()
        h.acquire(3)
        #expect(h.node(3).validate(unixTime: unixTime).message.contains("waiting for the answer"))
    }

    /// A node whose grant was reclaimed (held dead past the grace period) or revoked says so; it claims
    /// to wait for an answer only while a request of its own is really pending.
    @Test func noCoresMessagesAfterAReclaimOrARevocationNameTheLoss() {
        let unixTime: Int64 = 1_800_000_000
        func saysWaitingOnlyWhilePending(_ h: LicensingHarness, _ n: UInt64, _ when: String) {
            let message = h.node(n).validate(unixTime: unixTime).message
            #expect(message.contains("waiting for the answer") == (h.node(n).request != nil), "\(when): \(message)")
            #expect(!message.contains("has not been answered"), "\(when): \(message)")
        }
        // Reclaimed: node 3 cut off past the grace period; the authority returns its cores, its lease lapses.
        var h = LicensingHarness(count: 3, servers: 2, maxCores: 6, policy: .majority, requestedCores: 2)
        h.refreshViews()
        h.acquire(3)
        #expect(h.node(3).ownGrant?.cores == 2)
        h.cut = [[NodeID(1), NodeID(3)], [NodeID(2), NodeID(3)]]
        h.refreshViews()
        h.advance(by: .seconds(40))
        #expect(h.node(1).ledger.cores(of: NodeID(3)) == 0, "reclaimed")
        #expect(h.node(3).ownGrant == nil)
        let reclaimed = h.node(3).validate(unixTime: unixTime).message
        #expect(reclaimed.contains("lost its previous grant") || reclaimed.contains("holds no cores:"), "\(reclaimed)")
        saysWaitingOnlyWhilePending(h, 3, "after a reclaim")
        // Healed: it asks again by itself and holds its cores.
        h.cut = []
        h.refreshViews()
        h.advance(by: .seconds(5))
        #expect(h.node(3).ownGrant?.cores == 2, "it got its cores back by itself")
        saysWaitingOnlyWhilePending(h, 3, "after the heal")
    }

    // MARK: Policies and leases

    /// Each node passes every heartbeat on only twice, so now and then one misses a few in a row. It
    /// asks the authority to confirm its grant and keeps its cores; cut off from every authority, it
    /// still stops using them when its lease runs out, not before.
    @Test func aHolderTheHeartbeatsMissAsksAndKeepsItsCores() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, policy: .majority, requestedCores: 2)
        h.refreshViews()
        h.acquire(4)
        let grant = h.node(4).ownGrant
        #expect(grant?.cores == 2)
        h.gossipDeaf = [NodeID(4)]
        for _ in 0..<12 {
            h.advance(by: .seconds(5))
            #expect(h.node(4).ownGrant == grant, "still holding at \(h.now)")
        }
        let renewals = h.node(4).leaseRenewals
        #expect((6...20).contains(renewals), "a renewal each 2.5 heartbeat intervals (7.5 s) without a heartbeat: \(renewals)")
        #expect(h.node(1).ledger.grants[NodeID(4)] == grant, "a renewal changes no ledger")
        h.gossipDeaf = []
        h.advance(by: .seconds(30))
        #expect(h.node(4).leaseRenewals == renewals, "heartbeats that arrive need no asking")

        // Cut off from every server: asking cannot help, and the lease ends when it ends.
        h.cut = [[NodeID(1), NodeID(4)], [NodeID(2), NodeID(4)], [NodeID(3), NodeID(4)]]
        h.gossipDeaf = [NodeID(4)]
        h.advance(by: .seconds(10))
        #expect(h.node(4).ownGrant == grant, "within its lease it keeps its cores")
        h.advance(by: .seconds(10))
        #expect(h.node(4).ownGrant == nil, "past its lease (15 s after the last heartbeat, at most) it stops using them")
    }

    /// Under `available`, the cores of a node held dead come back only while every license server is
    /// alive here: the missing one may be serving it on the other side of a partition.
    @Test func underAvailableNoReclaimWhileAServerIsMissing() {
        var h = LicensingHarness(count: 3, servers: 2, maxCores: 6, requestedCores: 2)
        h.refreshViews()
        h.acquire(3)
        h.cut = [[NodeID(1), NodeID(2)], [NodeID(1), NodeID(3)]]   // server 1 alone, the others together
        h.refreshViews()
        h.advance(by: .seconds(40))
        #expect(h.node(1).isAuthority)
        #expect(h.node(1).ledger.cores(of: NodeID(3)) == 2, "kept: server 2 may be serving node 3")
        #expect(h.node(3).ownGrant?.cores == 2, "node 3 is served by server 2 on its side")
        h.cut = []
        h.alive.remove(NodeID(3))   // now node 3 really dies, with both servers in view
        h.refreshViews()
        h.advance(by: .seconds(31))
        #expect(h.node(1).ledger.cores(of: NodeID(3)) == 0)
    }

    /// A holder that hears from no authority backed by a quorum for a lease stops using its cores, and
    /// gets them back when it hears again.
    @Test func aCutOffHolderStopsUsingItsCoresWithinALease() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 8, policy: .majority, requestedCores: 2)
        h.refreshViews()
        h.acquire(4)
        h.cut = [[NodeID(1), NodeID(4)], [NodeID(2), NodeID(4)], [NodeID(3), NodeID(4)]]
        h.refreshViews()
        h.advance(by: h.node(4).settings.lease + .seconds(1))
        #expect(h.node(4).ownGrant == nil)
        #expect(h.node(4).validate(unixTime: 1_800_000_000).message.contains("no word from a license authority"))
        h.cut = []
        h.refreshViews()
        h.advance(by: .seconds(2))
        #expect(h.node(4).ownGrant?.cores == 2, "reclaimed when it heard again")
    }

    // MARK: Renewals

    /// Item 5: servers holding two versions of one licensee's license keep serving (a renewal rolled out
    /// server by server); another licensee's license still stops everyone.
    @Test func aRenewalIsACompatibleVersionButAnotherLicenseeIsAMismatch() {
        func terms(_ id: String, _ licensee: String) -> LicenseTerms {
            LicenseTerms(id: id, maxCores: 8, hosts: [0xA1, 0xA2, 0xA3], servers: [0xA1, 0xA2, 0xA3], features: ["batch"],
                         expires: LicensingHarness.expiry, licensee: licensee)
        }
        var renewal = LicensingHarness(count: 3, servers: 3, maxCores: 8) { n in n == 2 ? terms("NEW", "Acme") : terms("OLD", "Acme") }
        renewal.refreshViews()
        #expect(renewal.authorities() == [NodeID(1)])
        #expect(renewal.node(3).mismatch.isEmpty && !renewal.node(3).licenseMix.isEmpty)
        renewal.acquire(3)
        #expect(renewal.node(3).ownGrant?.cores == 2)
        #expect(renewal.node(1).serviceProblem(now: renewal.now) == nil, "a mix is not a fault")

        var foreign = LicensingHarness(count: 3, servers: 3, maxCores: 8) { n in n == 2 ? terms("OTHER", "Globex") : terms("OLD", "Acme") }
        foreign.refreshViews()
        #expect(foreign.authorities().isEmpty)
        #expect(!foreign.node(3).mismatch.isEmpty)
        #expect(foreign.node(3).serviceProblem(now: foreign.now)?.contains("different customers") == true)
    }
}

extension RequestOutcome {
    var grant: Grant? { if case .granted(let grant) = self { grant } else { nil } }
}
