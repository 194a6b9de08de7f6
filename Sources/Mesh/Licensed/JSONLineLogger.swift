/// One JSON object per line on standard error (`"logFormat": "json"`), written with a single write(2)
/// so that lines from several threads never interleave:
///
///     {"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"license authority changed","node":"...","epoch":"2.0"}
///
/// Fields keep their order; a field named like `ts`, `level` or `msg` (or a repeated one) is
/// prefixed with `field_` so every line stays a valid object with unique keys.
public struct JSONLineLogger: AgentLogger {
    public var minimumLevel: LogLevel
    public var commonFields: [LogField]
    /// Where lines go (2: standard error).
    public var descriptor: Int32

    public init(minimumLevel: LogLevel = .info, commonFields: [LogField] = [], descriptor: Int32 = 2) {
        self.minimumLevel = minimumLevel
        self.commonFields = commonFields
        self.descriptor = descriptor
    }

    public func log(_ record: LogRecord) {
        guard record.level >= minimumLevel else { return }
        Logfmt.writeAll(Self.line(record, timestamp: LogfmtLogger.timestamp(), commonFields: commonFields), to: descriptor)
    }

    static func line(_ record: LogRecord, timestamp: String, commonFields: [LogField] = []) -> String {
        var seen: Set<String> = ["ts", "level", "msg"]
        var line = "{\"ts\":\(TextEscaping.jsonString(timestamp)),\"level\":\(TextEscaping.jsonString(record.level.description)),"
            + "\"msg\":\(TextEscaping.jsonString(record.message))"
        for field in commonFields + record.fields {
            var key = field.key
            while seen.contains(key) { key = "field_" + key }
            seen.insert(key)
            line += ",\(TextEscaping.jsonString(key)):\(TextEscaping.jsonString(field.value))"
        }
        return line + "}\n"
    }
}
