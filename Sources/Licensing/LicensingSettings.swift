import SWIM

/// Tunables of the licensing layer, each with why its default is what it is.
public struct LicensingSettings: Hashable, Sendable {
    /// Cores this node asks for when it joins (by default the machine's core count, set by the agent).
    public var requestedCores: Int = 1

    /// Overrides the license's default policy (`majority` with three or more servers, else `available`).
    public var policy: PartitionPolicy?

    /// How long a request waits for the authority before it is sent to the next candidate. The request
    /// path is itself a failure detector: a dead authority costs one timeout, not a suspicion timeout.
    /// Loopback and LAN round trips are far below this.
    public var requestTimeout: Duration = .milliseconds(250)

    /// How long a candidate waits for promises (or an authority for replication acks) before retrying.
    public var proposalTimeout: Duration = .milliseconds(500)

    /// Wait before retrying a request when no authority is known, or after every candidate timed out.
    public var retryInterval: Duration = .milliseconds(500)

    /// Cores of a node confirmed dead return to the pool after this long. Long enough to ride out a
    /// false death (the node refutes and keeps its grant), short enough not to strand cores.
    public var deadGracePeriod: Duration = .seconds(30)

    public init() {}

    public func validate() throws(SettingsError) {
        if requestedCores < 0 { throw SettingsError(field: "requestedCores", problem: "must not be negative (got \(requestedCores))") }
        if requestTimeout <= .zero { throw SettingsError(field: "requestTimeout", problem: "must be positive") }
        if proposalTimeout <= .zero { throw SettingsError(field: "proposalTimeout", problem: "must be positive") }
        if retryInterval <= .zero { throw SettingsError(field: "retryInterval", problem: "must be positive") }
        if deadGracePeriod < .zero { throw SettingsError(field: "deadGracePeriod", problem: "must not be negative") }
    }
}

extension LicensingDirective {
    /// Splits directives into what the membership layer must do (messages encoded for the wire) and
    /// the events to report, in order.
    public static func split(_ directives: [LicensingDirective]) -> (actions: [MembershipAction], events: [LicensingEvent]) {
        var actions: [MembershipAction] = []
        var events: [LicensingEvent] = []
        for directive in directives {
            switch directive {
            case .send(let message, let to): actions.append(.sendMessage(LicensingCodec.encode(message), to: to))
            case .publish(let payload, let urgent): actions.append(.publish(payload, urgent: urgent))
            case .probe(let id): actions.append(.probe(id))
            case .event(let event): events.append(event)
            }
        }
        return (actions, events)
    }
}

/// Outputs of the licensing state machine, carried out by its driver.
public enum LicensingDirective: Hashable, Sendable {
    /// Send a licensing message to a member (as a SWIM application message).
    case send(LicensingMessage, to: NodeID)
    /// Publish a ledger payload through SWIM dissemination; `urgent` also sends it at once to a few.
    case publish(AppPayload, urgent: Bool)
    /// Ask the membership layer to probe this member now: a request to it timed out.
    case probe(NodeID)
    case event(LicensingEvent)
}

public struct LicensingEvent: Hashable, Sendable, CustomStringConvertible {
    public var at: Instant
    public var kind: Kind

    public enum Kind: Hashable, Sendable {
        /// A new epoch is established with this authority (heard here, or started here).
        case authorityChanged(epoch: Epoch, authority: NodeID)
        /// This node stopped acting as authority: a higher epoch exists.
        case steppedDown(epoch: Epoch, newer: Epoch)
        /// The authority (this node) answered a grant or release.
        case granted(Grant)
        case released(Grant)
        case refused(node: NodeID, Refusal)
        /// The authority (`from`) answered one of this node's acquire requests: the client's view of service.
        case acquired(Grant, from: NodeID)
        /// This node now holds cores, or lost them (released, revoked after a partition, or refused on reclaim).
        case ownGrant(Grant)
        case ownGrantLost(reason: String)
        /// This node's own request was refused.
        case requestRefused(Refusal)
        /// License servers hold different licenses; nobody acts as authority until fixed.
        case licenseMismatch([ServerLicense])
        /// After a partition under `available`, grants above the limit are revoked (newest first).
        case excessRevoked(Grant)
        /// Requests cannot be served: no eligible authority is alive.
        case noAuthority(reason: String)
    }

    public var description: String {
        let text: String = switch kind {
        case .authorityChanged(let epoch, let authority): "authority \(authority) epoch \(epoch)"
        case .steppedDown(let epoch, let newer): "stepped down from epoch \(epoch): epoch \(newer) exists"
        case .granted(let grant): "granted \(grant)"
        case .released(let grant): "released \(grant)"
        case .refused(let node, let refusal): "refused \(node): \(refusal)"
        case .acquired(let grant, let from): "acquired \(grant) from \(from)"
        case .ownGrant(let grant): "holding \(grant)"
        case .ownGrantLost(let reason): "lost grant: \(reason)"
        case .requestRefused(let refusal): "request refused: \(refusal)"
        case .licenseMismatch(let list):
            LicenseConsistency.mismatch(reports: list.map { (node: $0.node, licenseID: $0.licenseID) })?.description
                ?? "license mismatch: " + list.map(\.description).joined(separator: ", ")
        case .excessRevoked(let grant): "revoked excess \(grant)"
        case .noAuthority(let reason): "no authority: \(reason)"
        }
        return "\(at) \(text)"
    }
}

/// A license server and the license id it advertises.
public struct ServerLicense: Hashable, Sendable, CustomStringConvertible {
    public var node: NodeID
    public var mac: UInt64
    public var licenseID: String
    public var description: String { "\(node) (\(formatMAC(mac))) holds license \(licenseID.isEmpty ? "<none>" : licenseID)" }
}
