import Foundation
import Licensing
@testable import Mesh
import SWIM
import Testing
import Wire

/// A data directory in a scratch directory, for cluster "c1" and node 0x42 unless told otherwise.
struct PersistenceFixture {
    let scratch = ScratchDirectory("licmesh-data")
    var path: String { scratch.file("data") }
    static let node = NodeID(0x42)
    static let fixedNow: Int64 = 1_767_225_600 // 2026-01-01T00:00:00Z

    func open(cluster: String = "c1", node: NodeID = PersistenceFixture.node) throws(PersistenceError) -> DataDirectory {
        try DataDirectory.open(path: path, clusterName: cluster, nodeID: node, now: { PersistenceFixture.fixedNow })
    }

    func file(_ kind: DataFileKind) -> String { path + "/" + kind.fileName }

    func bytes(_ kind: DataFileKind) -> [UInt8] { FileManager.default.contents(atPath: file(kind)).map { Array($0) } ?? [] }

    func overwrite(_ kind: DataFileKind, with bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: file(kind), contents: Data(bytes))
    }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    static let sampleLedger = LedgerSnapshot(
        ledger: Ledger([
            Grant(node: NodeID(0x42), cores: 8, stamp: Stamp(epoch: Epoch(round: 3, serverRank: 1), sequence: 7)),
            Grant(node: NodeID(0x43), cores: 0, stamp: Stamp(epoch: Epoch(round: 2, serverRank: 0), sequence: 1)),
            Grant(node: NodeID(UInt64.max), cores: Int(Int32.max), stamp: Stamp(rawValue: .max)),
        ]),
        epoch: Epoch(round: 3, serverRank: 1), authority: NodeID(0x10), savedAt: fixedNow)
}

@Suite struct PersistenceRoundTripTests {
    @Test func nothingSavedInAFreshDirectory() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        #expect(try directory.loadLedger() == .nothingSaved)
        #expect(try directory.loadOwnGrant() == .nothingSaved)
        #expect(directory.notices == ["created data directory \(fixture.path) (mode 700)"])
    }

    @Test func bootCounterIncrementsAcrossRestartsAndIncarnationsStartAboveEveryEarlierLife() throws {
        let fixture = PersistenceFixture()
        var first: BootStart?
        do {
            let directory = try fixture.open()
            first = try directory.beginBoot()
            // This life refutes twice: incarnation 1, then 5.
            try directory.recordIncarnation(1)
            try directory.recordIncarnation(5)
            try directory.recordIncarnation(3) // lower: ignored
        }
        #expect(first == BootStart(boot: 1, incarnation: 0, previous: nil, setAside: nil))
        let second = try fixture.open().beginBoot()
        #expect(second.boot == 2)
        #expect(second.previous == BootRecord(boot: 1, incarnationFloor: 5))
        #expect(second.incarnation == 6)
        // A life that never refuted still starts above the previous start.
        let third = try fixture.open().beginBoot()
        #expect(third.boot == 3 && third.incarnation == 7)
    }

    /// Each life seals above the previous one (a clock set back included) and gets back the floors it
    /// saved; a damaged record is set aside and the life starts from the clock alone.
    @Test func envelopeLivesOrderAndTheirFloorsComeBack() throws {
        let fixture = PersistenceFixture()
        let floors = [SenderFloor(sender: NodeID(7), boot: 99, datagrams: 12, streams: 3),
                      SenderFloor(sender: NodeID(.max), boot: .max, datagrams: .max, streams: 0)]
        let first = try fixture.open().beginEnvelopeLife(unixMicroseconds: 5_000_000)
        #expect(first.record == FreshnessRecord(ownBoot: 5_000_000, floors: []))
        try fixture.open().saveFreshness(FreshnessRecord(ownBoot: first.record.ownBoot, floors: floors))
        let second = try fixture.open().beginEnvelopeLife(unixMicroseconds: 4_000_000)   // the clock went back
        #expect(second.record == FreshnessRecord(ownBoot: 5_000_001, floors: floors))
        let third = try fixture.open().beginEnvelopeLife(unixMicroseconds: 9_000_000)
        #expect(third.record.ownBoot == 9_000_000 && third.record.floors == floors)

        var damaged = fixture.bytes(.freshness)
        damaged[damaged.count - 1] ^= 1
        fixture.overwrite(.freshness, with: damaged)
        let afterDamage = try fixture.open().beginEnvelopeLife(unixMicroseconds: 9_500_000)
        #expect(afterDamage.setAside != nil)
        #expect(afterDamage.record == FreshnessRecord(ownBoot: 9_500_000, floors: []))
    }

    @Test func ledgerSnapshotRoundTrips() throws {
        let fixture = PersistenceFixture()
        try fixture.open().saveLedger(PersistenceFixture.sampleLedger)
        #expect(try fixture.open().loadLedger() == .found(PersistenceFixture.sampleLedger))
        var empty = PersistenceFixture.sampleLedger
        empty.ledger = Ledger()
        empty.authority = nil
        empty.epoch = .none
        try fixture.open().saveLedger(empty)
        #expect(try fixture.open().loadLedger() == .found(empty))
    }

    @Test func saveLedgerConvenienceStampsTheTime() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        try directory.saveLedger(PersistenceFixture.sampleLedger.ledger, epoch: Epoch(rawValue: 9), authority: nil)
        let loaded = try directory.loadLedger().value
        #expect(loaded?.savedAt == PersistenceFixture.fixedNow && loaded?.epoch == Epoch(rawValue: 9) && loaded?.authority == nil)
    }

    @Test func ownGrantRoundTripsAndIsRemovedOnRelease() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        let grant = Grant(node: PersistenceFixture.node, cores: 6, stamp: Stamp(epoch: Epoch(round: 1, serverRank: 2), sequence: 4))
        try directory.saveOwnGrant(grant)
        #expect(try directory.loadOwnGrant() == .found(grant))
        try directory.saveOwnGrant(nil)
        #expect(try directory.loadOwnGrant() == .nothingSaved)
        try directory.saveOwnGrant(nil) // releasing twice is fine
        let other = Grant(node: NodeID(7), cores: 1, stamp: .zero)
        #expect(throws: PersistenceError.self) { try directory.saveOwnGrant(other) }
    }

    @Test func writesLeaveOnlyTheirFilesBehind() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        _ = try directory.beginBoot()
        for _ in 0..<20 { try directory.saveLedger(PersistenceFixture.sampleLedger) }
        try directory.saveOwnGrant(Grant(node: PersistenceFixture.node, cores: 1, stamp: .zero))
        #expect(fixture.names() == ["boot.dat", "ledger.dat", "lock", "own-grant.dat"])
        var status = stat()
        #expect(stat(fixture.file(.ledger), &status) == 0 && status.st_mode & 0o777 == 0o600)
    }

    @Test func concurrentSavesNeverTearAFile() async throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for round in 0..<25 {
                        var snapshot = PersistenceFixture.sampleLedger
                        snapshot.savedAt = Int64(worker * 100 + round)
                        try? directory.saveLedger(snapshot)
                    }
                }
            }
        }
        let loaded = try directory.loadLedger()
        #expect(loaded.value?.ledger == PersistenceFixture.sampleLedger.ledger)
        #expect(fixture.names() == ["ledger.dat", "lock"])
    }
}
