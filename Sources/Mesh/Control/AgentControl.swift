import SWIM
import Licensing

/// What the local HTTP API and the status commands ask of a running agent. The licensed agent
/// implements it on its I/O loop; tests implement it with fakes. Every answer is a snapshot.
public protocol AgentControl: Sendable {
    /// The cluster at a glance, as this node sees it.
    func status() async -> AgentStatus
    /// The local license check: answered from the local replica, never waiting on the authority.
    func validate(feature: String?) async -> ValidationAnswer
    /// Asks the authority for cores (this node's configured count when nil) and waits for the answer,
    /// at most `timeout`.
    func acquire(cores: Int?, timeout: Duration) async -> RequestAnswer
    /// Gives this node's cores back and waits for the authority's answer, at most `timeout`.
    func release(timeout: Duration) async -> RequestAnswer
    /// Prometheus text exposition of the agent's metrics.
    func metrics() async -> String
}

/// One row of the membership table.
public struct MemberStatus: Codable, Hashable, Sendable {
    public var id: String            // 16 hex digits
    public var address: String
    public var state: String         // alive | suspect | dead | left
    public var incarnation: UInt64
    public var mac: String?          // from the licensing advert
    public var licenseID: String?
    public var cores: Int            // cores the ledger grants it
    public var isAuthority: Bool
    public var isSelf: Bool

    public init(id: String, address: String, state: String, incarnation: UInt64, mac: String?, licenseID: String?,
                cores: Int, isAuthority: Bool, isSelf: Bool) {
        self.id = id; self.address = address; self.state = state; self.incarnation = incarnation; self.mac = mac
        self.licenseID = licenseID; self.cores = cores; self.isAuthority = isAuthority; self.isSelf = isSelf
    }
}

/// The license installed on this node, as the status shows it.
public struct LicenseStatus: Codable, Hashable, Sendable {
    public var id: String
    public var licensee: String
    public var maxCores: Int
    public var expires: String       // RFC 3339
    public var notBefore: String?
    public var servers: [String]     // MACs
    public var hosts: Int
    public var features: [String]
    public var valid: Bool
    /// Why it is not valid, or warnings (fewer than two servers, mismatched licenses on servers).
    public var problems: [String]
    public var policy: String        // majority | available

    public init(id: String, licensee: String, maxCores: Int, expires: String, notBefore: String?, servers: [String],
                hosts: Int, features: [String], valid: Bool, problems: [String], policy: String) {
        self.id = id; self.licensee = licensee; self.maxCores = maxCores; self.expires = expires; self.notBefore = notBefore
        self.servers = servers; self.hosts = hosts; self.features = features; self.valid = valid; self.problems = problems
        self.policy = policy
    }
}

/// One ledger row.
public struct GrantStatus: Codable, Hashable, Sendable {
    public var node: String
    public var cores: Int
    public var stamp: String         // "epoch/sequence"
    public init(node: String, cores: Int, stamp: String) { self.node = node; self.cores = cores; self.stamp = stamp }
}

public struct AgentStatus: Codable, Hashable, Sendable {
    public var node: String
    public var address: String
    public var cluster: String
    public var mac: String
    /// Joined the cluster (a seed answered, or it started the cluster).
    public var joined: Bool
    /// Holds a valid license and a grant: validations pass.
    public var licensed: Bool
    /// What `/health` answers: joined and licensed.
    public var healthy: Bool
    /// Why not healthy, in words an operator can act on.
    public var problems: [String]
    public var authority: String?
    public var epoch: String
    public var isAuthority: Bool
    public var license: LicenseStatus?
    public var coresHeld: Int        // this node's grant
    public var coresInUse: Int       // the ledger's total
    public var members: [MemberStatus]
    public var ledger: [GrantStatus]
    public var localHealth: Int
    public var uptimeSeconds: Double

    public init(node: String, address: String, cluster: String, mac: String, joined: Bool, licensed: Bool, healthy: Bool,
                problems: [String], authority: String?, epoch: String, isAuthority: Bool, license: LicenseStatus?,
                coresHeld: Int, coresInUse: Int, members: [MemberStatus], ledger: [GrantStatus], localHealth: Int,
                uptimeSeconds: Double) {
        self.node = node; self.address = address; self.cluster = cluster; self.mac = mac; self.joined = joined
        self.licensed = licensed; self.healthy = healthy; self.problems = problems; self.authority = authority
        self.epoch = epoch; self.isAuthority = isAuthority; self.license = license; self.coresHeld = coresHeld
        self.coresInUse = coresInUse; self.members = members; self.ledger = ledger; self.localHealth = localHealth
        self.uptimeSeconds = uptimeSeconds
    }
}

/// The answer to "may this node do licensed work now?" (`AgentControl.validate(feature:)`).
public struct ValidationAnswer: Codable, Hashable, Sendable {
    /// This node holds cores under a license valid here (and the feature asked about, if any, is licensed).
    public var allowed: Bool
    /// The cores this node holds.
    public var cores: Int
    /// Empty when allowed; else the reason with its fix (the same text as the library's).
    public var message: String
    public init(allowed: Bool, cores: Int, message: String) { self.allowed = allowed; self.cores = cores; self.message = message }
}

/// The authority's answer to an acquire or a release (`AgentControl.acquire` and `release`).
public struct RequestAnswer: Codable, Hashable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        /// The cores asked for are this node's now (`cores`).
        case granted
        /// This node holds no cores any more.
        case released
        /// `CPU limit exhausted. Can't allocate more CPUs.` (HTTP 409)
        case exhausted
        /// `Invalid license for multi-server environment setup.` and other refusals (HTTP 403)
        case refused
        /// No authority answered in time (HTTP 503)
        case unavailable
    }
    public var outcome: Outcome
    /// The cores this node holds after the answer.
    public var cores: Int
    /// The authority that answered (16 hex digits), nil when none did.
    public var authority: String?
    /// Empty on success; else the reason with its fix, the field message where there is one.
    public var message: String
    public init(outcome: Outcome, cores: Int, authority: String?, message: String) {
        self.outcome = outcome; self.cores = cores; self.authority = authority; self.message = message
    }
}
