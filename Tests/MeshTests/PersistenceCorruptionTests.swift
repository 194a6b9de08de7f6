import Crypto
import Foundation
import Licensing
@testable import Mesh
import SmallFiles
import SWIM
import Testing

/// Damaged, truncated, unknown and foreign files are reported, moved aside and never trusted.
@Suite struct PersistenceCorruptionTests {
    /// Loads `kind` and expects it set aside with `problem` (nil: any problem), moved to a
    /// `.corrupt-` name holding the original bytes, and a second load to find nothing.
    static func expectSetAside(_ fixture: PersistenceFixture, _ directory: DataDirectory, _ kind: DataFileKind,
                               where matches: (DataFileProblem) -> Bool = { _ in true },
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let original = fixture.bytes(kind)
        let wasFile = SmallFile.kind(of: fixture.file(kind)) == .file
        let result: SetAsideFile?
        switch kind {
        case .ledger: result = try directory.loadLedger().setAsideFile
        case .ownGrant: result = try directory.loadOwnGrant().setAsideFile
        case .boot: result = try directory.beginBoot().setAside
        case .freshness: result = try directory.beginEnvelopeLife(unixMicroseconds: 1).setAside
        }
        guard let result else {
            Issue.record("the \(kind) was trusted", sourceLocation: sourceLocation)
            return
        }
        #expect(matches(result.problem), "\(result.problem)", sourceLocation: sourceLocation)
        #expect(result.path == fixture.file(kind), sourceLocation: sourceLocation)
        #expect(result.movedTo.hasPrefix(fixture.file(kind) + ".corrupt-20260101T000000Z"), "\(result.movedTo)", sourceLocation: sourceLocation)
        if wasFile {
            #expect(FileManager.default.contents(atPath: result.movedTo).map { Array($0) } == original, sourceLocation: sourceLocation)
        } else {
            #expect(SmallFile.exists(result.movedTo), sourceLocation: sourceLocation)
        }
        #expect(result.description.contains("moved it to \(result.movedTo) and starting without it"), sourceLocation: sourceLocation)
        if kind != .boot && kind != .freshness {   // those two are written again at once
            #expect(!FileManager.default.fileExists(atPath: fixture.file(kind)), sourceLocation: sourceLocation)
        }
        try? FileManager.default.removeItem(atPath: result.movedTo)
    }

    @Test func everySingleBitFlipIsDetected() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        try directory.saveOwnGrant(Grant(node: PersistenceFixture.node, cores: 3, stamp: Stamp(rawValue: 99)))
        let good = fixture.bytes(.ownGrant)
        for index in good.indices {
            for bit in [0, 3, 7] {
                var damaged = good
                damaged[index] ^= 1 << bit
                fixture.overwrite(.ownGrant, with: damaged)
                try Self.expectSetAside(fixture, directory, .ownGrant)
            }
        }
    }

    @Test func everyTruncationIsDetected() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        try directory.saveLedger(PersistenceFixture.sampleLedger)
        let good = fixture.bytes(.ledger)
        for length in 0..<good.count {
            fixture.overwrite(.ledger, with: Array(good.prefix(length)))
            try Self.expectSetAside(fixture, directory, .ledger) { problem in
                if case .truncated = problem { return true }
                return length >= 1 && length < 4 ? problem == .notADataFile : false
            }
        }
        fixture.overwrite(.ledger, with: good + [0])
        try Self.expectSetAside(fixture, directory, .ledger) { $0 == .trailingBytes(size: good.count + 1, expected: good.count) }
    }

    @Test func garbageUnknownVersionsAndWrongKinds() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        fixture.overwrite(.ledger, with: Array("{\"grants\": []}".utf8))
        try Self.expectSetAside(fixture, directory, .ledger) { $0 == .notADataFile }

        try directory.saveLedger(PersistenceFixture.sampleLedger)
        var newer = fixture.bytes(.ledger)
        newer[5] = 2 // version 2, checksum recomputed: a newer agent's file
        newer = Array(newer.dropLast(32)) + Crypto.SHA256.hash(newer.dropLast(32))
        fixture.overwrite(.ledger, with: newer)
        try Self.expectSetAside(fixture, directory, .ledger) { $0 == .unsupportedVersion(2) }

        // An intact boot record copied over the ledger.
        _ = try directory.beginBoot()
        fixture.overwrite(.ledger, with: fixture.bytes(.boot))
        try Self.expectSetAside(fixture, directory, .ledger) { $0 == .wrongKind(found: DataFileKind.boot.rawValue, expected: .ledger) }

        // A directory where the file should be.
        try FileManager.default.createDirectory(atPath: fixture.file(.ownGrant), withIntermediateDirectories: false)
        try Self.expectSetAside(fixture, directory, .ownGrant) { $0 == .notAFile }
    }

    @Test func intactEnvelopeWithNonsenseInside() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        let payloads: [[UInt8]] = [
            [1, 2, 3],                                                   // too short
            Array(repeating: 0, count: 25) + [0, 0, 0, 1],               // claims one grant, holds none
            LedgerSnapshot.sampleWithDuplicate,                          // a node twice
        ]
        for payload in payloads {
            fixture.overwrite(.ledger, with: DataFileFormat.encode(kind: .ledger, clusterName: "c1", nodeID: PersistenceFixture.node, payload: payload))
            try Self.expectSetAside(fixture, directory, .ledger) { if case .malformedPayload = $0 { true } else { false } }
        }
        // An own grant naming another node.
        var record: [UInt8] = []
        Grant(node: NodeID(0x99), cores: 1, stamp: .zero).appendRecord(to: &record)
        fixture.overwrite(.ownGrant, with: DataFileFormat.encode(kind: .ownGrant, clusterName: "c1", nodeID: PersistenceFixture.node, payload: record))
        try Self.expectSetAside(fixture, directory, .ownGrant) { $0 == .malformedPayload("the grant is for node 0000000000000099, not this node 0000000000000042") }
    }

    @Test func foreignFilesAreRejected() throws {
        let fixture = PersistenceFixture()
        do {
            let other = try fixture.open(cluster: "staging")
            try other.saveLedger(PersistenceFixture.sampleLedger)
            _ = try other.beginBoot()
        }
        do {
            let directory = try fixture.open()
            try Self.expectSetAside(fixture, directory, .ledger) { $0 == .otherCluster("staging", ours: "c1") && $0.isForeign }
            #expect(DataFileProblem.otherCluster("staging", ours: "c1").description == "belongs to cluster 'staging', but this agent is in cluster 'c1'")
            // The boot record of the other cluster is set aside too, and counting starts again.
            let boot = try directory.beginBoot()
            #expect(boot.boot == 1 && boot.incarnation == 0 && boot.setAside?.problem.isForeign == true)
        }

        do {
            let otherNode = try fixture.open(node: NodeID(0x43))
            try otherNode.saveLedger(PersistenceFixture.sampleLedger)
        }
        let again = try fixture.open()
        try Self.expectSetAside(fixture, again, .ledger) { $0 == .otherNode(NodeID(0x43), ours: PersistenceFixture.node) }
        #expect(DataFileProblem.otherNode(NodeID(0x43), ours: NodeID(0x42)).description.contains("was the data directory copied from another host?"))
    }

    @Test func aSecondSetAsideInTheSameSecondGetsItsOwnName() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        fixture.overwrite(.ledger, with: [1])
        let first = try directory.loadLedger().setAsideFile
        fixture.overwrite(.ledger, with: [2])
        let second = try directory.loadLedger().setAsideFile
        #expect(first?.movedTo == fixture.file(.ledger) + ".corrupt-20260101T000000Z")
        #expect(second?.movedTo == fixture.file(.ledger) + ".corrupt-20260101T000000Z-2")
    }

    @Test func oversizedFilesAreNotReadIntoMemory() throws {
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        let handle = try #require(FileHandle(forWritingAtPath: { fixture.overwrite(.ledger, with: []); return fixture.file(.ledger) }()))
        try handle.truncate(atOffset: UInt64(DataDirectory.maximumFileSize + 1))
        try handle.close()
        let result = try directory.loadLedger().setAsideFile
        #expect(result?.problem == .tooLarge(limit: DataDirectory.maximumFileSize))
    }
}

extension LedgerSnapshot {
    /// A ledger payload listing node 1 twice.
    static var sampleWithDuplicate: [UInt8] {
        var out: [UInt8] = Array(repeating: 0, count: 21)
        out += [0, 0, 0, 2]
        for _ in 0..<2 { Grant(node: NodeID(1), cores: 1, stamp: .zero).appendRecord(to: &out) }
        return out
    }
}
