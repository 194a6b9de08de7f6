import Crypto
import Licensing
import SWIM
import Wire

/// Everything a `LicensedAgent` needs: the membership agent's configuration, this node's MAC, the
/// seeds, the license with the vendor's key, the licensing settings and the data directory.
///
/// Usually made from a configuration file (`init(_ resolved:)`); `licmesh agent`'s flag mode and
/// tests build it directly.
public struct LicensedAgentConfig: Sendable {
    /// Membership: node ID, bind and advertise addresses, cluster name, gossip keys, protocol settings.
    /// Its `metadata` and `initialIncarnation` are set by the licensed agent (advert, boot record).
    public var agent: AgentConfig
    /// The MAC the license must list for this host.
    public var mac: MACAddress
    /// Members to join through: addresses or DNS names (looked up again while not joined).
    public var seeds: [SeedAddress]
    /// The vendor-signed license, and the vendor's public key that must verify it.
    public var license: SignedLicense
    public var vendorKey: Ed25519PublicKey
    /// Includes `requestedCores`, the cores this node asks for when it starts.
    public var licensing: LicensingSettings
    /// Created (mode 0700) if absent; one agent per directory (it is locked).
    public var dataDirectory: String
    /// Re-reads the gossip key, license and vendor key files (SIGHUP). Nil: reloading is not possible.
    public var reloadSecrets: (@Sendable () throws(ConfigError) -> AgentSecrets)?
    /// Seconds since 1970, for the license's validity window (tests pin it).
    public var unixTime: @Sendable () -> Int64 = { Int64(WallClock.secondsSinceEpoch()) }
    /// How often seeds are looked up again while the agent has not joined.
    public var seedRetryInterval: Duration = .seconds(2)
    /// Ask for `licensing.requestedCores` at start (when the license is valid here).
    public var acquireOnStart = true

    public init(agent: AgentConfig, mac: MACAddress, seeds: [SeedAddress], license: SignedLicense, vendorKey: Ed25519PublicKey,
                licensing: LicensingSettings, dataDirectory: String) {
        self.agent = agent
        self.mac = mac
        self.seeds = seeds
        self.license = license
        self.vendorKey = vendorKey
        self.licensing = licensing
        self.dataDirectory = dataDirectory
    }

    /// The agent a configuration file describes.
    public init(_ resolved: ResolvedAgentConfig) {
        var agent = AgentConfig(nodeID: resolved.identity.nodeID, bindAddress: resolved.bind, clusterName: resolved.clusterName,
                                security: resolved.secrets.security, settings: resolved.settings)
        agent.advertiseAddress = resolved.advertise
        self.init(agent: agent, mac: resolved.identity.mac, seeds: resolved.seeds, license: resolved.secrets.license,
                  vendorKey: resolved.secrets.vendorKey, licensing: resolved.licensing, dataDirectory: resolved.dataDirectory)
        reloadSecrets = { () throws(ConfigError) -> AgentSecrets in try resolved.reloadSecrets() }
    }
}

extension AgentSecrets {
    /// Reads the gossip keys, license and vendor key named outside a configuration file (`licmesh
    /// agent`'s flags). Errors name the field as the configuration file would; the caller maps it to
    /// its flag.
    public static func load(gossipKeyFiles: [String], insecurePlaintext: Bool, licenseFile: String,
                            vendorPublicKeyFile: String) throws(ConfigError) -> AgentSecrets {
        try load(gossipKeyFiles: gossipKeyFiles, insecurePlaintext: insecurePlaintext, licenseFile: licenseFile,
                 vendorPublicKeyFile: vendorPublicKeyFile, sources: { _ in .defaulted })
    }
}

/// Why a licensed agent could not start, or could not reload. Each says what is wrong and the fix.
public enum LicensedAgentError: Error, Sendable, CustomStringConvertible {
    case agent(AgentError)
    case persistence(PersistenceError)
    case invalidSettings(field: String, problem: String)
    /// Reload could not read the files; the agent keeps running with what it had.
    case reload(ConfigError)
    case reloadUnsupported
    case notRunning

    public var description: String {
        switch self {
        case .agent(let error): error.description
        case .persistence(let error): error.description
        case .invalidSettings(let field, let problem): "invalid licensing setting: \(field) \(problem); change licensing.\(field)"
        case .reload(let error): "reload failed, still running with the previous license and keys: \(error)"
        case .reloadUnsupported: "this agent was started without files to reload from; restart it to change the license or keys"
        case .notRunning: "the agent is not running"
        }
    }
}
