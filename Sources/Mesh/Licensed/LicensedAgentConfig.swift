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
    /// The vendor-signed license, as read from the license file.
    public var license: SignedLicense
    /// The vendor's public key (`vendor.pub`) that must verify `license`.
    public var vendorKey: Ed25519PublicKey
    /// Licensing settings (policy, grace periods, timeouts), including `requestedCores`: the cores this node
    /// asks for when it starts and when `acquire` is called with `cores` nil.
    public var licensing: LicensingSettings
    /// Where the durable state (boot counter, ledger snapshot, own grant) survives restarts. Created (mode
    /// 0700) if absent; one agent per directory (it is locked).
    public var dataDirectory: String
    /// Re-reads the gossip key, license and vendor key files (SIGHUP). Nil: reloading is not possible.
    public var reloadSecrets: (@Sendable () throws(ConfigError) -> AgentSecrets)?
    /// Seconds since 1970, for checking the license's validity window at start and on reload (tests pin it).
    public var unixTime: @Sendable () -> Int64 = { Int64(WallClock.secondsSinceEpoch()) }
    /// How often seeds are looked up again while the agent has not joined (default 2 s).
    public var seedRetryInterval: Duration = .seconds(2)
    /// Ask for `licensing.requestedCores` at start (default true; nothing is asked when that is 0). With a
    /// license not valid here, the cores are asked for once a valid one is installed.
    public var acquireOnStart = true

    /// A configuration from its parts (`licmesh agent`'s flag mode, tests). `reloadSecrets` stays nil until
    /// set, so `LicensedAgent.reload()` throws `reloadUnsupported`.
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
    /// The membership agent could not start (a port in use, an invalid setting) or take the new gossip keys.
    case agent(AgentError)
    /// The data directory could not be created, locked, read or written.
    case persistence(PersistenceError)
    /// The licensing settings are invalid; `field` names the setting (without the `licensing.` prefix).
    case invalidSettings(field: String, problem: String)
    /// Reload could not read the files; the agent keeps running with what it had.
    case reload(ConfigError)
    /// `reload()` on an agent configured without `reloadSecrets`; restart it to change the license or keys.
    case reloadUnsupported
    /// `reload()` or `install(_:)` on an agent that has stopped.
    case notRunning

    /// One line for an operator: what is wrong and what to do.
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
