import Licensing
import SWIM

/// One log line per licensing event: authority changes, grants, releases, refusals (with the field
/// messages word for word), lost grants, mismatched licenses. Messages are fixed (greppable); the
/// values go into fields.
extension LicensingEvent {
    var logLevel: LogLevel {
        switch kind {
        case .authorityChanged, .granted, .released, .ownGrant: .info
        case .acquired: .debug
        case .steppedDown, .refused, .ownGrantLost, .excessRevoked, .noAuthority, .licenseMix: .warning
        case .licenseMismatch, .duplicateMACs, .ledgerOverLimit: .error
        case .clockProblem(let problem): problem == nil ? .info : .error
        case .requestSettled(_, let outcome):
            switch outcome {
            case .granted, .released: .info
            case .refused: .error
            case .superseded, .abandoned: .debug
            }
        }
    }

    var logMessage: String {
        switch kind {
        case .authorityChanged: "license authority changed"
        case .steppedDown: "stepped down as license authority"
        case .granted: "cores granted"
        case .released: "cores released"
        case .refused: "request refused"
        case .acquired: "acquire answered"
        case .ownGrant: "holding cores"
        case .ownGrantLost: "no longer holding cores"
        case .requestSettled(_, let outcome):
            switch outcome {
            case .granted: "this node's request was granted"
            case .released: "this node's release was recorded"
            case .refused: "this node's request was refused"
            case .superseded: "this node's request was superseded"
            case .abandoned: "this node's request was abandoned"
            }
        case .licenseMismatch: "license servers hold different licenses"
        case .licenseMix: "license servers hold different versions of the license"
        case .duplicateMACs(let list): list.isEmpty ? "no MAC is advertised twice any more" : "live members advertise the same MAC"
        case .ledgerOverLimit: "the ledger holds more cores than the license allows; revoking the newest grants"
        case .excessRevoked: "grant revoked to fit the core limit"
        case .noAuthority: "no license authority"
        case .clockProblem(let problem): problem == nil ? "this node's clock agrees with the license servers' again" : "this node's clock cannot be trusted"
        }
    }

    /// The event's values, with stable names (scripts and the demo parse them).
    func logFields(selfID: NodeID) -> [LogField] {
        func grantFields(_ grant: Grant) -> [LogField] {
            [LogField("holder", grant.node.description), LogField("cores", "\(grant.cores)"), LogField("stamp", grant.stamp.description)]
        }
        switch kind {
        case .authorityChanged(let epoch, let authority):
            return [LogField("authority", authority.description), LogField("epoch", epoch.description),
                    LogField("self", authority == selfID ? "true" : "false")]
        case .steppedDown(let epoch, let newer):
            return [LogField("epoch", epoch.description), LogField("newer", newer.description)]
        case .granted(let grant), .released(let grant), .ownGrant(let grant), .excessRevoked(let grant):
            return grantFields(grant)
        case .acquired(let grant, let from):
            return grantFields(grant) + [LogField("authority", from.description)]
        case .refused(let node, let refusal):
            return [LogField("requester", node.description), LogField("reason", refusal.description)]
        case .ownGrantLost(let reason), .noAuthority(let reason):
            return [LogField("reason", reason)]
        case .requestSettled(let id, let outcome):
            var fields = [LogField("request", id.description)]
            switch outcome {
            case .granted(let grant): fields += grantFields(grant)
            case .released: break
            case .refused(let refusal): fields.append(LogField("reason", refusal.description))
            case .superseded(let newer): fields.append(LogField("by", newer.description))
            case .abandoned(let reason): fields.append(LogField("reason", reason))
            }
            return fields
        case .duplicateMACs(let list):
            return [LogField("conflicts", list.map(\.description).joined(separator: "; ")),
                    LogField("fix", "give each host its own MAC (the agent's mac setting), or stop the node that claims another's")]
        case .ledgerOverLimit(let total, let limit):
            return [LogField("total", "\(total)"), LogField("limit", "\(limit)")]
        case .clockProblem(let problem):
            guard let problem else { return [] }
            return [LogField("reason", problem),
                    LogField("fix", "set this host's clock right (enable NTP); until then it validates by the license servers' time and is never authority")]
        case .licenseMix(let servers):
            return [LogField("servers", servers.map(\.description).joined(separator: "; ")),
                    LogField("fix", "finish the rollout: install the same license file on every license server and reload them (SIGHUP)")]
        case .licenseMismatch(let servers):
            return [LogField("servers", servers.map(\.description).joined(separator: "; ")),
                    LogField("fix", "install the same license file on every license server and reload them (SIGHUP)")]
        }
    }

    /// The event as an `--events` line name (`event=authority ...`).
    var eventName: String {
        switch kind {
        case .authorityChanged: "authority"
        case .steppedDown: "stepped-down"
        case .granted: "granted"
        case .released: "released"
        case .refused: "refused"
        case .acquired: "acquired"
        case .ownGrant: "holding"
        case .ownGrantLost: "lost-grant"
        case .requestSettled(_, let outcome):
            switch outcome {
            case .granted: "request-granted"
            case .released: "request-released"
            case .refused: "request-refused"
            case .superseded: "request-superseded"
            case .abandoned: "request-abandoned"
            }
        case .licenseMismatch: "license-mismatch"
        case .licenseMix: "license-mix"
        case .duplicateMACs: "duplicate-mac"
        case .ledgerOverLimit: "ledger-over-limit"
        case .excessRevoked: "revoked"
        case .noAuthority: "no-authority"
        case .clockProblem: "clock"
        }
    }
}

extension EventLine {
    /// A licensing event as an `--events` line: `event=authority node=<self> authority=<id> epoch=2.1 self=true at_ms=...`.
    /// Names: authority, stepped-down, granted, released, refused, acquired, holding, lost-grant,
    /// request-granted, request-released, request-refused, request-superseded, request-abandoned,
    /// license-mismatch, license-mix, duplicate-mac, ledger-over-limit, revoked, no-authority, clock.
    public static func format(_ event: LicensingEvent, node: NodeID) -> String {
        format(name: event.eventName, node: node, fields: event.logFields(selfID: node), at: event.at)
    }
}
