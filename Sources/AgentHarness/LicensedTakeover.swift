#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LicenseTools
import Licensing
import Mesh
import Synchronization

/// The licensed variant of `bench detection`: the agents hold a license, the first `servers` nodes
/// may be authority, a client acquires and validates in a loop through one agent's local HTTP API,
/// and the authority is SIGKILLed. Measured per run: kill to the first acquire served by the new
/// authority, validations attempted and failed between the kill and that acquire.
///
/// Written against the licensed agent that is being built: the flags `--license FILE --vendor-key
/// FILE --mac MAC --cores N --data-dir DIR --http HOST:PORT`, and `POST /v1/acquire` answering a JSON
/// `RequestAnswer` (`outcome`, `authority`, ...) and `POST /v1/validate` a `ValidationAnswer`
/// (`allowed`, ...), the types of `Mesh.AgentControl`. `requireAgentLicenseFlags` checks the agent's
/// `--help` first and says plainly when the flags are not there yet.
package enum LicensedTakeover {
    /// Flags the licensed agent needs; all must appear in `licmesh agent --help`.
    package static let requiredFlags = ["--license", "--vendor-key", "--mac", "--cores", "--data-dir", "--http"]

    /// Throws "not available yet: the agent has no license flags" unless `executable agent --help`
    /// lists every flag in `requiredFlags`.
    package static func requireAgentLicenseFlags(executable: String) throws {
        let lines = Mutex<[String]>([])
        let help = try ChildProcess(executable: executable, arguments: ["agent", "--help"], stderrPath: nil) { line in
            lines.withLock { $0.append(String(line)) }
        }
        guard help.waitForExit(timeout: 30) else {
            help.stop(grace: 0)
            throw BenchmarkError("'\(executable) agent --help' did not finish in 30 s")
        }
        usleep(50_000)  // the reader thread drains the pipe after the exit
        let text = lines.withLock { $0.joined(separator: "\n") }
        let missing = requiredFlags.filter { flag in !text.contains(flag + " ") }
        if !missing.isEmpty {
            throw BenchmarkError("licensed takeover: not available yet: the agent has no license flags "
                + "(\(missing.joined(separator: ", ")) missing from '\(executable) agent --help'). "
                + "Run without --licensed to measure membership detection alone.")
        }
    }

    /// The vendor key pair and a license for `nodes` hosts, the first `servers` of them servers, in
    /// `folder`. Node `i` of every run gets MAC `macs[i]`, whatever its ID that run.
    package struct Materials: Sendable {
        package var folder: String
        package var macs: [String]
        package var licensePath: String
        package var vendorPublicKeyPath: String
        package var servers: Int
        package var coresPerNode: Int

        package init(nodes: Int, servers: Int, coresPerNode: Int, folder: String, licensee: String = "licmesh bench") throws {
            let keygen = LicenseTool.keygen(directory: folder)
            guard keygen.status == 0 else { throw BenchmarkError("licensed takeover: vendor keygen failed: \(keygen.errors)") }
            let macs = (0..<nodes).map { Self.mac(of: 0xD000 + UInt64($0)) }
            let request = LicenseIssueRequest(licensee: licensee, maxCores: "\(coresPerNode * nodes)", hosts: macs,
                                              servers: Array(macs.prefix(servers)), expires: "2099-01-01")
            let licensePath = joinedPath(folder, "bench.license")
            let issued = LicenseTool.issue(request, keyPath: joinedPath(folder, LicenseTool.privateKeyFileName),
                                           outPath: licensePath, now: LicenseDate(Date()))
            guard issued.status == 0 else { throw BenchmarkError("licensed takeover: license issue failed: \(issued.errors)") }
            self.folder = folder
            self.macs = macs
            self.licensePath = licensePath
            vendorPublicKeyPath = joinedPath(folder, LicenseTool.publicKeyFileName)
            self.servers = servers
            self.coresPerNode = coresPerNode
        }

        /// A locally administered MAC (02 then the value's low 40 bits): MACs in the order of nodes.
        package static func mac(of id: UInt64) -> String {
            let bytes = [0x02] + (0..<5).reversed().map { UInt8(truncatingIfNeeded: id >> (8 * UInt64($0))) }
            return bytes.map { byte in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }.joined(separator: ":")
        }

        /// The flags of node `index` (ID `id` this run; node 0 has the lowest ID, so it is the
        /// authority); `httpPort` is its local API. Each ID gets a fresh data directory.
        package func arguments(index: Int, id: UInt64, httpPort: UInt16) throws -> [String] {
            let data = joinedPath(folder, "data-\(AgentProcess.hex(id))")
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            return ["--license", licensePath, "--vendor-key", vendorPublicKeyPath, "--mac", macs[index],
                    "--cores", "\(coresPerNode)", "--data-dir", data, "--http", "127.0.0.1:\(httpPort)"]
        }

        /// Every node's flags, node `i` with ID `firstID + i` and a free HTTP port (`ports[i]`).
        package func agentArguments(firstID: UInt64) throws -> (ports: [UInt16], perAgent: [UInt64: [String]]) {
            var ports: [UInt16] = []
            var perAgent: [UInt64: [String]] = [:]
            for index in macs.indices {
                let port = try LoopbackHTTPClient.freePort()
                ports.append(port)
                perAgent[firstID + UInt64(index)] = try arguments(index: index, id: firstID + UInt64(index), httpPort: port)
            }
            return (ports, perAgent)
        }
    }

    /// One answer the client loop got.
    package struct Sample: Sendable {
        package enum Kind: Sendable { case acquire, validate }
        package var kind: Kind
        package var sentMilliseconds: Double
        package var answeredMilliseconds: Double
        /// Acquire granted, or validation allowed.
        package var succeeded: Bool
        /// For acquires: the authority that answered, as the agent reports it.
        package var authority: UInt64?
    }

    /// A thread that acquires and validates in turn through one agent's HTTP API until stopped.
    /// Two threads: one acquires every 10 ms after each answer, the other validates every 5 ms. They
    /// are separate because an acquire may wait while the authority changes and a validation must
    /// never wait: each is measured on its own. With `acquires` false, only the validating thread
    /// runs (a client that changes nothing in the ledger).
    package final class ClientLoop: Sendable {
        private final class State: Sendable {
            let samples = Mutex<[Sample]>([])
            let running = Atomic<Bool>(true)
            let finished = Atomic<Int>(0)
        }
        private let state = State()
        private let threads: Int

        package init(port: UInt16, cores: Int, acquires: Bool = true) {
            let state = self.state
            let kinds: [Sample.Kind] = acquires ? [.acquire, .validate] : [.validate]
            threads = kinds.count
            for kind in kinds {
                let client = LoopbackHTTPClient(port: port, timeoutSeconds: 2)
                _ = IOThread(name: kind == .acquire ? "client-acquire" : "client-validate") {
                    while state.running.load(ordering: .relaxed) {
                        let sent = MonotonicSeconds.milliseconds()
                        var sample = Sample(kind: kind, sentMilliseconds: sent, answeredMilliseconds: sent, succeeded: false, authority: nil)
                        if let answer = try? client.send("POST", kind == .acquire ? "/v1/acquire" : "/v1/validate",
                                                         json: kind == .acquire ? "{\"cores\":\(cores)}" : "{}"),
                           let fields = answer.answerFields {
                            sample.succeeded = kind == .acquire ? fields.outcome == "granted" : fields.allowed == true
                            sample.authority = fields.authority.flatMap { UInt64($0, radix: 16) }
                        }
                        sample.answeredMilliseconds = MonotonicSeconds.milliseconds()
                        state.samples.withLock { $0.append(sample) }
                        usleep(kind == .acquire ? 10_000 : 5_000)
                    }
                    state.finished.add(1, ordering: .relaxed)
                }
            }
        }

        package var collected: [Sample] { state.samples.withLock { $0 } }

        /// Validations sent in [start, end] (CLOCK_MONOTONIC ms), and how many were denied or unanswered.
        package func validations(from start: Double, to end: Double) -> (attempted: Int, failed: Int) {
            let window = collected.filter { $0.kind == .validate && $0.sentMilliseconds >= start && $0.sentMilliseconds <= end }
            return (window.count, window.filter { !$0.succeeded }.count)
        }

        package func stop() {
            state.running.store(false, ordering: .relaxed)
            _ = waitUntil(timeout: 10) { state.finished.load(ordering: .relaxed) == threads }
        }
    }

    /// The licensed figures of one run.
    package struct RunFigures: Codable, Sendable {
        /// Kill to the first acquire granted by an authority other than the victim; nil: none in time.
        package var takeoverSeconds: Double?
        package var validationsAttempted: Int
        package var validationsFailed: Int
        package var acquiresAttempted: Int
        package var acquiresFailed: Int
    }

    /// Waits (at most `timeout` seconds after the kill) for the client's first acquire granted by an
    /// authority other than `victim`, then counts what the client saw between the kill and then.
    package static func measureLicensedTakeover(client: ClientLoop, victim: UInt64, killedAtMilliseconds: Double,
                                        timeout: Double) -> RunFigures {
        func served(_ samples: [Sample]) -> Sample? {
            samples.first { $0.kind == .acquire && $0.sentMilliseconds >= killedAtMilliseconds && $0.succeeded
                && $0.authority != nil && $0.authority != victim }
        }
        let remaining = max(0, timeout - (MonotonicSeconds.milliseconds() - killedAtMilliseconds) / 1000)
        _ = waitUntil(timeout: remaining) { served(client.collected) != nil }
        let samples = client.collected
        let first = served(samples)
        let end = first?.answeredMilliseconds ?? MonotonicSeconds.milliseconds()
        let window = samples.filter { $0.sentMilliseconds >= killedAtMilliseconds && $0.sentMilliseconds <= end }
        let validations = window.filter { $0.kind == .validate }
        let acquires = window.filter { $0.kind == .acquire }
        return RunFigures(takeoverSeconds: first.map { ($0.answeredMilliseconds - killedAtMilliseconds) / 1000 },
                          validationsAttempted: validations.count, validationsFailed: validations.filter { !$0.succeeded }.count,
                          acquiresAttempted: acquires.count, acquiresFailed: acquires.filter { !$0.succeeded }.count)
    }

    /// Waits until the client's acquires are granted (the cluster elected an authority and the
    /// client's agent holds its cores); returns the authority that answered.
    package static func waitForFirstGrant(client: ClientLoop, timeout: Double) throws -> UInt64 {
        var authority: UInt64?
        _ = waitUntil(timeout: timeout) {
            authority = client.collected.last { $0.kind == .acquire && $0.succeeded }?.authority
            return authority != nil
        }
        guard let authority else {
            throw BenchmarkError("licensed takeover: no acquire was granted within \(Int(timeout)) s of convergence; "
                + "check the agents' logs (the license, --mac, --http)")
        }
        return authority
    }
}
