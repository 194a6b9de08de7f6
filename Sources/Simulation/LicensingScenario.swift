import SWIM
import Licensing

/// A license for the simulated cluster, and the clients that use it.
///
/// Node `i` has MAC `0x02_00_00_00_00_00 + i`; the license's servers are the first `servers` nodes
/// (so node 0, with the lowest ID, is the preferred authority) and its hosts are every node except
/// `unlistedNodes`.
public struct LicensingScenario: Hashable, Sendable {
    public var servers: Int
    public var maxCores: Int
    /// Cores each node asks for when it starts.
    public var coresPerNode: Int
    public var settings = LicensingSettings()
    /// Nodes whose MAC the license does not list (they must be refused).
    public var unlistedNodes: [Int] = []
    /// Nodes that acquire in a loop, every `clientInterval` (the takeover measurement's clients).
    public var clients: [Int] = []
    public var clientInterval: Duration = .milliseconds(100)
    /// Every live node validates this often; a node that held cores and is denied is a failed validation.
    public var validationInterval: Duration = .milliseconds(100)
    /// Nodes whose wall clock is off by this much (positive: ahead), for clock scenarios.
    public var clockSkews: [Int: Duration] = [:]

    /// Restarted nodes get back the licensing state their previous life kept (as the agent's data
    /// directory does). Without it, a majority of servers restarting together loses the ledger.
    public var persistentState = true

    public init(servers: Int, maxCores: Int, coresPerNode: Int, policy: PartitionPolicy? = nil) {
        self.servers = servers
        self.maxCores = maxCores
        self.coresPerNode = coresPerNode
        settings.requestedCores = coresPerNode
        settings.policy = policy
    }

    public static func mac(of node: Int) -> UInt64 { 0x0200_0000_0000 + UInt64(node) }

    /// "Now" for license validity checks: a fixed date, so runs do not depend on the real clock.
    public static let unixEpochOfRun: Int64 = 1_800_000_000

    /// The license, as first installed (version 0) or renewed (version 1: another id, a later expiry,
    /// the same licensee and terms; `Fault.Kind.renewLicense` installs it on one node).
    public func terms(version: Int, nodeCount: Int) -> LicenseTerms {
        let unlisted = Set(unlistedNodes)
        return LicenseTerms(id: version == 0 ? "SIM-LICENSE" : "SIM-LICENSE-R\(version)", maxCores: maxCores,
                            hosts: Set((0..<nodeCount).filter { !unlisted.contains($0) }.map(Self.mac(of:))),
                            servers: Set((0..<min(servers, nodeCount)).map(Self.mac(of:))),
                            features: ["batch"], expires: Self.unixEpochOfRun + Int64(10 + version) * 365 * 86_400,
                            licensee: "Simulated Customer")
    }
}

/// What licensing did in a run, and whether its invariants held at every step.
public struct LicensingReport: Hashable, Sendable, Codable {
    public var maxCores: Int
    public var policy: String
    /// One row per crash of the node that was authority at the time.
    public var takeovers: [Takeover]
    /// Crash of the authority to the first acquire served (to a client) by another authority, in seconds.
    public var takeoverTime: Distribution
    public var validations: Int
    /// Validations denied to a live node that held cores, with no partition in the run so far.
    public var failedValidations: Int
    /// Steps at which live nodes held more cores than the license allows, where that must never happen:
    /// always under `majority`; without any partition so far under `available`.
    public var overLimitSteps: Int
    /// Live nodes that lost their grant although no partition had happened (invariant 2).
    public var lostGrants: Int
    /// The most cores live nodes held at once, and by how much that exceeded the limit (partitions under `available`).
    public var maxHeldCores: Int
    public var maxExcess: Int
    public var grants: Int
    public var refusals: Int
    public var epochs: Int
    /// At the end, every live node holds the same ledger.
    public var ledgersConverged: Bool
    /// Liveness checks run (after faults healed, and at the end), and the invariants they found broken.
    public var livenessChecks: Int
    public var livenessViolations: Int
    /// Inputs whose licensing reactions did not settle within `ClusterNode.reactionRoundLimit` rounds.
    public var reactionLimitHits: Int
    /// What was violated, and when (the first 50).
    public var violations: [String]
    /// Replays and forgeries the adversary made (0 without one).
    public var adversaryMoves: Int
    /// The longest a client's acquire waited for its answer, in seconds (one still unanswered at the end
    /// counts until then; one whose node crashed does not count).
    public var longestClientWait: Double
    public var invariantViolations: Int { overLimitSteps + lostGrants + livenessViolations + reactionLimitHits }
}

public struct Takeover: Hashable, Sendable, Codable {
    public var authorityNode: Int
    public var crashedAt: Double
    /// Seconds after the crash; nil when no other authority served an acquire before the run ended.
    public var firstServedAfter: Double?
    public var newAuthorityNode: Int?
}
