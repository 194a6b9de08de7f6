import SWIM
import Licensing

/// What the local HTTP API and the status commands ask of a running agent. The licensed agent
/// implements it on its I/O loop; tests implement it with fakes. Every answer is a snapshot.
public protocol AgentControl: Sendable {
    /// The cluster at a glance, as this node sees it (`licmesh status`, `GET /v1/status`).
    func status() async -> AgentStatus
    /// The local license check: answered from the local replica, never waiting on the authority.
    /// With `feature` nil it checks the license and this node's grant only.
    func validate(feature: String?) async -> ValidationAnswer
    /// Asks the authority for cores (this node's configured count when nil) and waits for the answer,
    /// at most `timeout`.
    func acquire(cores: Int?, timeout: Duration) async -> RequestAnswer
    /// Gives this node's cores back and waits for the authority's answer, at most `timeout`.
    func release(timeout: Duration) async -> RequestAnswer
    /// Prometheus text exposition of the agent's metrics; `GET /metrics` appends the HTTP server's own.
    func metrics() async -> String
}

/// One row of the membership table (`AgentStatus.members`, `licmesh members`): a member as this node sees it.
public struct MemberStatus: Codable, Hashable, Sendable {
    /// The member's node ID: 16 hex digits, e.g. "0000020000000001".
    public var id: String            // 16 hex digits
    /// Where the member is reached, as it advertises itself: "ip:port" ("[v6]:port" for IPv6).
    public var address: String
    /// The member's SWIM state: "alive", "suspect", "dead" or "left" (left gracefully).
    public var state: String         // alive | suspect | dead | left
    /// The member's SWIM incarnation number; it grows when the member refutes a suspicion or restarts.
    public var incarnation: UInt64
    /// The MAC the member advertises, e.g. "52:54:00:12:34:56"; nil when it sends no licensing advert.
    public var mac: String?          // from the licensing advert
    /// The ID of the license installed on the member ("" when none); nil when it sends no licensing advert.
    public var licenseID: String?
    /// The cores this node's ledger replica grants the member; 0 when it holds none.
    public var cores: Int            // cores the ledger grants it
    /// The member is the license authority this node follows.
    public var isAuthority: Bool
    /// The row is this node itself.
    public var isSelf: Bool

    /// Creates a row; the agent fills these in `status()`, tests and other `AgentControl`s may too.
    public init(id: String, address: String, state: String, incarnation: UInt64, mac: String?, licenseID: String?,
                cores: Int, isAuthority: Bool, isSelf: Bool) {
        self.id = id; self.address = address; self.state = state; self.incarnation = incarnation; self.mac = mac
        self.licenseID = licenseID; self.cores = cores; self.isAuthority = isAuthority; self.isSelf = isSelf
    }
}

/// The license installed on this node, as the status shows it.
public struct LicenseStatus: Codable, Hashable, Sendable {
    /// The license's ID (16 hex digits unless the vendor chose one); two licenses differ in ID.
    public var id: String
    /// Who the license was issued to, as the vendor wrote it.
    public var licensee: String
    /// The cores the whole cluster may hold at once.
    public var maxCores: Int
    /// When the license stops being valid, RFC 3339 in UTC, e.g. "2027-01-31T00:00:00Z".
    public var expires: String       // RFC 3339
    /// When the license starts being valid, RFC 3339 in UTC; nil when it has no start date.
    public var notBefore: String?
    /// MACs of the machines that may act as license server, e.g. ["52:54:00:12:34:56"].
    public var servers: [String]     // MACs
    /// How many machines (MACs) the license allows in the cluster.
    public var hosts: Int
    /// The feature names the license grants, sorted; `validate(feature:)` refuses any other.
    public var features: [String]
    /// The license verified on this node when installed (start or last reload): signature, dates, this
    /// host's MAC. An expiry since then shows in `AgentStatus.licensed`.
    public var valid: Bool
    /// Why it is not valid, then warnings (fewer than two license servers, license servers holding different
    /// licenses or versions of it); empty when there is nothing to say.
    public var problems: [String]
    /// The partition policy in force: "majority" or "available" (the `licensing.policy` setting, else the
    /// license's default).
    public var policy: String        // majority | available

    /// Creates a license summary; the agent fills these in `status()`, tests and other `AgentControl`s may too.
    public init(id: String, licensee: String, maxCores: Int, expires: String, notBefore: String?, servers: [String],
                hosts: Int, features: [String], valid: Bool, problems: [String], policy: String) {
        self.id = id; self.licensee = licensee; self.maxCores = maxCores; self.expires = expires; self.notBefore = notBefore
        self.servers = servers; self.hosts = hosts; self.features = features; self.valid = valid; self.problems = problems
        self.policy = policy
    }
}

/// One ledger row (`AgentStatus.ledger`, `licmesh ledger`): the cores granted to one node, as of a stamp.
public struct GrantStatus: Codable, Hashable, Sendable {
    /// The node ID the grant belongs to: 16 hex digits.
    public var node: String
    /// The cores granted; 0 records a release (kept so that an older grant arriving late cannot return).
    public var cores: Int
    /// The change's stamp, "epoch/sequence", e.g. "3.1/12": the authority's epoch and the change's number in it.
    public var stamp: String         // "epoch/sequence"
    /// Creates a ledger row; the agent fills these in `status()`, tests and other `AgentControl`s may too.
    public init(node: String, cores: Int, stamp: String) { self.node = node; self.cores = cores; self.stamp = stamp }
}

/// The cluster as this node sees it at one moment: what `licmesh status` prints and `GET /v1/status`
/// returns as JSON. The members, ledger, license and authority endpoints each return a part of it.
public struct AgentStatus: Codable, Hashable, Sendable {
    /// This node's ID: 16 hex digits, e.g. "0000020000000001" (the MAC's value unless configured).
    public var node: String
    /// The address other members reach this node at (its advertise address), e.g. "10.0.0.5:7946".
    public var address: String
    /// The cluster name; only agents with the same name (and gossip key) talk to each other.
    public var cluster: String
    /// The MAC this node is licensed as, e.g. "52:54:00:12:34:56"; the license must list it.
    public var mac: String
    /// Joined the cluster (a seed answered, or it started the cluster).
    public var joined: Bool
    /// The license is valid here and this node holds at least one core: `validate(feature: nil)` allows.
    public var licensed: Bool
    /// Running, joined and licensed, and the cluster can answer this node's acquires (an authority, a quorum
    /// of license servers). `isReady`, which `/health` and `licmesh status` use, also checks the other two flags.
    public var healthy: Bool
    /// Why not healthy, in words an operator can act on, plus any MAC claimed by two hosts (reported even
    /// while healthy). Empty when all is well.
    public var problems: [String]
    /// The node ID of the license authority this node follows; nil when it knows of none.
    public var authority: String?
    /// The newest authority term this node knows, "round.rank" (e.g. "3.1"), or "none" before any.
    public var epoch: String
    /// This node is the license authority now.
    public var isAuthority: Bool
    /// The license installed on this node; nil when none is (a `LicensedAgent` always has one).
    public var license: LicenseStatus?
    /// The cores of this node's own grant, as the authority confirmed it; 0 when it holds none.
    public var coresHeld: Int        // this node's grant
    /// The cores granted in the whole cluster: the sum of every grant in this node's ledger replica.
    public var coresInUse: Int       // the ledger's total
    /// Every member this node knows, itself included, sorted by node ID; dead and departed ones stay
    /// listed until forgotten (`tombstoneRetention`).
    public var members: [MemberStatus]
    /// This node's replica of the core ledger, one row per node, sorted by node ID.
    public var ledger: [GrantStatus]
    /// Lifeguard's local health score (`licmesh_local_health`): 0 is healthy; above 0 this node suspects it is
    /// itself slow or overloaded and probes more slowly (interval and timeout × (score + 1)).
    public var localHealth: Int
    /// Seconds (with fractions) since this agent started, on the monotonic clock.
    public var uptimeSeconds: Double

    /// Creates a status; the agent fills these in `status()`, tests and other `AgentControl`s may too.
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
    /// The cores this node holds when allowed; 0 when not allowed.
    public var cores: Int
    /// Empty when allowed; else the reason with its fix, e.g. an expired license or a feature the license
    /// does not list.
    public var message: String
    /// Creates an answer; the agent makes these in `validate(feature:)`, tests and other `AgentControl`s may too.
    public init(allowed: Bool, cores: Int, message: String) { self.allowed = allowed; self.cores = cores; self.message = message }
}

/// The authority's answer to an acquire or a release (`AgentControl.acquire` and `release`).
public struct RequestAnswer: Codable, Hashable, Sendable {
    /// How the request ended. The raw value ("granted", "released", "exhausted", "refused", "unavailable")
    /// is what the JSON carries.
    public enum Outcome: String, Codable, Sendable {
        /// The cores asked for are this node's now (`cores`).
        case granted
        /// This node holds no cores any more.
        case released
        /// `CPU limit exhausted. Can't allocate more CPUs.`: the license's cores are all granted (HTTP 409).
        case exhausted
        /// `Invalid license for multi-server environment setup.` and other refusals, e.g. no quorum of license
        /// servers, or this node's own license is not valid (HTTP 403).
        case refused
        /// No answer: no authority answered within the timeout (the request stays pending), a newer request
        /// superseded it, or the agent stopped or is leaving (HTTP 503).
        case unavailable
    }
    /// How the request ended; `message` says more.
    public var outcome: Outcome
    /// The cores this node holds after the answer.
    public var cores: Int
    /// The license authority this node knew of when the answer came (16 hex digits); nil when it knew none.
    public var authority: String?
    /// What happened, e.g. "granted 4 cores (stamp 3.1/12)" or "released this node's cores"; on a refusal
    /// the reason with its fix, starting with the field error's exact words where one applies.
    public var message: String
    /// Creates an answer; the agent makes these for `acquire` and `release`, tests and other `AgentControl`s may too.
    public init(outcome: Outcome, cores: Int, authority: String?, message: String) {
        self.outcome = outcome; self.cores = cores; self.authority = authority; self.message = message
    }
}
