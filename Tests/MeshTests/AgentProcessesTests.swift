import Crypto
import Foundation
import Glibc
@testable import Mesh
import SWIM
import Synchronization
import Testing
import Wire

/// One `licmesh agent --events` child process and the event lines it printed.
final class ChildAgent: Sendable {
    let id: NodeID
    let pid: Int32
    /// Filled by the reader threads.
    private final class Output: Sendable {
        let events = Mutex<[[String: String]]>([])
        let stderrTail = Mutex<String>("")
    }
    private let output = Output()
    private let readers: [IOThread]
    private let process: Process
    /// Held so that the read ends stay open while the readers run.
    private let pipes: [Pipe]

    /// The built `licmesh` next to this test bundle (SwiftPM puts every product of a build in one
    /// directory and `swift test` links it too), or nil when it is absent or older than the objects it
    /// is linked from. A test cannot build it itself: SwiftPM holds the build lock while tests run.
    static let binary: String? = {
        switch binaryProblem {
        case .success(let path):
            return path
        case .failure(let problem):
            print("AgentProcesses: skipping the multi-process tests: \(problem.reason)")
            return nil
        }
    }()

    static let skipReason: Comment = "licmesh is not built, or older than its sources, next to the test bundle; run 'swift build' first"

    struct BinaryProblem: Error { var reason: String }

    /// Why the multi-process tests cannot use the built `licmesh` (or its path when they can).
    static let binaryProblem: Result<String, BinaryProblem> = locateBinary()

    /// The test bundle's directory, where SwiftPM puts every product of the build (nil if unknown).
    static let buildDirectory: String? = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let executable = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return executable.lastIndex(of: "/").map { String(executable[..<$0]) }
    }()

    private static func locateBinary() -> Result<String, BinaryProblem> {
        guard let directory = buildDirectory else { return .failure(BinaryProblem(reason: "cannot tell the test bundle's directory")) }
        let candidate = directory + "/licmesh"
        guard access(candidate, X_OK) == 0 else { return .failure(BinaryProblem(reason: "no executable at \(candidate)")) }
        guard let built = modificationTime(candidate) else { return .failure(BinaryProblem(reason: "cannot stat \(candidate)")) }
        // Stale when an object file it links was compiled after it (the compiler rewrites an object
        // only when its content changes, so this does not misfire the way source times would).
        if let newer = newestObject(in: directory), newer.time > built {
            return .failure(BinaryProblem(reason: "\(candidate) is older than \(newer.path)"))
        }
        return .success(candidate)
    }

    /// The newest object file of the non-test modules in a build directory.
    private static func newestObject(in directory: String) -> (path: String, time: Double)? {
        guard let modules = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        var newest: (path: String, time: Double)?
        // The other executables' modules: licmesh links neither (licmesh-bench links licmesh).
        let notLinked: Set<String> = ["licmesh_embedding_example.build", "licmesh_bench.build"]
        for module in modules where module.hasSuffix(".build") && !module.contains("Tests") && !module.hasPrefix("LicenseMeshPackage")
            && !notLinked.contains(module) {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + module)) ?? [] where file.hasSuffix(".o") {
                let path = directory + "/" + module + "/" + file
                if let time = modificationTime(path), time > (newest?.time ?? 0) { newest = (path, time) }
            }
        }
        return newest
    }

    private static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    /// `passID`: false for `--config` agents, whose ID comes from their configuration file.
    init(binary: String, id: NodeID, arguments: [String], passID: Bool = true) throws {
        self.id = id
        let stdout = Pipe(), stderr = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["agent"] + (passID ? ["--id", id.description] : []) + ["--events"] + arguments
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        let out = stdout.fileHandleForReading.fileDescriptor, err = stderr.fileHandleForReading.fileDescriptor
        let output = self.output
        readers = [
            IOThread(name: "child-out") {
                ChildAgent.readLines(out) { line in
                    if let fields = EventLine.parse(line[...]) { output.events.withLock { $0.append(fields) } }
                }
            },
            IOThread(name: "child-err") {
                ChildAgent.readLines(err) { line in output.stderrTail.withLock { $0 = String(($0 + line + "\n").suffix(2_000)) } }
            },
        ]
        self.process = process
        pipes = [stdout, stderr]
    }

    private static func readLines(_ fd: Int32, _ handle: (String) -> Void) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            pending += chunk[0..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                handle(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
    }

    var events: [[String: String]] { output.events.withLock { $0 } }
    var log: String { output.stderrTail.withLock { $0 } }

    func saw(_ name: String, member: NodeID) -> Bool {
        events.contains { $0["event"] == name && $0["member"] == member.description }
    }

    var address: SocketAddress? {
        events.first { $0["event"] == "started" }.flatMap { $0["address"] }.flatMap { try? SocketAddress(parsing: $0) }
    }

    func signal(_ number: Int32) { _ = kill(pid, number) }

    /// The exit status once the process has exited (128 + the signal if a signal ended it), else nil.
    var exited: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    func joinReaders() { for reader in readers { reader.join() } }
}

extension TransportTests.AgentProcesses {
    /// The multi-process tests skip when `licmesh` is not built; they must never skip because they
    /// misjudge a binary that `swift test` has just built. (They did, unnoticed, once `licmesh-bench`
    /// became an executable of its own: its objects, which licmesh does not link, are compiled after
    /// licmesh is linked, so licmesh looked stale and every process test skipped on a clean clone.)
    @Test func theBinaryBuiltWithTheTestsIsUsed() throws {
        let built = try #require(ChildAgent.buildDirectory) + "/licmesh"
        guard access(built, X_OK) == 0 else {
            print("AgentProcesses: no licmesh next to the test bundle (swift test builds it; --skip-build does not)")
            return
        }
        if case .failure(let problem) = ChildAgent.binaryProblem {
            Issue.record("licmesh is built at \(built) but the process tests would skip: \(problem.reason)")
        }
    }

    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func fiveProcessesConfirmOneKilledWithSIGKILLDead() async throws {
        let binary = try #require(ChildAgent.binary)
        let keyPath = "/tmp/licmesh-agent-test-\(getpid()).key"
        try GossipKeyFile.contents(of: .random()).write(toFile: keyPath, atomically: true, encoding: .utf8)
        defer { unlink(keyPath) }
        let common = ["--bind", "127.0.0.1:0", "--profile", "local", "--cluster", "process-test",
                      "--gossip-key", keyPath, "--log-level", "warn"]

        var children: [ChildAgent] = []
        defer {
            for child in children where child.exited == nil { child.signal(SIGKILL) }
        }
        let first = try ChildAgent(binary: binary, id: NodeID(0xF01), arguments: common)
        children.append(first)
        #expect(await AgentTestSupport.eventually { first.address != nil }, "no started line: \(first.log)")
        let seed = try #require(first.address)
        for index in 2...5 {
            children.append(try ChildAgent(binary: binary, id: NodeID(0xF00 + UInt64(index)),
                                           arguments: common + ["--seed-node", seed.description]))
        }
        let ids = children.map(\.id)
        #expect(await AgentTestSupport.eventually {
            children.allSatisfy { child in ids.allSatisfy { $0 == child.id || child.saw("joined", member: $0) } }
        }, "joined events: \(children.map { $0.events.filter { $0["event"] == "joined" }.count })")

        let victim = children[3]
        let survivors = children.filter { $0.id != victim.id }
        victim.signal(SIGKILL)
        #expect(await AgentTestSupport.eventually { victim.exited != nil })
        #expect(await AgentTestSupport.eventually { survivors.allSatisfy { $0.saw("dead", member: victim.id) } },
                "survivors reporting it dead: \(survivors.map { $0.saw("dead", member: victim.id) })")
        #expect(survivors.contains { $0.saw("suspected", member: victim.id) })
        for survivor in survivors {
            #expect(!survivors.contains { $0.saw("dead", member: survivor.id) }, "a survivor was declared dead")
        }

        // SIGTERM: each leaves gracefully, prints its counters and exits 0.
        for survivor in survivors { survivor.signal(SIGTERM) }
        #expect(await AgentTestSupport.eventually { survivors.allSatisfy { $0.exited != nil } })
        for survivor in survivors {
            #expect(survivor.exited == 0, "exit status \(String(describing: survivor.exited)): \(survivor.log)")
            #expect(survivor.events.contains { $0["event"] == "counters" && Int($0["udp_packets_in"] ?? "") ?? 0 > 0 })
            #expect(survivor.events.last?["event"] == "stopped")
        }
        for child in children { child.joinReaders() }
    }

    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func badFlagsFailBeforeBindingAnything() async throws {
        let binary = try #require(ChildAgent.binary)
        let taken = try UDPSocket(bindingTo: .loopbackV4(port: 0))
        defer { taken.close() }
        let cases: [(arguments: [String], message: String)] = [
            (["--bind", "127.0.0.1:0"], "--insecure-plain"),
            (["--bind", "localhost-ish:1", "--insecure-plain"], "not a numeric"),
            (["--bind", "127.0.0.1:0", "--gossip-key", "/nonexistent/key"], "cannot be opened"),
            (["--bind", "\(taken.localAddress)", "--insecure-plain"], "already uses this port"),
            (["--bind", "0.0.0.0:0", "--insecure-plain"], "advertise"),
            (["--bind", "127.0.0.1:0", "--insecure-plain", "--profile", "fast"], "lan, wan, local"),
        ]
        for (arguments, message) in cases {
            let child = try ChildAgent(binary: binary, id: NodeID(0xF0F), arguments: arguments)
            #expect(await AgentTestSupport.eventually { child.exited != nil })
            child.joinReaders()
            #expect(child.exited != 0, "\(arguments) exited 0")
            #expect(child.log.contains(message), "\(arguments): \(child.log)")
            #expect(!child.events.contains { $0["event"] == "started" })
        }
    }
}
