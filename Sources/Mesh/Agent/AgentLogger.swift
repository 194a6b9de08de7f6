import Glibc
import Synchronization

public enum LogLevel: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case debug, info, warning, error
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warn"
        case .error: "error"
        }
    }
}

/// One log line: a level, a fixed message (greppable: values go into fields, never into it) and
/// key-value fields in the order given.
public struct LogRecord: Sendable, Hashable {
    public var level: LogLevel
    public var message: String
    public var fields: [LogField]
    public init(_ level: LogLevel, _ message: String, _ fields: [LogField] = []) {
        self.level = level; self.message = message; self.fields = fields
    }
}

public struct LogField: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// Where the agent's log lines go. Called from the agent's I/O thread and its stream workers, so an
/// implementation must be thread-safe and quick (never block on a slow consumer for long).
public protocol AgentLogger: Sendable {
    func log(_ record: LogRecord)
}

/// Discards everything: for tests and benchmarks that run many agents.
struct SilentLogger: AgentLogger {
    public init() {}
    public func log(_ record: LogRecord) {}
}

/// One logfmt line per record on standard error, written with a single write(2) so lines from
/// several threads never interleave: `ts=2025-01-02T03:04:05.678Z level=info msg="member suspected" member=...`.
public struct LogfmtLogger: AgentLogger {
    public var minimumLevel: LogLevel
    /// Fields added to every line (e.g. `node=...` when several agents share a process).
    public var commonFields: [LogField]

    public init(minimumLevel: LogLevel = .info, commonFields: [LogField] = []) {
        self.minimumLevel = minimumLevel
        self.commonFields = commonFields
    }

    public func log(_ record: LogRecord) {
        guard record.level >= minimumLevel else { return }
        var line = "ts=\(Self.timestamp()) level=\(record.level) msg=\(TextEscaping.logfmtValue(record.message))"
        for field in commonFields + record.fields {
            line += " \(field.key)=\(TextEscaping.logfmtValue(field.value))"
        }
        line += "\n"
        Logfmt.writeAll(line, to: 2)
    }

    /// UTC, millisecond precision, RFC 3339.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = Int(spec.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}

/// Writing log lines, for the loggers and the `--events` output (values are quoted by
/// `TextEscaping.logfmtValue`).
public enum Logfmt {
    /// Writes the whole text to a file descriptor, retrying short writes and EINTR.
    public static func writeAll(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 { offset += written; continue }
                if written < 0 && errno == EINTR { continue }
                return
            }
        }
    }
}

/// Lets `burst` lines per key through per interval (one by default) and counts the rest, so that a
/// flood of bad packets or requests cannot flood the log. The next line that passes carries
/// `suppressed=N`.
final class LogRateLimiter: Sendable {
    private struct Slot { var windowEnds: Int64; var passed: Int; var suppressed: Int }
    private let slots = Mutex<[String: Slot]>([:])
    private let intervalNanoseconds: Int64

    init(interval: Duration = .seconds(10)) {
        intervalNanoseconds = interval.nanoseconds
    }

    /// Nil when the line must be dropped; else how many lines with this key were dropped since the last one.
    func admit(_ key: String, burst: Int = 1) -> Int? {
        let now = MonotonicClock.now().nanoseconds
        return slots.withLock { slots -> Int? in
            var slot = slots[key] ?? Slot(windowEnds: .min, passed: 0, suppressed: 0)
            if now >= slot.windowEnds {
                slot.windowEnds = now &+ intervalNanoseconds
                slot.passed = 0
            }
            guard slot.passed < burst else {
                slot.suppressed += 1
                slots[key] = slot
                return nil
            }
            let suppressed = slot.suppressed
            slot.passed += 1
            slot.suppressed = 0
            // Keys are a few fixed labels; the bound only guards against a bug making them unbounded.
            if slots.count > 256 { slots.removeAll() }
            slots[key] = slot
            return suppressed
        }
    }
}
