import Glibc
import Licensing
import SWIM
import Wire
import Synchronization
import SmallFiles

/// What must survive a restart, in one directory owned by one agent: the boot record (boot counter
/// and incarnation floor), the last known ledger snapshot, and this node's own grant.
///
/// Every write is atomic and durable (`SmallFile.writeAtomically`). Every read checks the file's
/// envelope (`DataFileFormat`): a damaged, truncated, unknown or foreign file is renamed to
/// `<name>.corrupt-<UTC timestamp>` for a human to look at, reported, and never used. A missing file
/// is simply "nothing saved". A lock (flock on `lock`) keeps two agents from sharing the directory.
final class DataDirectory: Sendable {
    public let path: String
    public let clusterName: String
    public let nodeID: NodeID
    /// What opening found and did, for the startup log: leftover temporary files removed, a
    /// directory readable by others.
    public let notices: [String]

    private let lockDescriptor: Int32
    private let bootRecord = Mutex<BootRecord?>(nil)
    private let now: @Sendable () -> Int64

    public static let lockFileName = "lock"
    /// Ledger snapshots are far smaller; a larger file is not ours.
    public static let maximumFileSize = 16 << 20

    /// Opens (creating with mode 0700 if absent) and locks the data directory, and removes temporary
    /// files a crash left behind. `now` gives seconds since 1970 (injected for tests).
    public static func open(path: String, clusterName: String, nodeID: NodeID,
                            now: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) throws(PersistenceError) -> DataDirectory {
        guard !path.isEmpty else {
            throw PersistenceError(.cannotCreate, path: path, detail: "the path is empty", fix: "set dataDir, e.g. /var/lib/licmesh")
        }
        var notices: [String] = []
        try createIfAbsent(path, notices: &notices)
        let lock = try acquireLock(path)
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
            notices.append("data directory \(path) is accessible to other users (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 700 it")
        }
        // We hold the lock, so no other agent is writing: any temporary file is a crash's leftover.
        if let names = try? SmallFile.list(directory: path) {
            let ours = [DataFileKind.boot, .ledger, .ownGrant, .freshness].map(\.fileName)
            for name in names where ours.contains(where: { name.hasPrefix($0 + SmallFile.temporaryMarker) }) {
                if unlink(path + "/" + name) == 0 {
                    notices.append("removed \(name), a temporary file left by an interrupted write")
                }
            }
        }
        return DataDirectory(path: path, clusterName: clusterName, nodeID: nodeID, lockDescriptor: lock, now: now, notices: notices)
    }

    private init(path: String, clusterName: String, nodeID: NodeID, lockDescriptor: Int32, now: @escaping @Sendable () -> Int64, notices: [String]) {
        self.path = path
        self.clusterName = clusterName
        self.nodeID = nodeID
        self.lockDescriptor = lockDescriptor
        self.now = now
        self.notices = notices
    }

    deinit {
        // Unlock before closing: a child process forked by another thread (between its fork and its
        // exec) holds a copy of the descriptor, and the lock lives as long as any copy does. LOCK_UN
        // releases it at once for every copy, so the next open in this process never finds it held.
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
    }

    // MARK: Boot record

    /// Counts this start and fixes the incarnation to start SWIM with, durably, before the agent
    /// announces itself: one above every incarnation an earlier life recorded. Call once per start.
    public func beginBoot() throws(PersistenceError) -> BootStart {
        let stored = try load(.boot) { payload throws(DataFileProblem) in try BootRecord(payload: payload) }
        let previous: BootRecord? = if case .found(let record) = stored { record } else { nil }
        let incarnation = previous.map { $0.incarnationFloor &+ 1 } ?? 0
        let record = BootRecord(boot: (previous?.boot ?? 0) &+ 1, incarnationFloor: incarnation)
        try save(.boot, payload: record.payload)
        bootRecord.withLock { $0 = record }
        return BootStart(boot: record.boot, incarnation: incarnation, previous: previous, setAside: stored.setAsideFile)
    }

    /// Raises the incarnation floor when this life's incarnation rises (a refutation), so that the
    /// next life starts above it. Writes only when it rises; call after `beginBoot`.
    public func recordIncarnation(_ incarnation: UInt64) throws(PersistenceError) {
        let updated: BootRecord? = bootRecord.withLock { record in
            guard var current = record, incarnation > current.incarnationFloor else { return nil }
            current.incarnationFloor = incarnation
            record = current
            return current
        }
        if let updated { try save(.boot, payload: updated.payload) }
    }

    // MARK: Envelope freshness

    /// Starts this life's envelope numbering: a boot above every earlier life's (`EnvelopeSender.boot`),
    /// saved before any packet is sealed with it, and the floors the previous life saved, so that
    /// this receiver keeps rejecting what it accepted before the restart.
    public func beginEnvelopeLife(unixMicroseconds: UInt64) throws(PersistenceError) -> (record: FreshnessRecord, setAside: SetAsideFile?) {
        let stored = try load(.freshness) { payload throws(DataFileProblem) in try FreshnessRecord(payload: payload) }
        let previous: FreshnessRecord? = if case .found(let record) = stored { record } else { nil }
        let record = FreshnessRecord(ownBoot: EnvelopeSender.boot(after: previous?.ownBoot, unixMicroseconds: unixMicroseconds),
                                     floors: previous?.floors ?? [])
        try saveFreshness(record)
        return (record, stored.setAsideFile)
    }

    public func saveFreshness(_ record: FreshnessRecord) throws(PersistenceError) {
        try save(.freshness, payload: record.payload)
    }

    // MARK: Ledger and own grant

    public func loadLedger() throws(PersistenceError) -> StoredValue<LedgerSnapshot> {
        try load(.ledger) { payload throws(DataFileProblem) in try LedgerSnapshot(payload: payload) }
    }

    public func saveLedger(_ snapshot: LedgerSnapshot) throws(PersistenceError) {
        try save(.ledger, payload: snapshot.payload)
    }

    /// Convenience: snapshot `ledger` as of now.
    public func saveLedger(_ ledger: Ledger, epoch: Epoch, authority: NodeID?) throws(PersistenceError) {
        try saveLedger(LedgerSnapshot(ledger: ledger, epoch: epoch, authority: authority, savedAt: now()))
    }

    public func loadOwnGrant() throws(PersistenceError) -> StoredValue<Grant> {
        let node = nodeID
        return try load(.ownGrant) { payload throws(DataFileProblem) in try Grant(ownPayload: payload, node: node) }
    }

    /// Saves this node's grant; nil (released, revoked) removes the file.
    public func saveOwnGrant(_ grant: Grant?) throws(PersistenceError) {
        guard let grant else {
            let file = path + "/" + DataFileKind.ownGrant.fileName
            guard unlink(file) == 0 || errno == ENOENT else {
                throw PersistenceError(.writeFailed, path: path, detail: FileSystemError(path: file, action: "remove", code: errno).description,
                                       fix: PersistenceError.ownershipFix(path))
            }
            try sync()
            return
        }
        guard grant.node == nodeID else {
            throw PersistenceError(.invalidOwner, path: path, detail: "refusing to save a grant for node \(grant.node) as this node's (\(nodeID)) own grant",
                                   fix: "save only this node's grant")
        }
        var payload: [UInt8] = []
        grant.appendRecord(to: &payload)
        try save(.ownGrant, payload: payload)
    }

    // MARK: Files

    private func save(_ kind: DataFileKind, payload: [UInt8]) throws(PersistenceError) {
        let bytes = DataFileFormat.encode(kind: kind, clusterName: clusterName, nodeID: nodeID, payload: payload)
        do {
            try SmallFile.writeAtomically(directory: path, name: kind.fileName, contents: bytes)
        } catch {
            throw PersistenceError(error.isPermissionProblem ? .notWritable : .writeFailed, path: path,
                                   detail: "cannot save the \(kind): \(error)",
                                   fix: error.isPermissionProblem ? PersistenceError.ownershipFix(path) : "check free space and the file system")
        }
    }

    private func load<Value>(_ kind: DataFileKind, decode: ([UInt8]) throws(DataFileProblem) -> Value) throws(PersistenceError) -> StoredValue<Value> {
        let file = path + "/" + kind.fileName
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path: file, limit: Self.maximumFileSize)
        } catch {
            if error.isMissing { return .nothingSaved }
            if error.limit != nil { return .setAside(try setAside(kind, problem: .tooLarge(limit: Self.maximumFileSize))) }
            if error.code == EISDIR { return .setAside(try setAside(kind, problem: .notAFile)) }
            throw PersistenceError(.readFailed, path: path, detail: "cannot read the \(kind): \(error)",
                                   fix: error.isPermissionProblem ? PersistenceError.ownershipFix(path) : "check the file system")
        }
        switch DataFileFormat.decode(bytes, kind: kind, clusterName: clusterName, nodeID: nodeID) {
        case .failure(let problem):
            return .setAside(try setAside(kind, problem: problem))
        case .success(let payload):
            do {
                return .found(try decode(payload))
            } catch {
                return .setAside(try setAside(kind, problem: error))
            }
        }
    }

    /// Renames the untrusted file out of the way, keeping it for inspection.
    private func setAside(_ kind: DataFileKind, problem: DataFileProblem) throws(PersistenceError) -> SetAsideFile {
        let file = path + "/" + kind.fileName
        let stamp = Self.timestamp(now())
        var target = "\(file).corrupt-\(stamp)"
        var attempt = 1
        while SmallFile.exists(target) {
            attempt += 1
            target = "\(file).corrupt-\(stamp)-\(attempt)"
        }
        guard rename(file, target) == 0 else {
            throw PersistenceError(.writeFailed, path: path,
                                   detail: "the \(kind) \(problem), and it cannot be moved aside: \(FileSystemError(path: file, action: "rename", code: errno))",
                                   fix: "move or delete \(file) by hand")
        }
        try sync()
        return SetAsideFile(kind: kind, path: file, movedTo: target, problem: problem)
    }

    private func sync() throws(PersistenceError) {
        do {
            try SmallFile.syncDirectory(path)
        } catch {
            throw PersistenceError(.writeFailed, path: path, detail: error.description, fix: "check the file system")
        }
    }

    /// `20250102T030405Z`: sorts by time, no characters a shell or file system minds.
    static func timestamp(_ seconds: Int64) -> String {
        var value = time_t(seconds)
        var parts = tm()
        gmtime_r(&value, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    // MARK: Opening

    /// mkdir -p with mode 0700 for every directory created.
    private static func createIfAbsent(_ path: String, notices: inout [String]) throws(PersistenceError) {
        switch SmallFile.kind(of: path) {
        case .directory: return
        case .file, .other:
            throw PersistenceError(.notADirectory, path: path, detail: "exists but is not a directory", fix: "remove it or set dataDir to a directory")
        case .missing: break
        }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if SmallFile.kind(of: prefix) == .directory { continue }
            guard mkdir(prefix, 0o700) == 0 || errno == EEXIST else {
                let error = FileSystemError(path: prefix, action: "create directory", code: errno)
                throw PersistenceError(.cannotCreate, path: path, detail: error.description,
                                       fix: error.code == ENOTDIR
                                           ? "a parent of the path is a file; set dataDir to a directory path"
                                           : "create it for the agent's user (mkdir -m 700 \(path); chown licmesh: \(path)), or set dataDir elsewhere")
            }
            if SmallFile.kind(of: prefix) != .directory {
                throw PersistenceError(.cannotCreate, path: path, detail: "cannot create it: '\(prefix)' is a file, not a directory",
                                       fix: "a parent of the path is a file; set dataDir to a directory path")
            }
        }
        notices.append("created data directory \(path) (mode 700)")
    }

    /// Creating the lock file is also the writability check: it fails the same way a save would.
    private static func acquireLock(_ path: String) throws(PersistenceError) -> Int32 {
        let file = path + "/" + lockFileName
        let descriptor = Glibc.open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let error = FileSystemError(path: file, action: "create", code: errno)
            throw PersistenceError(.notWritable, path: path, detail: "is not writable (\(error))", fix: PersistenceError.ownershipFix(path))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = (try? SmallFile.read(path: file, limit: 64)).map { String(decoding: $0, as: UTF8.self).trimmingConfigWhitespace() } ?? ""
            close(descriptor)
            guard code == EWOULDBLOCK else {
                throw PersistenceError(.notWritable, path: path, detail: "cannot lock \(file): \(describeErrno(code))", fix: "check the file system supports flock")
            }
            throw PersistenceError(.inUse, path: path, detail: "is in use by another agent" + (holder.isEmpty ? "" : " (pid \(quotedConfigText(holder)))"),
                                   fix: "stop that agent, or give each agent on this host its own dataDir")
        }
        // Record who holds it, for the message above; best effort.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        return descriptor
    }
}

/// What a load found.
enum StoredValue<Value: Sendable>: Sendable {
    /// No file: nothing was saved yet (or it was removed).
    case nothingSaved
    case found(Value)
    /// A file was there but could not be trusted; it was moved aside and the agent goes on without it.
    case setAside(SetAsideFile)

    public var value: Value? { if case .found(let value) = self { value } else { nil } }
    public var setAsideFile: SetAsideFile? { if case .setAside(let file) = self { file } else { nil } }
}

extension StoredValue: Equatable where Value: Equatable {}

/// A data file that was not trusted, and where it went.
struct SetAsideFile: Hashable, Sendable, CustomStringConvertible {
    public var kind: DataFileKind
    public var path: String
    public var movedTo: String
    public var problem: DataFileProblem

    public var description: String {
        "data file \(path) (\(kind)) \(problem); moved it to \(movedTo) and starting without it"
    }
}

/// The outcome of `DataDirectory.beginBoot()`.
struct BootStart: Hashable, Sendable {
    /// This start's number: 1 the first time.
    public var boot: UInt64
    /// The incarnation to start SWIM with (`SWIMInstance(incarnation:)`).
    public var incarnation: UInt64
    /// The record of the previous life, if one was trusted.
    public var previous: BootRecord?
    /// The boot file that was not trusted, if any: the agent logs it.
    public var setAside: SetAsideFile?
}
