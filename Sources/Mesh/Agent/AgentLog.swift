import SWIM
import Wire

/// The agent's logger with its node ID on every line and rate limiting for what could flood
/// (rejected packets, failing peers). Shared by the I/O thread and the stream workers.
struct AgentLog: Sendable {
    let logger: any AgentLogger
    let limiter: LogRateLimiter
    let node: NodeID

    init(logger: any AgentLogger, node: NodeID, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.limiter = LogRateLimiter(interval: interval)
        self.node = node
    }

    func log(_ level: LogLevel, _ message: String, _ fields: [LogField] = []) {
        logger.log(LogRecord(level, message, [LogField("node", node.description)] + fields))
    }

    /// At most one line per `key` per interval; the next line says how many were suppressed.
    func limited(_ key: String, burst: Int = 1, _ level: LogLevel, _ message: String, _ fields: [LogField] = []) {
        guard let suppressed = limiter.admit(key, burst: burst) else { return }
        log(level, message, fields + (suppressed > 0 ? [LogField("suppressed", "\(suppressed)")] : []))
    }

    /// A packet or frame the codec rejected. Never answered; logged rate-limited per reason.
    func rejected(_ error: WireError, from peer: String, channel: String) {
        let level: LogLevel = switch error.kind {
        case .authenticationFailed, .wrongCluster, .notEncrypted, .unexpectedEncryption, .replayed: .warning
        default: .info
        }
        limited("rejected-\(error.kind)", level, "packet rejected",
                [LogField("reason", error.kind.rawValue), LogField("from", peer), LogField("channel", channel),
                 LogField("detail", error.description)])
    }
}
