#if canImport(Glibc)
import Glibc
#endif
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Mesh
import Synchronization

/// Every process and temporary folder a benchmark creates, so that none outlives it: on a normal
/// return (`defer`), on a thrown error, and on SIGINT, SIGTERM or SIGHUP (the handler kills and
/// reaps every child by its PID, removes the folders and exits 130). A SIGKILL of the benchmark
/// itself cannot be caught; for that, children are started under `setpriv --pdeathsig KILL` when the
/// system has it, so the kernel kills them when their parent dies.
public enum ChildProcesses {
    private static let state = Mutex<(pids: Set<pid_t>, folders: Set<String>, handlersInstalled: Bool)>(([], [], false))
    /// Kept alive for the life of the process; written once under `state`'s lock.
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the interrupt handlers (once). Call before starting the first child.
    public static func installInterruptHandlers() {
        let install = state.withLock { state -> Bool in
            defer { state.handlersInstalled = true }
            return !state.handlersInstalled
        }
        guard install else { return }
        // Our reader threads must not die of SIGPIPE if a child closes its end early.
        signal(SIGPIPE, SIG_IGN)
        var made: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let killed = cleanUpEverything()
                let message = "\ninterrupted: killed \(killed) agent process(es) and removed the temporary files\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
                exit(130)
            }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    static func register(_ pid: pid_t) { state.withLock { _ = $0.pids.insert(pid) } }
    static func forget(_ pid: pid_t) { state.withLock { _ = $0.pids.remove(pid) } }

    /// A new private folder under the system's temporary directory, removed by `removeFolder` or on interrupt.
    public static func makeTemporaryFolder(prefix: String) throws -> String {
        let temporary = temporaryDirectory()
        var template = Array((temporary + "/\(prefix).XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else {
            throw BenchmarkError("cannot create a temporary folder under \(temporary): \(String(cString: strerror(errno)))")
        }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        state.withLock { _ = $0.folders.insert(path) }
        return path
    }

    /// $TMPDIR when set, else /tmp (what Foundation's NSTemporaryDirectory gives on Linux).
    private static func temporaryDirectory() -> String {
        guard let value = getenv("TMPDIR"), value.pointee != 0 else { return "/tmp" }
        let path = String(cString: value)
        return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    public static func removeFolder(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        state.withLock { _ = $0.folders.remove(path) }
    }

    /// SIGKILLs and reaps every registered child, removes every registered folder; returns the
    /// number of children killed.
    @discardableResult
    public static func cleanUpEverything() -> Int {
        let (pids, folders) = state.withLock { state in
            defer { state.pids = []; state.folders = [] }
            return (state.pids, state.folders)
        }
        for pid in pids {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
        return pids.count
    }
}

/// One child process with its standard output on a pipe, read line by line on a thread of its own.
package final class ChildProcess: Sendable {
    package let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    /// `setpriv --pdeathsig KILL` when present: a SIGKILLed benchmark still takes its children along.
    /// Must be started from a thread that outlives the child (the kernel's parent-death signal is
    /// tied to the creating thread): the benchmarks start children from the main thread.
    private static let deathSignalWrapper: [String] = {
        for path in ["/usr/bin/setpriv", "/bin/setpriv"] where access(path, X_OK) == 0 {
            return [path, "--pdeathsig", "KILL"]
        }
        return []
    }()

    /// Starts `executable` with `arguments`; standard input from /dev/null, standard error to
    /// `stderrPath` (or /dev/null), each standard output line handed to `onLine` on the reader thread.
    package init(executable: String, arguments: [String], stderrPath: String?, onLine: @escaping @Sendable (Substring) -> Void) throws {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            throw BenchmarkError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so no other child inherits this one's pipe (only fd 1 of this child keeps it).
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        // The child starts with default signal actions and no blocked signals, whatever this
        // process ignores (the interrupt handlers set SIGINT, SIGTERM, SIGHUP and SIGPIPE to ignore).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1] { sigaddset(&defaults, number) }
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = Self.deathSignalWrapper + [executable] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, &cArguments, environ)
        close(writeEnd)
        guard result == 0 else {
            close(readEnd)
            throw BenchmarkError("cannot start \(argv[0]): \(String(cString: strerror(result)))")
        }
        pid = child
        ChildProcesses.register(child)

        _ = IOThread(name: "agent-output") {
            Self.readLines(from: readEnd, onLine: onLine)
            close(readEnd)
        }
    }

    private static func readLines(from fd: Int32, onLine: (Substring) -> Void) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending += chunk[0..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                onLine(Substring(String(decoding: pending[..<newline], as: UTF8.self)))
                pending.removeSubrange(...newline)
            }
            // A line without end is bounded: an agent never prints one this long.
            if pending.count > 1 << 20 { pending.removeAll() }
        }
        if !pending.isEmpty { onLine(Substring(String(decoding: pending, as: UTF8.self))) }
    }

    package func signal(_ number: Int32) {
        guard !hasExited() else { return }
        kill(pid, number)
    }

    /// Reaps the child if it has exited; true once it has.
    package func hasExited() -> Bool {
        exitStatus.withLock { status in
            if status != nil { return true }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) {
                status = raw
                ChildProcesses.forget(pid)
                return true
            }
            return false
        }
    }

    /// Waits up to `timeout` seconds for the child to exit; true if it did.
    @discardableResult
    package func waitForExit(timeout: Double) -> Bool {
        let deadline = MonotonicSeconds.now() + timeout
        while !hasExited() {
            if MonotonicSeconds.now() >= deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// SIGTERM, a grace period, then SIGKILL; always reaps.
    package func stop(grace: Double) {
        if grace > 0 {
            signal(SIGTERM)
            if waitForExit(timeout: grace) { return }
        }
        signal(SIGKILL)
        waitForExit(timeout: 30)
    }
}

/// CLOCK_MONOTONIC in seconds and milliseconds: the clock of the agents' `at_ms` on the same host.
package enum MonotonicSeconds {
    package static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
    package static func now() -> Double { Double(nanoseconds()) / 1e9 }
    package static func milliseconds() -> Double { Double(nanoseconds()) / 1e6 }
}

/// Sleeps in small steps until `condition` holds or `timeout` seconds pass; true if it held.
package func waitUntil(timeout: Double, step: UInt32 = 10_000, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicSeconds.now() + timeout
    while true {
        if condition() { return true }
        if MonotonicSeconds.now() >= deadline { return false }
        usleep(step)
    }
}

/// Sleeps `seconds` (any length; resumes after signals).
package func sleepSeconds(_ seconds: Double) {
    let deadline = MonotonicSeconds.now() + max(0, seconds)
    while true {
        let left = deadline - MonotonicSeconds.now()
        if left <= 0 { return }
        var request = timespec(tv_sec: Int(left), tv_nsec: Int((left - floor(left)) * 1e9))
        nanosleep(&request, nil)
    }
}
