#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Mesh
import SmallFiles
import Synchronization

/// One membership event line of `licmesh agent --events`, parsed.
package struct AgentEvent: Sendable {
    package var name: String
    /// The member it is about (nil for started, counters...).
    package var member: UInt64?
    /// The agent's CLOCK_MONOTONIC stamp in milliseconds.
    package var atMilliseconds: Double
    /// When this process read the line (CLOCK_MONOTONIC ms): the upper bound of the stamp.
    package var readMilliseconds: Double
    package var fields: [String: String]
}

/// A `licmesh agent --events` child process and everything it has printed so far.
package final class AgentProcess: Sendable {
    package let id: UInt64
    package let process: ChildProcess
    /// CLOCK_MONOTONIC ms just before the spawn: the lower bound of every stamp the agent prints.
    package let spawnedAtMilliseconds: Double
    package let stderrPath: String
    private let log = EventLog()

    package var idText: String { Self.hex(id) }

    package static func hex(_ id: UInt64) -> String {
        let digits = String(id, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    package init(executable: String, id: UInt64, arguments: [String], folder: String) throws {
        self.id = id
        stderrPath = joinedPath(folder, "agent-\(Self.hex(id)).log")
        spawnedAtMilliseconds = MonotonicSeconds.milliseconds()
        let log = self.log
        process = try ChildProcess(executable: executable,
                                   arguments: ["agent", "--id", Self.hex(id), "--events", "--log-level", "warn"] + arguments,
                                   stderrPath: stderrPath) { line in
            let read = MonotonicSeconds.milliseconds()
            guard let fields = EventLine.parse(line), let name = fields["event"],
                  let stamp = fields["at_ms"].flatMap(Double.init) else { return }
            let member = fields["member"].flatMap { UInt64($0, radix: 16) }
            log.events.withLock { $0.append(AgentEvent(name: name, member: member, atMilliseconds: stamp, readMilliseconds: read, fields: fields)) }
        }
    }

    package func events(_ name: String, member: UInt64? = nil) -> [AgentEvent] {
        log.events.withLock { all in all.filter { $0.name == name && (member == nil || $0.member == member) } }
    }

    package func count(_ name: String) -> Int { log.events.withLock { all in all.reduce(0) { $0 + ($1.name == name ? 1 : 0) } } }

    /// Members this agent has reported as joined (its view of the cluster).
    package func joinedMembers() -> Set<UInt64> {
        log.events.withLock { all in Set(all.lazy.filter { $0.name == "joined" }.compactMap(\.member)) }
    }

    /// The address from the `started` line, once printed.
    package var address: String? { events("started").first?.fields["address"] }

    /// The last lines of the agent's standard error, for error messages.
    package func stderrTail(lines: Int = 5) -> String {
        guard let bytes = try? SmallFile.read(path: stderrPath, limit: 64 << 20) else { return "" }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Asks for a counters line (SIGUSR1) and waits for it; nil if none came in `timeout` seconds.
    package func readCounters(timeout: Double = 10) -> AgentEvent? {
        let before = count("counters")
        let sentAt = MonotonicSeconds.milliseconds()
        process.signal(SIGUSR1)
        guard waitUntil(timeout: timeout, { count("counters") > before }) else { return nil }
        guard var line = events("counters").last else { return nil }
        line.fields["bench_sent_ms"] = "\(sentAt)"
        return line
    }
}

/// What the reader thread appends to and the benchmark reads.
private final class EventLog: Sendable {
    let events = Mutex<[AgentEvent]>([])
}
