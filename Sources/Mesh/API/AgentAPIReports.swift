/// The bodies of the read-only endpoints besides `/v1/status` (which is the whole `AgentStatus`):
/// each a subset of the status, with enough context (node, authority, epoch) to read on its own.
/// Public and Codable so that `licmesh members` and `licmesh ledger` decode what the agent sent.
/// Absent values are written as `null`, not left out, so that every body has the same keys.

/// `GET /v1/members`.
public struct MembersReport: Codable, Hashable, Sendable {
    public var node: String
    public var cluster: String
    public var authority: String?
    public var epoch: String
    /// The ledger's total and the license's limit (nil without a license), for the table's footer.
    public var coresInUse: Int
    public var maxCores: Int?
    public var members: [MemberStatus]

    public init(_ status: AgentStatus) {
        node = status.node
        cluster = status.cluster
        authority = status.authority
        epoch = status.epoch
        coresInUse = status.coresInUse
        maxCores = status.license?.maxCores
        members = status.members
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(cluster, forKey: .cluster)
        try container.encode(authority, forKey: .authority)
        try container.encode(epoch, forKey: .epoch)
        try container.encode(coresInUse, forKey: .coresInUse)
        try container.encode(maxCores, forKey: .maxCores)
        try container.encode(members, forKey: .members)
    }
}

/// `GET /v1/ledger`.
public struct LedgerReport: Codable, Hashable, Sendable {
    public var node: String
    public var cluster: String
    public var authority: String?
    public var epoch: String
    public var coresInUse: Int
    public var maxCores: Int?
    public var ledger: [GrantStatus]

    public init(_ status: AgentStatus) {
        node = status.node
        cluster = status.cluster
        authority = status.authority
        epoch = status.epoch
        coresInUse = status.coresInUse
        maxCores = status.license?.maxCores
        ledger = status.ledger
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(cluster, forKey: .cluster)
        try container.encode(authority, forKey: .authority)
        try container.encode(epoch, forKey: .epoch)
        try container.encode(coresInUse, forKey: .coresInUse)
        try container.encode(maxCores, forKey: .maxCores)
        try container.encode(ledger, forKey: .ledger)
    }
}

/// `GET /v1/license`. `license` is null when none is installed; `problems` are the node's own.
struct LicenseReport: Codable, Hashable, Sendable {
    public var node: String
    public var licensed: Bool
    public var coresHeld: Int
    public var coresInUse: Int
    public var license: LicenseStatus?
    public var problems: [String]

    public init(_ status: AgentStatus) {
        node = status.node
        licensed = status.licensed
        coresHeld = status.coresHeld
        coresInUse = status.coresInUse
        license = status.license
        problems = status.problems
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(licensed, forKey: .licensed)
        try container.encode(coresHeld, forKey: .coresHeld)
        try container.encode(coresInUse, forKey: .coresInUse)
        try container.encode(license, forKey: .license)
        try container.encode(problems, forKey: .problems)
    }
}

/// `GET /v1/authority`. `address` is the authority's, from the membership table.
public struct AuthorityReport: Codable, Hashable, Sendable {
    public var node: String
    public var authority: String?
    public var address: String?
    public var epoch: String
    public var isAuthority: Bool
    public var policy: String?

    public init(_ status: AgentStatus) {
        node = status.node
        authority = status.authority
        address = status.authority.flatMap { id in status.members.first { $0.id == id }?.address }
        epoch = status.epoch
        isAuthority = status.isAuthority
        policy = status.license?.policy
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(authority, forKey: .authority)
        try container.encode(address, forKey: .address)
        try container.encode(epoch, forKey: .epoch)
        try container.encode(isAuthority, forKey: .isAuthority)
        try container.encode(policy, forKey: .policy)
    }
}

/// `GET /health`: 200 with `{"status": "ok"}` when ready; the 503 carries the error body plus `problems`.
struct HealthReport: Codable, Hashable, Sendable {
    var status: String
    var node: String
    /// What is worth an operator's attention though service goes on: a MAC two live members claim,
    /// license warnings, license servers holding different versions of the license (a renewal
    /// rolled out halfway).
    var warnings: [String]
}

struct UnhealthyReport: Codable, Hashable, Sendable {
    var error: String
    var status: Int
    var node: String
    var joined: Bool
    var licensed: Bool
    var problems: [String]
}

extension AgentStatus {
    /// Ready for traffic: what `/health` and the exit code of `licmesh status` both use. Requires all
    /// three flags, so that an agent reporting them inconsistently is not called healthy.
    public var isReady: Bool { healthy && joined && licensed }

    /// Why not ready, never empty when `isReady` is false: the agent's own words, or the flags spelled out.
    public var readinessProblems: [String] {
        guard !isReady else { return [] }
        if !problems.isEmpty { return problems }
        var derived: [String] = []
        if !joined { derived.append("not joined: no seed answered yet; check the seeds and that the gossip port is reachable") }
        if !licensed { derived.append("not licensed: no valid license with a grant for this node") }
        if derived.isEmpty { derived.append("the agent reports itself unhealthy without a reason") }
        return derived
    }
}
