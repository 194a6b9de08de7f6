#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Mesh
import Synchronization
import AgentHarness

/// Validate latency at a replica's local API while other local clients misbehave: nothing, 100 or
/// 1,000 idle keep-alive connections, 100 slowloris clients (each trickling a request head that never
/// ends, reconnecting whenever the server closes it), and 1,000 idle plus 100 slowloris together.
/// Real licensed agents on loopback; the attackers and the measuring client are this process.
public enum HTTPLoadBenchmark {
    public struct Row: Codable, Sendable {
        public var condition: String
        public var idleConnections: Int
        public var slowlorisClients: Int
        /// Attack connections the server closed during the row (slowloris cut at the head timeout), reopened.
        public var attackReconnects: Int
        public var validates: Int
        public var failures: Int
        public var latencyMilliseconds: Percentiles
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "http"
        public var date: String
        public var secondsPerRow: Double
        public var rows: [Row]
    }

    public static func run(seconds: Double, resultsDirectory: String, print log: (String) -> Void) throws -> Results {
        ChildProcesses.installInterruptHandlers()
        DescriptorLimit.raise(toAtLeast: 8192)   // 1,100 attack connections in this process
        let executable = AgentBinary.licmesh()
        try LicensedTakeover.requireAgentLicenseFlags(executable: executable)
        let folder = try ChildProcesses.makeTemporaryFolder(prefix: "licmesh-bench-http")
        defer { ChildProcesses.removeFolder(folder) }
        let nodes = 3
        let materials = try LicensedTakeover.Materials(nodes: nodes, servers: 2, coresPerNode: 1, folder: folder)
        let firstID: UInt64 = 0xB001
        let (ports, perAgent) = try materials.agentArguments(firstID: firstID)
        let cluster = try AgentCluster(count: nodes, firstID: firstID,
                                       launch: AgentLaunch(executable: executable, profile: "lan", plain: false,
                                                           cluster: "bench-http", perAgentArguments: perAgent), timeout: 60)
        defer { cluster.stop(grace: 0) }
        _ = waitUntil(timeout: 30) { cluster.agents.allSatisfy { !$0.events("holding").isEmpty } }
        let port = ports[nodes - 1]  // a replica: an ordinary node, answering validations from its own ledger

        log("http benchmark: validate at a replica's API (127.0.0.1:\(port)) with local clients holding connections, "
            + "\(formatFixed(seconds, 1)) s per row, one client validating back to back on fresh connections")
        log("  (latencies depend on CPU: 2 cores shared by 3 agents, the attackers and the client)")
        var rows: [Row] = []
        for (condition, idle, slow) in [("quiet", 0, 0), ("100 idle", 100, 0), ("1,000 idle", 1000, 0),
                                        ("100 slowloris", 0, 100), ("1,000 idle + 100 slowloris", 1000, 100)] {
            let attack = try Attackers(port: port, idle: idle, slowloris: slow)
            usleep(300_000)  // let the server take them all in
            let (latencies, failures) = measureValidates(port: port, seconds: seconds)
            let reconnects = attack.stop()
            let row = Row(condition: condition, idleConnections: idle, slowlorisClients: slow, attackReconnects: reconnects,
                          validates: latencies.count, failures: failures, latencyMilliseconds: Percentiles(latencies))
            rows.append(row)
            log("  " + condition.padding(toLength: 28, withPad: " ", startingAt: 0)
                + "\(row.validates)".leftPadded(to: 7) + " validates   ms p50 " + formatFixed(row.latencyMilliseconds.p50 ?? 0, 2)
                + "  p99 " + formatFixed(row.latencyMilliseconds.p99 ?? 0, 2) + "  max " + formatFixed(row.latencyMilliseconds.max ?? 0, 2)
                + "   failures \(failures)   attack reconnects \(reconnects)")
        }
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), secondsPerRow: seconds, rows: rows)
        let path = try BenchmarkResults.write(results, name: "bench-http.json", directory: resultsDirectory)
        log("  wrote \(path)")
        return results
    }

    /// One client, validating back to back for `seconds`: latencies in ms and failed calls (no answer,
    /// or not 200).
    static func measureValidates(port: UInt16, seconds: Double) -> ([Double], Int) {
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 5)
        var latencies: [Double] = []
        var failures = 0
        let end = MonotonicSeconds.milliseconds() + seconds * 1000
        while MonotonicSeconds.milliseconds() < end {
            let sent = MonotonicSeconds.milliseconds()
            let answer = try? client.send("POST", "/v1/validate")
            latencies.append(MonotonicSeconds.milliseconds() - sent)
            if answer?.status != 200 { failures += 1 }
        }
        return (latencies, failures)
    }

    /// Connections held open by a thread of their own: idle ones sent one complete request and read
    /// its answer, slowloris ones send a header byte every second and never finish. Any the server
    /// closes is reopened at once, as an attacker would.
    final class Attackers: Sendable {
        private final class Flags: Sendable {
            let running = Atomic<Bool>(true)
            let reconnects = Atomic<Int>(0)
            let finished = Atomic<Bool>(false)
        }
        private let flags = Flags()

        init(port: UInt16, idle: Int, slowloris: Int) throws {
            var connections: [(fd: Int32, slow: Bool)] = []
            for index in 0..<(idle + slowloris) {
                let slow = index >= idle
                guard let fd = Self.open(port: port, slow: slow) else { throw BenchmarkError("cannot open attack connection \(index)") }
                connections.append((fd, slow))
            }
            let state = flags
            let initial = connections
            Thread {
                var held = initial
                var lastTrickle = MonotonicSeconds.milliseconds()
                var sink = [UInt8](repeating: 0, count: 4096)
                while state.running.load(ordering: .relaxed) {
                    var polls = held.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                    _ = poll(&polls, nfds_t(polls.count), 100)
                    for (index, entry) in polls.enumerated() where entry.revents != 0 {
                        let read = sink.withUnsafeMutableBytes { recv(entry.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                        if read > 0 { continue }  // an answer (a 408 to a slowloris): the close follows
                        close(entry.fd)
                        state.reconnects.add(1, ordering: .relaxed)
                        held[index].fd = Self.open(port: port, slow: held[index].slow) ?? -1
                    }
                    if MonotonicSeconds.milliseconds() - lastTrickle >= 1000 {
                        lastTrickle = MonotonicSeconds.milliseconds()
                        for connection in held where connection.slow && connection.fd >= 0 {
                            _ = "a".withCString { Glibc.send(connection.fd, $0, 1, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
                        }
                    }
                }
                for connection in held where connection.fd >= 0 { close(connection.fd) }
                state.finished.store(true, ordering: .relaxed)
            }.start()
        }

        /// Closes every attack connection; returns how many the server had closed and were reopened.
        func stop() -> Int {
            flags.running.store(false, ordering: .relaxed)
            _ = waitUntil(timeout: 10) { self.flags.finished.load(ordering: .relaxed) }
            return flags.reconnects.load(ordering: .relaxed)
        }

        private static func open(port: UInt16, slow: Bool) -> Int32? {
            guard let fd = try? LoopbackHTTPClient.connect(port: port, timeoutSeconds: 5) else { return nil }
            let head = slow
                ? "POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                : "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            _ = head.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            if !slow {
                // Read the answer, so that the connection sits idle between requests, kept alive.
                var buffer = [UInt8](repeating: 0, count: 1024)
                _ = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
            return fd
        }
    }
}
