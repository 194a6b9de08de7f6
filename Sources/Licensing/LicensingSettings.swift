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
    /// false death (the node refutes and keeps its grant), and longer than `leaseDuration` plus the
    /// time gossip takes, so that a holder cut off from every authority has stopped using its cores
    /// before anyone else may be given them.
    public var deadGracePeriod: Duration = .seconds(30)

    /// A holder keeps using its cores only while it hears from an authority that a quorum of license
    /// servers backs (the authority's heartbeat, gossiped, or an answer to a request) at least this
    /// often. Cut off for longer, it stops validating until it hears again: by then the other side of
    /// a partition may have given its cores away. Half the grace period leaves the other half for
    /// failure detection and gossip delays, which is the default (nil).
    public var leaseDuration: Duration?

    /// A node whose clock differs from the license servers' median by more than this is reported,
    /// may not act as authority, and judges license validity by the cluster's latest clock. Minutes
    /// hide nothing a license period (days) could be cheated of, and tolerate an unsynchronised VM.
    public var maximumClockSkew: Duration = .seconds(300)

    /// A refused node asks again this often (and at once when its ledger replica shows enough free
    /// cores), so that it holds its cores soon after another node releases them.
    public var refusedRetryInterval: Duration = .seconds(4)

    /// How often a replica whose ledger differs from the authority's announced head asks a peer for
    /// the entries it lacks (at once when the peer had more than one answer carries). One LAN protocol
    /// period: a change reaches every replica in a few of them, and an idle cluster asks nothing.
    public var ledgerPullInterval: Duration = .milliseconds(500)

    public init() {}

    /// The lease in force: `leaseDuration`, or half of `deadGracePeriod`.
    public var lease: Duration { leaseDuration ?? deadGracePeriod.scaled(by: 0.5) }

    /// How often the authority sends its heartbeat: five per lease, so that a few lost ones never let
    /// a lease lapse.
    public var heartbeatInterval: Duration { lease.scaled(by: 0.2) }

    public func validate() throws(SettingsError) {
        if requestedCores < 0 { throw SettingsError(field: "requestedCores", problem: "must not be negative (got \(requestedCores))") }
        if requestTimeout <= .zero { throw SettingsError(field: "requestTimeout", problem: "must be positive") }
        if proposalTimeout <= .zero { throw SettingsError(field: "proposalTimeout", problem: "must be positive") }
        if retryInterval <= .zero { throw SettingsError(field: "retryInterval", problem: "must be positive") }
        if maximumClockSkew <= .zero { throw SettingsError(field: "maximumClockSkew", problem: "must be positive") }
        if ledgerPullInterval <= .zero { throw SettingsError(field: "ledgerPullInterval", problem: "must be positive") }
        if refusedRetryInterval <= .zero { throw SettingsError(field: "refusedRetryInterval", problem: "must be positive") }
        if deadGracePeriod <= .zero { throw SettingsError(field: "deadGracePeriod", problem: "must be positive") }
        if lease <= .zero { throw SettingsError(field: "leaseDuration", problem: "must be positive") }
        if lease >= deadGracePeriod {
            throw SettingsError(field: "leaseDuration", problem: "must be shorter than deadGracePeriod (\(lease) is not below \(deadGracePeriod)): "
                + "a holder cut off from every authority must stop using its cores before they can be given to another node")
        }
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
            case .watch(let id): actions.append(.watch(id))
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
    /// Ask the membership layer to check on the authority this node would take over from.
    case watch(NodeID)
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
        /// This node now holds cores, or lost them (released, revoked after a partition, reclaimed after
        /// it was held dead, refused on reclaim, or its lease lapsed).
        case ownGrant(Grant)
        case ownGrantLost(reason: String)
        /// A request of this node (acquire or release) ended, for whoever waits on it.
        case requestSettled(RequestID, RequestOutcome)
        /// License servers hold licenses of different licensees: nobody acts as authority until fixed.
        case licenseMismatch([ServerLicense])
        /// License servers hold different versions of one licensee's license (a renewal being rolled
        /// out): service goes on under the authority's license. Empty when they agree again.
        case licenseMix([ServerLicense])
        /// After a partition under `available`, grants above the limit are revoked (newest first).
        case excessRevoked(Grant)
        /// Requests cannot be served: no eligible authority is alive.
        case noAuthority(reason: String)
        /// Live members advertise the same MAC (empty: resolved).
        case duplicateMACs([MACConflict])
        /// The ledger holds more cores than the license allows (total, limit); the authority revokes.
        case ledgerOverLimit(total: Int, limit: Int)
        /// This node's clock cannot be trusted, and why (nil: it agrees with the license servers' again).
        case clockProblem(String?)
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
        case .requestSettled(let id, let outcome): "request \(id) settled: \(outcome)"
        case .licenseMismatch(let list):
            LicenseConsistency.mismatch(reports: list.map { (node: $0.node, licenseID: $0.licenseID) })?.description
                ?? "license mismatch: " + list.map(\.description).joined(separator: ", ")
        case .licenseMix(let list):
            list.isEmpty ? "license servers hold one license again" : "license servers hold different versions: " + list.map(\.description).joined(separator: ", ")
        case .excessRevoked(let grant): "revoked excess \(grant)"
        case .noAuthority(let reason): "no authority: \(reason)"
        case .duplicateMACs(let list): list.isEmpty ? "no MAC is advertised twice any more" : list.map(\.description).joined(separator: "; ")
        case .ledgerOverLimit(let total, let limit): "the ledger holds \(total) cores against a limit of \(limit); revoking the newest"
        case .clockProblem(let problem): problem ?? "this node's clock agrees with the license servers' again"
        }
        return "\(at) \(text)"
    }
}

/// A license server and the license id it advertises.
public struct ServerLicense: Hashable, Sendable, CustomStringConvertible {
    public var node: NodeID
    public var mac: UInt64
    public var licenseID: String
    /// The licensee fingerprint its advert carries (0: unknown).
    public var lineage: UInt64 = 0
    public var description: String { "\(node) (\(formatMAC(mac))) holds license \(licenseID.isEmpty ? "<none>" : licenseID)" }
}
