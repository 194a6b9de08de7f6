import SWIM

/// Membership events as logfmt: the agent's log lines and `licmesh agent --events` use these names
/// and fields, and tests and benchmark scripts parse them, so they are stable:
///
///     event=suspected node=<self> member=<id> address=<host:port> incarnation=<n> by=<id> at_ms=<monotonic ms>
///
/// Names: joined, suspected, refuted, dead, left, updated, id-conflict, refuted-self, forgotten.
/// `at_ms` is CLOCK_MONOTONIC in milliseconds, the same clock on every process of a host.
extension MembershipEvent {
    public var name: String {
        switch kind {
        case .joined: "joined"
        case .suspected: "suspected"
        case .refuted: "refuted"
        case .confirmedDead: "dead"
        case .left: "left"
        case .updated: "updated"
        case .idConflict: "id-conflict"
        case .refutedSuspicionOfSelf: "refuted-self"
        case .forgotten: "forgotten"
        }
    }

    public var fields: [LogField] {
        func describe(_ member: Member) -> [LogField] {
            [LogField("member", member.id.description), LogField("address", member.address.rawValue),
             LogField("incarnation", "\(member.incarnation)")]
        }
        switch kind {
        case .joined(let m), .refuted(let m), .left(let m), .updated(let m):
            return describe(m)
        case .suspected(let m, let by), .confirmedDead(let m, let by):
            return describe(m) + [LogField("by", by.description)]
        case .idConflict(let id, let known, let claimant):
            return [LogField("member", id.description), LogField("address", known.rawValue), LogField("claimant", claimant.rawValue)]
        case .refutedSuspicionOfSelf(let incarnation):
            return [LogField("incarnation", "\(incarnation)")]
        case .forgotten(let id):
            return [LogField("member", id.description)]
        }
    }
}

public enum EventLine {
    /// Milliseconds of a monotonic instant, as printed in `at_ms`.
    public static func milliseconds(_ instant: Instant) -> Int64 { instant.nanoseconds / 1_000_000 }

    /// `event=<name> node=<node> <fields...> at_ms=<ms>` with a trailing newline.
    public static func format(_ event: MembershipEvent, node: NodeID) -> String {
        format(name: event.name, node: node, fields: event.fields, at: event.at)
    }

    public static func format(name: String, node: NodeID, fields: [LogField], at instant: Instant) -> String {
        var line = "event=\(name) node=\(node)"
        for field in fields { line += " \(field.key)=\(TextEscaping.logfmtValue(field.value))" }
        return line + " at_ms=\(milliseconds(instant))\n"
    }

    /// Parses one line back into its fields (`event` included); nil for lines that are not events.
    /// Handles the quoting `TextEscaping.logfmtValue` produces.
    public static func parse(_ line: Substring) -> [String: String]? {
        var fields: [String: String] = [:]
        var rest = line.drop { $0 == " " }
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(c == "n" ? "\n" : c == "t" ? "\t" : c == "r" ? "\r" : c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { return nil }
            } else {
                let end = rest.firstIndex { $0 == " " || $0 == "\n" } ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            fields[key] = value
            rest = rest.drop { $0 == " " || $0 == "\n" }
        }
        return fields["event"] == nil ? nil : fields
    }
}
