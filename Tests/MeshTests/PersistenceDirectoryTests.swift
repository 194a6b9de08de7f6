import Foundation
@testable import Mesh
import SWIM
import Synchronization
import Testing

/// Creating, locking and cleaning the data directory, and the errors that stop the agent.
@Suite struct PersistenceDirectoryTests {
    @Test func createdWithMode700IncludingParents() throws {
        let scratch = ScratchDirectory("licmesh-data")
        let path = scratch.file("a/b/data")
        let directory = try DataDirectory.open(path: path, clusterName: "c1", nodeID: NodeID(1))
        for level in [scratch.file("a"), scratch.file("a/b"), path] {
            var status = stat()
            #expect(stat(level, &status) == 0 && status.st_mode & 0o777 == 0o700, "\(level)")
        }
        #expect(directory.notices.contains("created data directory \(path) (mode 700)"))
    }

    @Test func existingDirectoryOpenToOthersGetsANotice() throws {
        let scratch = ScratchDirectory("licmesh-data")
        chmod(scratch.path, 0o755)
        let directory = try DataDirectory.open(path: scratch.path, clusterName: "c1", nodeID: NodeID(1))
        #expect(directory.notices == ["data directory \(scratch.path) is accessible to other users (mode 755); chmod 700 it"])
    }

    @Test func leftoverTemporaryFilesAreIgnoredAndCleaned() throws {
        let fixture = PersistenceFixture()
        do {
            let directory = try fixture.open()
            try directory.saveLedger(PersistenceFixture.sampleLedger)
        }
        // A crash between creating the temporary file and renaming it: a half-written newer ledger.
        let temporary = fixture.file(.ledger) + ".tmp.12345.1"
        _ = FileManager.default.createFile(atPath: temporary, contents: Data([0x4C, 0x4D, 0x44]))
        let boot = fixture.file(.boot) + ".tmp.999.7"
        _ = FileManager.default.createFile(atPath: boot, contents: Data())
        let unrelated = fixture.path + "/notes.tmp.1"
        _ = FileManager.default.createFile(atPath: unrelated, contents: Data())
        let directory = try fixture.open()
        #expect(directory.notices.count == 2, "\(directory.notices)")
        #expect(directory.notices.contains("removed ledger.dat.tmp.12345.1, a temporary file left by an interrupted write"))
        #expect(fixture.names() == ["ledger.dat", "lock", "notes.tmp.1"], "only our own temporary files are removed")
        #expect(try directory.loadLedger() == .found(PersistenceFixture.sampleLedger), "the last complete write survives")
    }

    @Test func oneAgentPerDirectory() throws {
        let fixture = PersistenceFixture()
        var first: DataDirectory? = try fixture.open()
        do {
            _ = try fixture.open()
            Issue.record("opened a directory in use")
        } catch {
            #expect(error.kind == .inUse)
            #expect(error.description == "data directory '\(fixture.path)': is in use by another agent (pid \(getpid())); stop that agent, or give each agent on this host its own dataDir")
        }
        #expect(first != nil)
        first = nil // closing releases the lock
        _ = try fixture.open()
    }

    /// The lock must be free the moment the directory is closed, even while other threads start
    /// processes: a child between its fork and its exec holds a copy of every descriptor, and a lock
    /// that lives as long as any copy made the next open fail with "in use by another agent (pid <us>)".
    @Test func closingReleasesTheLockWhileOtherThreadsSpawnProcesses() throws {
        let fixture = PersistenceFixture()
        let stop = Mutex(false)
        let spawners = (0..<2).map { _ in
            Thread(block: {
                var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
                defer { free(argv[0]) }
                while !stop.withLock({ $0 }) {
                    var pid: pid_t = 0
                    if posix_spawn(&pid, "/bin/true", nil, nil, &argv, environ) == 0 { waitpid(pid, nil, 0) }
                }
            })
        }
        spawners.forEach { $0.start() }
        defer { stop.withLock { $0 = true } }
        var refused = 0
        for _ in 0..<2_000 {
            do { _ = try fixture.open() } catch { refused += 1 }
        }
        #expect(refused == 0, "\(refused) of 2000 opens found the lock of a directory this process had just closed")
    }

    @Test func aFileWhereTheDirectoryShouldBe() throws {
        let scratch = ScratchDirectory("licmesh-data")
        scratch.write("plain", "x")
        do {
            _ = try DataDirectory.open(path: scratch.file("plain"), clusterName: "c1", nodeID: NodeID(1))
            Issue.record("opened a file as a directory")
        } catch {
            #expect(error.kind == .notADirectory && error.description.contains("exists but is not a directory; remove it or set dataDir"))
        }
        do {
            _ = try DataDirectory.open(path: scratch.file("plain/data"), clusterName: "c1", nodeID: NodeID(1))
            Issue.record("created a directory under a file")
        } catch {
            #expect(error.kind == .cannotCreate)
            #expect(error.description.contains("'\(scratch.file("plain"))' is a file, not a directory; a parent of the path is a file"), "\(error)")
        }
        #expect(throws: PersistenceError.self) { try DataDirectory.open(path: "", clusterName: "c1", nodeID: NodeID(1)) }
    }

    @Test func unwritableDirectoryIsReportedWithTheFix() throws {
        // Permission bits do not stop root, so as root use a directory no one may create files in.
        let scratch = ScratchDirectory("licmesh-data")
        let path: String
        if geteuid() == 0 {
            path = "/sys"
        } else {
            path = scratch.file("locked")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o500])
        }
        do {
            _ = try DataDirectory.open(path: path, clusterName: "c1", nodeID: NodeID(1))
            Issue.record("opened unwritable \(path)")
        } catch {
            #expect(error.kind == .notWritable, "\(error)")
            #expect(error.description.hasPrefix("data directory '\(path)': is not writable (cannot create '\(path)/lock': "), "\(error)")
            #expect(error.description.hasSuffix("give the directory to the agent's user (e.g. chown licmesh: \(path); chmod 700 \(path)), or set dataDir to a directory it can write"))
        }
        if geteuid() != 0 {
            do {
                _ = try DataDirectory.open(path: path + "/sub", clusterName: "c1", nodeID: NodeID(1))
                Issue.record("created under an unwritable directory")
            } catch {
                #expect(error.kind == .cannotCreate && error.description.contains("Permission denied"))
            }
        }
    }

    @Test func unreadableFileIsAnErrorNotCorruption() throws {
        // A file the agent cannot read is an operator problem, not damage: it must not be moved aside.
        guard geteuid() != 0 else { return }
        let fixture = PersistenceFixture()
        let directory = try fixture.open()
        try directory.saveLedger(PersistenceFixture.sampleLedger)
        chmod(fixture.file(.ledger), 0)
        #expect(throws: PersistenceError.self) { try directory.loadLedger() }
        #expect(fixture.names().contains("ledger.dat"))
    }

    @Test func timestampsSortAndSayUTC() {
        #expect(DataDirectory.timestamp(0) == "19700101T000000Z")
        #expect(DataDirectory.timestamp(PersistenceFixture.fixedNow + 3_723) == "20260101T010203Z")
    }
}
