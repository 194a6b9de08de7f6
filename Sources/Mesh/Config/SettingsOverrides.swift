import Licensing
import SWIM

/// The `settings` and `licensing` objects of the configuration file: overrides of single fields of
/// the chosen SWIM profile and of `LicensingSettings`, by their Swift names.
enum SettingsOverrides {
    enum ValueKind { case duration, integer, number, boolean }

    /// The SWIM fields an operator may override. `maxMessageSize` is not among them: the agent
    /// derives it from its packet budget and the encryption overhead.
    static let swimFields: [(name: String, kind: ValueKind)] = [
        ("probeInterval", .duration), ("probeTimeout", .duration), ("indirectChecks", .integer),
        ("nackTimeoutFraction", .number), ("suspicionMultiplier", .number), ("suspicionMaxMultiplier", .number),
        ("probeOnSuspicion", .boolean), ("maxLocalHealthMultiplier", .integer), ("retransmitMultiplier", .integer),
        ("pushPullInterval", .duration), ("streamFallbackPing", .boolean), ("tombstoneRetention", .duration),
        ("joinRetryInterval", .duration), ("maxJoinRetryInterval", .duration), ("leaveFanout", .integer),
        ("urgentGossipFanout", .integer), ("suspicionConfirmations", .integer), ("reconnectInterval", .duration),
    ]

    static let licensingFields: [(name: String, kind: ValueKind?)] = [
        ("policy", nil), ("deadGracePeriod", .duration), ("requestTimeout", .duration),
        ("proposalTimeout", .duration), ("retryInterval", .duration), ("leaseDuration", .duration),
        ("refusedRetryInterval", .duration), ("maximumClockSkew", .duration),
    ]

    enum Value {
        case duration(Duration), integer(Int), number(Double), boolean(Bool)
    }

    /// Reads one override as its kind wants it; the error names `object.name`.
    static func read(_ name: String, kind: ValueKind, in reader: FieldReader) throws(ConfigError) -> Value? {
        switch kind {
        case .duration:
            guard let text = try reader.string(name, example: "\"500ms\"") else { return nil }
            do {
                return .duration(try DurationText.parse(text))
            } catch {
                throw ConfigError(.badDuration, field: reader.prefix + name, value: "'\(quotedConfigText(text))'",
                                  problem: "is not a duration (\(error.problem))",
                                  fix: "write e.g. \"500ms\", \"2s\", \"1.5m\" or \"1h\"", source: reader.source)
            }
        case .integer:
            return try reader.integer(name, example: "3").map { .integer($0) }
        case .number:
            return try reader.number(name, example: "4").map { .number($0) }
        case .boolean:
            return try reader.bool(name).map { .boolean($0) }
        }
    }

    /// Applies the `settings` object to `settings`; unknown keys and wrong types are errors.
    static func applySWIM(_ overrides: [String: ConfigValue], to settings: inout Settings, source: ConfigSource) throws(ConfigError) {
        let names = swimFields.map(\.name)
        for key in overrides.keys.sorted() where !names.contains(key) {
            let problem = key == "maxMessageSize"
                ? "cannot be overridden: the agent sets it from its packet budget and the encryption overhead"
                : "is not a protocol setting"
            throw ConfigError(.unknownField, field: "settings.\(key)", value: overrides[key]?.description, problem: problem,
                              fix: suggestion(for: key, among: names, what: "settings"), source: source)
        }
        let reader = FieldReader(members: overrides, source: source, prefix: "settings.")
        for (name, kind) in swimFields {
            guard let value = try read(name, kind: kind, in: reader) else { continue }
            switch (name, value) {
            case ("probeInterval", .duration(let d)): settings.probeInterval = d
            case ("probeTimeout", .duration(let d)): settings.probeTimeout = d
            case ("indirectChecks", .integer(let n)): settings.indirectChecks = n
            case ("nackTimeoutFraction", .number(let x)): settings.nackTimeoutFraction = x
            case ("suspicionMultiplier", .number(let x)): settings.suspicionMultiplier = x
            case ("suspicionMaxMultiplier", .number(let x)): settings.suspicionMaxMultiplier = x
            case ("probeOnSuspicion", .boolean(let b)): settings.probeOnSuspicion = b
            case ("maxLocalHealthMultiplier", .integer(let n)): settings.maxLocalHealthMultiplier = n
            case ("retransmitMultiplier", .integer(let n)): settings.retransmitMultiplier = n
            case ("pushPullInterval", .duration(let d)): settings.pushPullInterval = d
            case ("streamFallbackPing", .boolean(let b)): settings.streamFallbackPing = b
            case ("tombstoneRetention", .duration(let d)): settings.tombstoneRetention = d
            case ("joinRetryInterval", .duration(let d)): settings.joinRetryInterval = d
            case ("maxJoinRetryInterval", .duration(let d)): settings.maxJoinRetryInterval = d
            case ("leaveFanout", .integer(let n)): settings.leaveFanout = n
            case ("urgentGossipFanout", .integer(let n)): settings.urgentGossipFanout = n
            case ("suspicionConfirmations", .integer(let n)): settings.suspicionConfirmations = n
            case ("reconnectInterval", .duration(let d)): settings.reconnectInterval = d
            default: assertionFailure("settings field \(name) read as the wrong kind")
            }
        }
    }

    /// Applies the `licensing` object to `settings`.
    static func applyLicensing(_ overrides: [String: ConfigValue], to settings: inout LicensingSettings, source: ConfigSource) throws(ConfigError) {
        let names = licensingFields.map(\.name)
        for key in overrides.keys.sorted() where !names.contains(key) {
            throw ConfigError(.unknownField, field: "licensing.\(key)", value: overrides[key]?.description, problem: "is not a licensing setting",
                              fix: suggestion(for: key, among: names, what: "licensing settings"), source: source)
        }
        let reader = FieldReader(members: overrides, source: source, prefix: "licensing.")
        if let text = try reader.string("policy", example: "\"majority\"") {
            guard let policy = PartitionPolicy(rawValue: text) else {
                let choices = PartitionPolicy.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
                throw ConfigError(.badValue, field: "licensing.policy", value: "'\(quotedConfigText(text))'", problem: "is not a partition policy",
                                  fix: "write \(choices), or leave it out to use the license's default", source: source)
            }
            settings.policy = policy
        }
        for (name, kind) in licensingFields {
            guard let kind, case .duration(let d)? = try read(name, kind: kind, in: reader) else { continue }
            switch name {
            case "deadGracePeriod": settings.deadGracePeriod = d
            case "requestTimeout": settings.requestTimeout = d
            case "proposalTimeout": settings.proposalTimeout = d
            case "retryInterval": settings.retryInterval = d
            case "leaseDuration": settings.leaseDuration = d
            case "refusedRetryInterval": settings.refusedRetryInterval = d
            case "maximumClockSkew": settings.maximumClockSkew = d
            default: assertionFailure("licensing field \(name) not handled")
            }
        }
    }
}
