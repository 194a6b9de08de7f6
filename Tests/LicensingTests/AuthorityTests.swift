import Testing
@testable import Licensing
import SWIM

@Suite struct AuthorityTests {
    @Test func lowestEligibleServerBecomesAuthorityWithAMajority() {
        var h = LicensingHarness(count: 5, servers: 3, maxCores: 10)
        h.refreshViews()
        #expect(h.authorities() == [NodeID(1)])
        #expect(h.node(1).epoch != .none)
        for n in 2...5 { #expect(h.node(UInt64(n)).authority == NodeID(1), "node \(n) learned the authority") }
    }

    /// The next server in line, and only it, checks on the authority every interval; it stops when
    /// it is no longer next (here: it becomes the authority itself).
    @Test func theNextServerInLineWatchesTheAuthority() {
        var h = LicensingHarness(count: 5, servers: 3, maxCores: 10)
        for n: UInt64 in 1...5 { h.nodes[NodeID(n)]!.authorityWatchInterval = .milliseconds(500) }
        h.refreshViews()
        h.probes = [:]
        h.advance(by: .milliseconds(2_100))
        #expect(h.probes[NodeID(2)] == Array(repeating: NodeID(1), count: 4), "every 500 ms")
        #expect(h.probes.keys.sorted() == [NodeID(2)], "nobody else watches")
        h.alive.remove(NodeID(1))
        h.refreshViews()
        h.advance(by: .seconds(1))
        #expect(h.authorities() == [NodeID(2)])
        h.probes = [:]
        h.advance(by: .milliseconds(1_100))
        #expect(h.probes[NodeID(2)] == nil, "the new authority watches nobody")
        #expect(h.probes[NodeID(3)] == [NodeID(2), NodeID(2)], "the next one watches it")
    }

    @Test func grantsUntilTheLimitThenRefusesWithTheFieldMessage() {
        var h = LicensingHarness(count: 5, servers: 3, maxCores: 7, requestedCores: 2)
        h.refreshViews()
        for n in 1...3 { h.acquire(UInt64(n)) }
        for n in 1...3 { #expect(h.node(UInt64(n)).ownGrant?.cores == 2) }
        h.acquire(4)
        #expect(h.node(4).ownGrant == nil)
        let refusal = h.node(4).lastRefusal
        #expect(refusal?.description.hasPrefix("CPU limit exhausted. Can't allocate more CPUs.") == true)
        #expect(refusal?.description.contains("allows 7 cores") == true)
        #expect(refusal?.description.contains("6 are in use") == true)
        #expect(refusal?.description.contains("asked for 2") == true)
        #expect(refusal.map { if case .cpuLimitExhausted(_, _, _, let holders) = $0 { holders.count == 3 } else { false } } == true)
        #expect(!h.validates(4))
        #expect(h.node(4).validate(feature: "batch", unixTime: 1_800_000_000).message.contains("CPU limit exhausted. Can't allocate more CPUs."))
        // One core still fits.
        h.acquire(4, cores: 1)
        #expect(h.node(4).ownGrant?.cores == 1)
        #expect(h.validates(4))
        // Every replica holds the same ledger, once each pulled what it lacked.
        h.advance(by: .seconds(2))
        let ledger = h.node(1).ledger
        for n in 2...5 { #expect(h.node(UInt64(n)).ledger == ledger) }
        #expect(ledger.total() == 7)
    }

    @Test func releaseReturnsCores() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 4, requestedCores: 2)
        h.refreshViews()
        h.acquire(2); h.acquire(3)
        h.acquire(4)
        #expect(h.node(4).ownGrant == nil)
        h.release(2)
        #expect(h.node(2).ownGrant == nil)
        #expect(!h.validates(2))
        h.acquire(4)
        #expect(h.node(4).ownGrant?.cores == 2)
    }

    @Test func anUnlistedMACIsRefusedWithTheFieldMessage() {
        // Node 4's MAC is not among the license's hosts.
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 10) { n in
            LicensingHarness.terms(servers: [0xA1, 0xA2, 0xA3], hosts: [0xA1, 0xA2, 0xA3], maxCores: 10)
        }
        h.refreshViews()
        h.acquire(4)
        let message = h.node(4).lastRefusal?.description ?? ""
        #expect(message.hasPrefix("Invalid license for multi-server environment setup."))
        #expect(message.contains("00:00:00:00:00:a4"))
        #expect(message.contains("check the MAC ids given when the license was generated"))
    }

    @Test func authorityCrashTheNextTakesOverWithTheWholeLedger() {
        var h = LicensingHarness(count: 5, servers: 3, maxCores: 10, requestedCores: 2)
        h.refreshViews()
        for n in 1...5 { h.acquire(UInt64(n)) }
        let before = h.node(2).ledger
        #expect(before.total() == 10)
        let firstEpoch = h.node(2).epoch
        h.alive.remove(NodeID(1))        // crash: no leave, no release
        h.refreshViews()
        #expect(h.authorities() == [NodeID(2)])
        #expect(h.node(2).epoch > firstEpoch)
        // Nobody lost a grant, every validation still passes, and the dead node's cores are still counted.
        for n in 2...5 { #expect(h.validates(UInt64(n))) }
        #expect(h.node(2).ledger.total() == 10)
        // The new authority answers at once: a refusal proves it counted everything.
        h.acquire(3, cores: 3)
        #expect(h.node(3).lastRefusal?.description.hasPrefix("CPU limit exhausted") == true)
        // After the grace period the dead node's cores come back.
        h.advance(by: .seconds(31))
        #expect(h.node(2).ledger.cores(of: NodeID(1)) == 0)
        h.acquire(3, cores: 3)
        #expect(h.node(3).ownGrant?.cores == 3)
    }

    @Test func aCutOffAuthorityCannotCompleteAGrantAndStepsDown() {
        var h = LicensingHarness(count: 5, servers: 3, maxCores: 10, requestedCores: 2)
        h.refreshViews()
        // Node 1 (authority) is cut off from the other servers but still reaches node 4.
        h.cut = [[NodeID(1), NodeID(2)], [NodeID(1), NodeID(3)], [NodeID(1), NodeID(5)]]
        h.refreshViews()
        #expect(h.node(2).isAuthority, "2 and 3 are a majority of the 3 servers")
        h.acquire(4)   // 4 still sees 1 as authority (epoch it knows) or 2; whichever answers must be safe
        h.advance(by: .seconds(2))
        let grantedByOld = h.events[NodeID(1), default: []].contains { if case .granted = $0 { true } else { false } }
        #expect(!grantedByOld, "the minority authority never completes a grant")
        // Heal: the old authority learns the higher epoch and steps down.
        h.cut = []
        h.refreshViews()
        h.advance(by: .seconds(1))
        #expect(h.authorities() == [NodeID(1)] || h.authorities() == [NodeID(2)])
        #expect(h.authorities().count == 1)
    }

    @Test func mismatchedLicensesOnServersAreReportedAndNobodyGrants() {
        var h = LicensingHarness(count: 3, servers: 3, maxCores: 10) { n in
            LicensingHarness.terms(servers: [0xA1, 0xA2, 0xA3], hosts: [0xA1, 0xA2, 0xA3], maxCores: 10,
                                   id: n == 2 ? "LIC-OTHER" : "LIC-1")
        }
        h.refreshViews()
        #expect(h.authorities().isEmpty)
        let reported = h.events[NodeID(1), default: []].compactMap { if case .licenseMismatch(let list) = $0 { list } else { nil } }
        #expect(reported.last?.contains { $0.node == NodeID(2) && $0.licenseID == "LIC-OTHER" } == true)
        #expect(reported.last?.contains { $0.node == NodeID(1) && $0.licenseID == "LIC-1" } == true)
    }

    @Test func twoServersUseTheAvailablePolicyAndTheSurvivorGrants() {
        var h = LicensingHarness(count: 3, servers: 2, maxCores: 6, requestedCores: 2)
        #expect(h.node(1).policy == .available)
        h.refreshViews()
        h.acquire(3)
        h.alive.remove(NodeID(1))
        h.refreshViews()
        #expect(h.authorities() == [NodeID(2)])
        h.acquire(2)
        #expect(h.node(2).ownGrant?.cores == 2)
        #expect(h.validates(3))
    }

    @Test func availablePolicyExcessIsRevokedOnHealNewestFirst() {
        var h = LicensingHarness(count: 4, servers: 2, maxCores: 4, requestedCores: 2)
        h.refreshViews()
        h.acquire(1)
        // Partition {1, 3} | {2, 4}: both sides elect an authority and grant the 2 free cores.
        h.cut = [[NodeID(1), NodeID(2)], [NodeID(1), NodeID(4)], [NodeID(2), NodeID(3)], [NodeID(3), NodeID(4)]]
        h.refreshViews()
        #expect(h.authorities() == [NodeID(1), NodeID(2)])
        h.acquire(3)
        h.acquire(4)
        #expect(h.coresHeldByLiveNodes() == 6, "bounded excess: the free cores granted once per side")
        h.cut = []
        h.refreshViews()
        h.advance(by: .seconds(2))
        #expect(h.authorities().count == 1)
        let ledger = h.node(1).ledger
        for n in 2...4 { #expect(h.node(UInt64(n)).ledger == ledger, "ledgers converge after heal") }
        #expect(ledger.total() <= 4)
        #expect(h.coresHeldByLiveNodes() <= 4)
        let overLimit = h.events.values.joined().compactMap { if case .ledgerOverLimit(let total, let limit) = $0 { (total, limit) } else { nil } }
        #expect(overLimit.contains { $0 == (6, 4) }, "the repair is reported: \(overLimit)")
    }

    @Test func aReturningLowestServerCatchesUpBeforeGranting() {
        var h = LicensingHarness(count: 4, servers: 3, maxCores: 4, requestedCores: 2)
        h.refreshViews()
        h.alive.remove(NodeID(1))
        h.refreshViews()
        h.acquire(3); h.acquire(4)
        #expect(h.node(2).ledger.total() == 4)
        // Node 1 restarts with an empty ledger and the lowest ID.
        h.nodes[NodeID(1)] = try! LicensingNode(id: NodeID(1), mac: 0xA1, terms: h.node(2).terms, licenseValid: true)
        h.stored[NodeID(1)] = nil
        h.alive.insert(NodeID(1))
        h.refreshViews()
        h.advance(by: .seconds(2))
        #expect(h.authorities() == [NodeID(1)])
        #expect(h.node(1).ledger.total() == 4, "it took over with the ledger it collected from a majority")
        h.acquire(1)
        #expect(h.node(1).lastRefusal?.description.hasPrefix("CPU limit exhausted") == true)
    }
}

@Suite struct ValidationTests {
    @Test func validationIsLocalAndExplainsEveryDenial() throws {
        let terms = LicenseTerms(id: "L", maxCores: 4, hosts: [1], servers: [1], features: ["batch"],
                                 notBefore: 1_000, expires: 2_000)
        var node = try LicensingNode(id: NodeID(1), mac: 1, terms: terms, licenseValid: true)
        #expect(node.validate(unixTime: 500).message.contains("not valid before 1970-01-01"))
        #expect(node.validate(unixTime: 2_000).message.contains("expired on 1970-01-01"))
        #expect(node.validate(feature: "web", unixTime: 1_500).message.contains("Feature 'web' is not in license L"))
        #expect(node.validate(unixTime: 1_500).message.contains("it has not asked for any"))
        let none = try LicensingNode(id: NodeID(1), mac: 1, terms: nil, licenseValid: false)
        #expect(none.validate(unixTime: 1_500).message.contains("No license is installed"))
        _ = node.updateMembership([], now: .zero)
        _ = node.membershipSynced(now: .zero)
        _ = node.acquire(cores: 2, now: .zero)
        #expect(node.validate(feature: "batch", unixTime: 1_500).isAllowed, "a single server grants itself")
    }

    @Test func datesFormat() {
        #expect(formatUnixDate(0) == "1970-01-01")
        #expect(formatUnixDate(1_798_761_600) == "2027-01-01")
        #expect(formatUnixDate(951_782_400) == "2000-02-29")
    }
}

@Suite struct LedgerTests {
    @Test func mergeIsIdempotentAndOrderIndependent() {
        var rng = SeededGenerator(seed: 9)
        var grants: [Grant] = []
        for i in 0..<200 {
            let epoch = Epoch(round: UInt32(rng.below(5) + 1), serverRank: rng.below(3))
            grants.append(Grant(node: NodeID(UInt64(rng.below(12))), cores: rng.below(4),
                                stamp: Stamp(epoch: epoch, sequence: UInt32(i))))
        }
        let reference = Ledger(grants)
        for _ in 0..<20 {
            var shuffled = grants
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.below(i + 1)) }
            var ledger = Ledger()
            for g in shuffled { ledger.merge(g); ledger.merge(g) }
            #expect(ledger == reference)
        }
    }

    @Test func payloadsRoundTripAndGarbageIsDropped() {
        let head = LedgerHead(epoch: Epoch(round: 3, serverRank: 1), counter: 5, authority: NodeID(0xBEEF), digest: 0x1234_5678_9ABC_DEF0,
                              count: 12, through: Stamp(epoch: Epoch(round: 3, serverRank: 1), sequence: 7))
        #expect(LedgerPayloads.decode(LedgerPayloads.payload(head: head)) == .head(head))
        var nextHead = head
        nextHead.counter += 1
        #expect(LedgerPayloads.payload(head: head).version < LedgerPayloads.payload(head: nextHead).version, "each announcement supersedes the last")
        let epochPayload = LedgerPayloads.payload(epoch: Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 77)
        #expect(LedgerPayloads.decode(epochPayload) == .epoch(Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 77, headCounter: 0, clocks: nil))
        let withClocks = LedgerPayloads.payload(epoch: Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 77,
                                                clocks: ServerClocks(median: 1_800_000_000, latest: 1_800_000_060))
        #expect(LedgerPayloads.decode(withClocks) == .epoch(Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 77, headCounter: 0,
                                                             clocks: ServerClocks(median: 1_800_000_000, latest: 1_800_000_060)))
        let nextBeat = LedgerPayloads.payload(epoch: Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 78)
        let nextEpoch = LedgerPayloads.payload(epoch: Epoch(round: 5, serverRank: 0), authority: NodeID(9), beat: 0)
        #expect(epochPayload.version < nextBeat.version && nextBeat.version < nextEpoch.version, "every heartbeat is news; a new epoch beats them all")
        #expect(LedgerPayloads.decode(AppPayload(key: "lm.grant.zz", version: 1, value: [0, 0, 0, 0, 0, 0, 0, 1])) == nil)
        #expect(LedgerPayloads.decode(AppPayload(key: "lm.grant.0000000000000001", version: 1, value: [1])) == nil)
        #expect(LedgerPayloads.decode(AppPayload(key: "lm.h", version: 1, value: [0, 0, 0, 0, 0, 0, 0, 1])) == nil, "a head has four words")
        #expect(LedgerPayloads.decode(AppPayload(key: "lm.e", version: 1, value: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0x80])) == nil, "a clock cut short")
        #expect(LedgerPayloads.decode(AppPayload(key: "lm.e", version: 1, value: [0, 0, 0, 0, 0, 0, 0, 1])) == nil, "the head counter is missing")
        let past = LedgerPayloads.payload(epoch: Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 1, headCounter: 300,
                                          clocks: ServerClocks(median: 1_800_000_000, latest: 1_799_999_000))
        #expect(LedgerPayloads.decode(past) == .epoch(Epoch(round: 4, serverRank: 2), authority: NodeID(9), beat: 1, headCounter: 300,
                                                       clocks: ServerClocks(median: 1_800_000_000, latest: 1_799_999_000)),
                "a latest clock behind the median (skew) round-trips too")
        #expect(past.value.count <= 8 + 2 + 5 + 2, "the head counter and the clocks take a few bytes, not words")
        #expect(LedgerPayloads.decode(AppPayload(key: "other", version: 1, value: [])) == nil)
    }

    @Test func advertsRoundTripAndRejectGarbage() {
        let advert = NodeAdvert(mac: 0x0A0B0C0D0E0F, licenseID: "06dea3c8cf93aea3", licenseValid: true)
        #expect(NodeAdvert(metadata: advert.metadata) == advert)
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<2_000 {
            let bytes = (0..<rng.below(30)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = NodeAdvert(metadata: bytes)   // must not trap
        }
        #expect(NodeAdvert(metadata: []) == nil)
    }

    @Test func licensingMessagesRoundTripAndGarbageNeverTraps() {
        let g = Grant(node: NodeID(3), cores: 2, stamp: Stamp(epoch: Epoch(round: 1, serverRank: 0), sequence: 1))
        let messages: [LicensingMessage] = [
            .acquire(requestID: 1, life: 7, basis: .zero, cores: 4, mac: 0xA1, held: nil),
            .acquire(requestID: 2, life: 7, basis: g.stamp, cores: 4, mac: 0xA1, held: g),
            .release(requestID: 3, life: 7, basis: g.stamp), .reply(requestID: 4, outcome: .granted(g)), .reply(requestID: 5, outcome: .released(g)),
            .reply(requestID: 6, outcome: .stale(current: g)), .reply(requestID: 7, outcome: .stale(current: nil)),
            .reply(requestID: 6, outcome: .notAuthority(authority: NodeID(2))), .reply(requestID: 7, outcome: .notAuthority(authority: nil)),
            .reply(requestID: 8, outcome: .refused(.cpuLimitExhausted(limit: 8, inUse: 6, requested: 4, holders: [g]))),
            .reply(requestID: 9, outcome: .refused(.macNotListed(mac: 0xA5))),
            .reply(requestID: 10, outcome: .refused(.noQuorum(reached: 1, needed: 2))),
            .reply(requestID: 11, outcome: .refused(.invalidRequest("x"))),
            .propose(Epoch(round: 2, serverRank: 1)), .promise(Epoch(round: 2, serverRank: 1), part: 0, of: 2, grants: [g, g]),
            .reject(Epoch(round: 1, serverRank: 0), promised: Epoch(round: 3, serverRank: 2)),
            .replicate(Epoch(round: 2, serverRank: 0), g), .replicated(Epoch(round: 2, serverRank: 0), g.stamp),
        ]
        for message in messages {
            let bytes = LicensingCodec.encode(message)
            #expect(LicensingCodec.decode(bytes) == message)
            #expect(bytes.count <= AppMessage.maximumLength)
            for cut in 0..<bytes.count { _ = LicensingCodec.decode(Array(bytes[..<cut])) }
        }
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<20_000 {
            let bytes = (0..<rng.below(60)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = LicensingCodec.decode(bytes)
        }
        // A full promise part fits one application message.
        let many = (0..<LicensingCodec.grantsPerPart).map {
            Grant(node: NodeID(UInt64.max - UInt64($0)), cores: 1 << 19, stamp: Stamp(rawValue: .max))
        }
        #expect(LicensingCodec.encode(.promise(Epoch(rawValue: .max), part: 4000, of: 4095, grants: many)).count <= AppMessage.maximumLength)
    }
}
