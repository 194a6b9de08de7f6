#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Licensing
import SmallFiles

/// License and key files, with errors that name the path and what the file should have been.
///
/// Reads go through `SmallFile` (bounded: a huge or endless file is never read past its limit).
/// New files are created with `O_EXCL` and an exact mode in one step, so a private key is never
/// world-readable, even for a moment.
enum LicenseFiles {
    /// The file's bytes; an error if it is missing, unreadable, a directory or larger than `limit`.
    static func read(path: String, limit: Int, what: String) throws(LicenseError) -> [UInt8] {
        do {
            return try SmallFile.read(path: path, limit: limit)
        } catch {
            if error.limit != nil {
                throw .fileError(path: path, reason: "is larger than \(limit) bytes, too large for a \(what); is it the right file?")
            }
            if error.code == EISDIR { throw .fileError(path: path, reason: "is a directory, not a \(what)") }
            let action = error.action == "open" ? "cannot open \(what)" : "cannot read \(what)"
            throw .fileError(path: path, reason: "\(action): \(error.systemText)")
        }
    }

    /// Creates `path` with exactly `mode` and writes `contents`. Refuses to replace an existing file
    /// unless `overwrite` (then the old file is replaced, keeping the new mode).
    static func write(path: String, contents: [UInt8], mode: mode_t, overwrite: Bool = false) throws(LicenseError) {
        if overwrite, exists(path) {
            guard unlink(path) == 0 else { throw failure(path, "cannot replace the existing file") }
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            if errno == EEXIST { throw .fileExists(path: path) }
            throw failure(path, "cannot create the file")
        }
        defer { close(descriptor) }
        // The umask may have removed bits; set exactly what was asked.
        guard fchmod(descriptor, mode) == 0 else { throw failure(path, "cannot set the file mode") }
        var offset = 0
        while offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure(path, "cannot write the file")
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw failure(path, "cannot flush the file to disk") }
    }

    /// True when something (file, directory, link) exists at `path`.
    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a directory (one level) with mode 0700 if it does not exist yet.
    static func makeDirectory(_ path: String) throws(LicenseError) {
        if isDirectory(path) { return }
        guard mkdir(path, 0o700) == 0 else { throw failure(path, "cannot create the directory") }
    }

    private static func failure(_ path: String, _ action: String) -> LicenseError {
        let code = errno
        let reason = String(cString: strerror(code))
        return .fileError(path: path, reason: "\(action): \(reason)")
    }
}

// A file-scope name for the POSIX call that `LicenseFiles.write` shadows inside the enum.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
