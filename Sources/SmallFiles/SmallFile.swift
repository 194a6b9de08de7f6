import Glibc
import Synchronization

/// Bounded reads and durable, atomic writes of small files: the agent's configuration, gossip and
/// vendor keys, license files, API tokens, sysfs and /proc entries, the data directory. The one
/// place that reads them, so that every read is bounded and every error names the path and errno.
///
/// Plain POSIX rather than Foundation so that the size bound holds while reading (a huge or endless
/// file is never read past its limit) and so that every durability step (fsync of the file, rename,
/// fsync of the directory) is explicit.
package enum SmallFile {
    /// The file's bytes. Fails if it is missing, unreadable, a directory, or larger than `limit`.
    package static func read(path: String, limit: Int) throws(FileSystemError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystemError(path: path, action: "open", code: errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileSystemError(path: path, action: "inspect", code: errno) }
        guard (status.st_mode & S_IFMT) != S_IFDIR else { throw FileSystemError(path: path, action: "read", code: EISDIR) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(path: path, action: "read", code: errno)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            guard bytes.count <= limit else { throw FileSystemError(path: path, action: "read", code: EFBIG, limit: limit) }
        }
    }

    /// Replaces `directory/name` with `contents` so that after a crash at any point the file holds
    /// either the old or the new contents, never a mix: write a temporary file in the same directory,
    /// fsync it, rename it over the target, fsync the directory (which makes the rename durable).
    /// Temporary names start with `name + temporaryMarker`, so leftovers of a crash can be recognised.
    package static func writeAtomically(directory: String, name: String, contents: [UInt8], mode: mode_t = 0o600) throws(FileSystemError) {
        let target = directory + "/" + name
        let temporary = target + temporaryMarker + String(getpid()) + "." + String(temporaryCounter.add())
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FileSystemError(path: temporary, action: "create", code: errno) }
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            var offset = 0
            while offset < contents.count {
                let written = contents[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileSystemError(path: temporary, action: "write", code: errno)
                }
                offset += written
            }
            guard fsync(descriptor) == 0 else { throw FileSystemError(path: temporary, action: "flush (fsync)", code: errno) }
        }
        guard rename(temporary, target) == 0 else { throw FileSystemError(path: target, action: "replace (rename)", code: errno) }
        committed = true
        try syncDirectory(directory)
    }

    /// Makes renames and removals in `directory` durable.
    package static func syncDirectory(_ directory: String) throws(FileSystemError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystemError(path: directory, action: "open directory", code: errno) }
        defer { close(descriptor) }
        // Some file systems cannot fsync a directory (EINVAL); their renames are durable anyway.
        guard fsync(descriptor) == 0 || errno == EINVAL else {
            throw FileSystemError(path: directory, action: "flush (fsync) directory", code: errno)
        }
    }

    /// Temporary files are `<name>.tmp.<pid>.<n>`.
    package static let temporaryMarker = ".tmp."

    private static let temporaryCounter = TemporaryCounter()

    /// Names in a directory, sorted, without "." and "..".
    package static func list(directory: String) throws(FileSystemError) -> [String] {
        guard let handle = opendir(directory) else { throw FileSystemError(path: directory, action: "list", code: errno) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// True when anything (even a dangling symbolic link) is at `path`.
    package static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    package enum Kind { case missing, file, directory, other }

    /// What is at `path`, following symbolic links.
    package static func kind(of path: String) -> Kind {
        var status = stat()
        guard stat(path, &status) == 0 else { return .missing }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}

/// Distinguishes temporary files of concurrent writes within one process.
private final class TemporaryCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    func add() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}

/// A file-system call that failed, with the path, what we tried, and the system's reason.
package struct FileSystemError: Error, Hashable, Sendable, CustomStringConvertible {
    package var path: String
    /// "open", "read", "create", "replace (rename)", ...
    package var action: String
    package var code: Int32
    /// Set when the file was larger than this many bytes (code is EFBIG).
    package var limit: Int?

    package init(path: String, action: String, code: Int32, limit: Int? = nil) {
        self.path = path
        self.action = action
        self.code = code
        self.limit = limit
    }

    package var isMissing: Bool { code == ENOENT }
    package var isPermissionProblem: Bool { code == EACCES || code == EPERM || code == EROFS }

    package var reason: String {
        if let limit { return "it is larger than \(limit) bytes" }
        if code == EISDIR { return "it is a directory" }
        return describeErrno(code)
    }

    /// The C library's text for the errno alone, e.g. "No such file or directory", for messages
    /// that show no errno name.
    package var systemText: String { strerror(code).map { String(cString: $0) } ?? "error \(code)" }

    package var description: String { "cannot \(action) '\(path)': \(reason)" }
}
