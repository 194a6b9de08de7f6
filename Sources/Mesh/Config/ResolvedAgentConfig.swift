import Glibc
import LicenseTools
import Licensing
import SWIM
import Wire
import SmallFiles

/// A configuration ready to run: defaults applied, environment overrides applied, addresses parsed,
/// durations parsed, settings validated, key and license files read. Producing it binds nothing and
/// starts nothing, so `licmesh agent` can refuse a bad configuration before touching the network.
public struct ResolvedAgentConfig: Sendable {
    /// How log lines are written: `logfmt` (key=value pairs, the default) or `json` (one object per line).
    public enum LogFormat: String, Hashable, Sendable, CaseIterable { case logfmt, json }
    /// The least severe level written: `debug`, `info` (the default), `warn` or `error`.
    public enum LogLevel: String, Hashable, Sendable, CaseIterable { case debug, info, warn, error }

    /// `bind` when none is given: every IPv4 address, port 7946.
    public static let defaultBind = "0.0.0.0:7946"
    /// `httpAddress` when none is given: loopback only, port 7947.
    public static let defaultHTTPAddress = "127.0.0.1:7947"
    /// `clusterName` when none is given.
    public static let defaultClusterName = "licmesh"
    /// `dataDir` when none is given.
    public static let defaultDataDirectory = "/var/lib/licmesh"
    /// `profile` when none is given: settings for a data centre's network.
    public static let defaultProfile = "lan"

    /// This node's MAC (the identity the license lists) and node ID (`nodeID`, else the MAC's value).
    public var identity: NodeIdentity
    /// Where gossip (UDP) and state exchange (TCP) listen; numeric, never port 0.
    public var bind: SocketAddress
    /// What other agents are told to reach this one at.
    public var advertise: SocketAddress
    /// How `advertise` was chosen, for the startup log: "configured", "the bind address", "detected on eth0".
    public var advertiseOrigin: String
    /// Agents to join through, duplicates dropped; DNS names are looked up when joining, not here.
    public var seeds: [SeedAddress]
    /// The cluster name (default "licmesh"); agents of other clusters are ignored.
    public var clusterName: String
    /// Absolute paths; the first key is the primary (sends), all are accepted.
    public var gossipKeyFiles: [String]
    /// True: gossip is neither encrypted nor authenticated (`warnings` says so); `gossipKeyFiles` is empty.
    public var insecurePlaintext: Bool
    /// Absolute path of the license file.
    public var licenseFile: String
    /// Absolute path of the vendor's public key file.
    public var vendorPublicKeyFile: String
    /// What the files above held when the configuration was resolved.
    public var secrets: AgentSecrets
    /// The cores this node asks for at start: `cores` from the file, else the machine's online CPU count.
    public var cores: Int
    /// The settings profile `settings` started from: "lan", "wan" or "local".
    public var profile: String
    /// The profile with the `settings` overrides, validated.
    public var settings: Settings
    /// Defaults with the `licensing` overrides and `requestedCores = cores`, validated.
    public var licensing: LicensingSettings
    /// Absolute path; created (mode 0700) by `DataDirectory.open`, not here.
    public var dataDirectory: String
    /// The API over TCP; nil when `httpAddress` is "off".
    public var httpAddress: SocketAddress?
    /// Absolute path of the API's unix socket; nil when none is configured.
    public var httpSocket: String?
    /// The socket file's mode (default 0o660) and group (nil: the agent's); unused without `httpSocket`.
    public var httpSocketAccess: UnixSocketAccess
    /// The bearer token read from `httpTokenFile`; nil when none is configured.
    public var httpToken: String?
    /// With a token, whether reads over TCP need none (default true).
    public var httpOpenReads: Bool
    /// How log lines are written (default `logfmt`).
    public var logFormat: LogFormat
    /// The least severe level written (default `info`).
    public var logLevel: LogLevel
    /// Things that work but are probably not what was meant (a MAC the license does not list, an API open to
    /// the network): `licmesh agent` logs them at startup; an embedding application should log them itself.
    public var warnings: [String]
    /// The file with the environment overrides applied; `file.source(of:)` says where each field came from.
    public var file: AgentConfigFile

    /// Reads, parses and resolves the configuration file at `path`.
    public static func load(path: String, context: ConfigContext = .system()) throws(ConfigError) -> ResolvedAgentConfig {
        try resolve(AgentConfigFile.load(path: path), context: context)
    }

    /// Re-reads the key, license and vendor key files named by this configuration (SIGHUP).
    public func reloadSecrets() throws(ConfigError) -> AgentSecrets {
        try AgentSecrets.load(gossipKeyFiles: gossipKeyFiles, insecurePlaintext: insecurePlaintext, licenseFile: licenseFile,
                              vendorPublicKeyFile: vendorPublicKeyFile, sources: file.source(of:))
    }

    /// Applies the context's environment to `file`, then checks and resolves every field in
    /// documentation order; the first problem is thrown.
    public static func resolve(_ original: AgentConfigFile, context: ConfigContext) throws(ConfigError) -> ResolvedAgentConfig {
        let (file, environmentWarnings) = try original.applyingEnvironment(context.environment)
        var warnings = environmentWarnings
        let base = context.baseDirectory ?? file.path.map(directoryName) ?? currentDirectory()
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : base + "/" + path }
        func source(_ field: String) -> ConfigSource { file.source(of: field) }

        let identity = try resolveIdentity(file, sysfsRoot: context.sysfsRoot)
        let bind = try numericAddress("bind", file.bind ?? defaultBind, example: defaultBind, source: source("bind"))
        let (advertise, advertiseOrigin) = try resolveAdvertise(file, bind: bind, interfaces: context.interfaceAddresses)
        if bind.ip.isLoopback && !advertise.ip.isLoopback {
            warnings.append("bind \(bind) is a loopback address but advertise \(advertise) is not: other hosts cannot reach this agent")
        }
        let seeds = try resolveSeeds(file)
        let clusterName = try resolveClusterName(file)

        let insecurePlaintext = file.insecurePlaintext ?? false
        let keyFiles = (file.gossipKeyFiles ?? []).map(absolute)
        if insecurePlaintext && !keyFiles.isEmpty {
            throw ConfigError(.badValue, field: "insecurePlaintext", value: "true", problem: "contradicts gossipKeyFiles, which lists \(keyFiles.count) key file(s)",
                              fix: "remove insecurePlaintext to encrypt with the keys, or remove gossipKeyFiles to run unencrypted", source: source("insecurePlaintext"))
        }
        if !insecurePlaintext && keyFiles.isEmpty {
            throw ConfigError(.plaintextNotExplicit, field: "gossipKeyFiles", value: file.gossipKeyFiles == nil ? nil : "[]",
                              problem: "is empty, and without keys gossip travels unencrypted and unauthenticated",
                              fix: "make a key with 'licmesh keygen-gossip --out /etc/licmesh/gossip.key' and list it in gossipKeyFiles, "
                                  + "or set \"insecurePlaintext\": true (trusted test networks only)", source: source("gossipKeyFiles"))
        }
        if insecurePlaintext {
            warnings.append("insecurePlaintext is true: gossip is neither encrypted nor authenticated; anyone on the network can join or forge membership")
        }
        guard let licenseText = file.licenseFile else {
            throw ConfigError(.missingField, field: "licenseFile", problem: "is required",
                              fix: "set \"licenseFile\" to the license your vendor sent, e.g. \"/etc/licmesh/license.lic\"", source: source("licenseFile"))
        }
        guard let vendorKeyText = file.vendorPublicKeyFile else {
            throw ConfigError(.missingField, field: "vendorPublicKeyFile", problem: "is required",
                              fix: "set \"vendorPublicKeyFile\" to the vendor's public key, e.g. \"/etc/licmesh/vendor.pub\"", source: source("vendorPublicKeyFile"))
        }
        let licenseFile = absolute(licenseText), vendorPublicKeyFile = absolute(vendorKeyText)
        let secrets = try AgentSecrets.load(gossipKeyFiles: keyFiles, insecurePlaintext: insecurePlaintext, licenseFile: licenseFile,
                                            vendorPublicKeyFile: vendorPublicKeyFile, sources: source)
        if !secrets.license.license.allowsHost(identity.mac) {
            warnings.append("this node's MAC \(identity.mac) is not among the hosts of license \(secrets.license.license.id): "
                + "the node will not be licensed; set mac to the MAC the license lists for this host, or get a license that lists it")
        }

        let cores = file.cores ?? context.cpuCount
        guard cores > 0, cores <= License.maximumCores else {
            throw ConfigError(.badValue, field: "cores", value: String(cores), problem: cores > 0 ? "is more than any license allows" : "must be at least 1",
                              fix: "request the cores this machine uses, e.g. \"cores\": \(max(1, context.cpuCount)), or leave it out to use the CPU count", source: source("cores"))
        }

        let profile = file.profile ?? defaultProfile
        guard var settings = Settings.profile(named: profile) else {
            let names = Settings.profileNames.map { "\"\($0)\"" }.joined(separator: ", ")
            throw ConfigError(.badProfile, field: "profile", value: "'\(quotedConfigText(profile))'", problem: "is not a settings profile",
                              fix: "use one of \(names)" + (suggestedProfile(profile).map { "; did you mean \"\($0)\"?" } ?? ""), source: source("profile"))
        }
        let fileSource = ConfigSource.file(file.path)
        try SettingsOverrides.applySWIM(file.settings ?? [:], to: &settings, source: fileSource)
        do {
            try settings.validate()
        } catch {
            let overridden = file.settings?[error.field] != nil
            let fix = overridden
                ? "change settings.\(error.field), or the setting it is checked against"
                : "profile '\(profile)' gives \(error.field) = \(settingText(error.field, settings)); override it (or the setting it is checked against) in \"settings\""
            throw ConfigError(.invalidSettings, field: "settings.\(error.field)", value: settingText(error.field, settings),
                              problem: "is invalid: \(error.field) \(error.problem)", fix: fix, source: fileSource)
        }

        var licensing = LicensingSettings()
        licensing.requestedCores = cores
        try SettingsOverrides.applyLicensing(file.licensing ?? [:], to: &licensing, source: fileSource)
        do {
            try licensing.validate()
        } catch {
            throw ConfigError(.invalidSettings, field: "licensing.\(error.field)", problem: "is invalid: \(error.field) \(error.problem)",
                              fix: "change licensing.\(error.field)", source: fileSource)
        }

        let dataText = file.dataDir ?? defaultDataDirectory
        guard !dataText.isEmpty else {
            throw ConfigError(.badValue, field: "dataDir", value: "''", problem: "is empty",
                              fix: "write e.g. \"\(defaultDataDirectory)\" (a directory only this agent writes to)", source: source("dataDir"))
        }
        let dataDirectory = absolute(dataText)
        switch SmallFile.kind(of: dataDirectory) {
        case .missing, .directory: break
        case .file, .other:
            throw ConfigError(.badValue, field: "dataDir", value: "'\(quotedConfigText(dataDirectory, limit: 200))'", problem: "exists but is not a directory",
                              fix: "choose a directory path, e.g. \"\(defaultDataDirectory)\"", source: source("dataDir"))
        }

        let httpText = file.httpAddress ?? defaultHTTPAddress
        if httpText.hasPrefix("unix:") || httpText.hasPrefix("/") {
            // LICMESH_HTTP=unix:... is how the licmesh CLI is pointed at the socket; the agent's own
            // socket is a field of its own, so one environment shared by both is a likely mistake.
            throw ConfigError(.badAddress, field: "httpAddress", value: "'\(quotedConfigText(httpText, limit: 200))'",
                              problem: "is a unix socket; httpAddress is the API's TCP address",
                              fix: "serve the API on a socket with httpSocket, e.g. \"httpSocket\": \"/run/licmesh/api.sock\" (or LICMESH_HTTP_SOCKET), and keep LICMESH_HTTP=unix:... for the licmesh commands only",
                              source: source("httpAddress"))
        }
        var httpAddress: SocketAddress?
        if httpText != "off" {
            let address = try numericAddress("httpAddress", httpText, example: defaultHTTPAddress, source: source("httpAddress"))
            if address.port == bind.port && address.family == bind.family
                && (address.ip == bind.ip || address.ip.isWildcard || bind.ip.isWildcard) {
                throw ConfigError(.badAddress, field: "httpAddress", value: "'\(address)'",
                                  problem: "uses the gossip port \(bind.port), which the agent also needs over TCP for state exchange",
                                  fix: "use another port, e.g. \"127.0.0.1:\(bind.port == 7947 ? 7948 : 7947)\"", source: source("httpAddress"))
            }
            if !address.ip.isLoopback && file.httpTokenFile == nil {
                warnings.append("httpAddress \(address) is not a loopback address and no httpTokenFile is set: whoever can reach it can call the API; "
                    + "keep it on 127.0.0.1, or set httpTokenFile")
            }
            httpAddress = address
        }
        let (httpSocket, httpSocketAccess) = try resolveSocket(file, absolute: absolute, source: source)
        guard httpAddress != nil || httpSocket != nil else {
            throw ConfigError(.badValue, field: "httpAddress", value: "'off'", problem: "turns off TCP while no httpSocket is set, so the API would not be served at all",
                              fix: "set httpSocket (e.g. \"/run/licmesh/api.sock\"), or give httpAddress an address", source: source("httpAddress"))
        }
        var httpToken: String?
        if let tokenPath = file.httpTokenFile {
            do {
                httpToken = try APIToken.read(path: absolute(tokenPath))
            } catch {
                throw ConfigError(.unreadableFile, field: "httpTokenFile", value: "'\(quotedConfigText(tokenPath, limit: 200))'", problem: error.problem,
                                  fix: "write a random token of at least \(APIToken.minimumLength) characters on the file's first line (head -c 32 /dev/urandom | base64 > FILE; chmod 640 FILE)",
                                  source: source("httpTokenFile"))
            }
        }

        let logFormat = try choice("logFormat", file.logFormat, default: LogFormat.logfmt, source: source("logFormat"))
        let logLevel = try choice("logLevel", file.logLevel, default: LogLevel.info, source: source("logLevel"))

        return ResolvedAgentConfig(
            identity: identity, bind: bind, advertise: advertise, advertiseOrigin: advertiseOrigin, seeds: seeds,
            clusterName: clusterName, gossipKeyFiles: keyFiles, insecurePlaintext: insecurePlaintext, licenseFile: licenseFile,
            vendorPublicKeyFile: vendorPublicKeyFile, secrets: secrets, cores: cores, profile: profile, settings: settings,
            licensing: licensing, dataDirectory: dataDirectory, httpAddress: httpAddress, httpSocket: httpSocket,
            httpSocketAccess: httpSocketAccess, httpToken: httpToken, httpOpenReads: file.httpOpenReads ?? true, logFormat: logFormat, logLevel: logLevel,
            warnings: warnings, file: file)
    }

    /// The effective configuration as key-value pairs for the startup log (no key material).
    public var summary: [(key: String, value: String)] {
        [
            ("nodeID", identity.nodeID.description), ("mac", identity.mac.description), ("bind", bind.description),
            ("advertise", "\(advertise) (\(advertiseOrigin))"), ("seeds", seeds.map(\.description).joined(separator: ",")),
            ("clusterName", clusterName), ("encryption", insecurePlaintext ? "off (insecurePlaintext)" : "\(gossipKeyFiles.count) key file(s)"),
            ("licenseFile", licenseFile), ("license", secrets.license.license.id), ("cores", String(cores)), ("profile", profile),
            ("probeInterval", DurationText.format(settings.probeInterval)), ("probeTimeout", DurationText.format(settings.probeTimeout)),
            ("dataDir", dataDirectory), ("httpAddress", httpAddress?.description ?? "off"),
            ("httpSocket", httpSocket ?? "none"), ("httpToken", httpToken == nil ? "none" : "set"), ("logFormat", logFormat.rawValue), ("logLevel", logLevel.rawValue),
        ]
    }
}

// MARK: - Field by field

extension ResolvedAgentConfig {
    /// The local API as configured: where it listens and who may call it.
    public var apiConfiguration: AgentAPIConfiguration {
        AgentAPIConfiguration(
            address: httpAddress, unixSocketPath: httpSocket, unixSocketAccess: httpSocketAccess,
            access: APIAccessPolicy(bearerToken: httpToken, openReads: httpOpenReads))
    }

    static func resolveSocket(_ file: AgentConfigFile, absolute: (String) -> String, source: (String) -> ConfigSource)
        throws(ConfigError) -> (String?, UnixSocketAccess)
    {
        var mode: UInt32 = 0o660
        if let text = file.httpSocketMode {
            let digits = text.hasPrefix("0o") ? String(text.dropFirst(2)) : text
            guard let value = UInt32(digits, radix: 8), value <= 0o777, value & 0o600 == 0o600 else {
                throw ConfigError(.badValue, field: "httpSocketMode", value: "'\(quotedConfigText(text))'",
                                  problem: "is not an octal file mode from 0600 to 0777 that lets the owner read and write",
                                  fix: "write e.g. \"0660\" (owner and group may connect)", source: source("httpSocketMode"))
            }
            mode = value
        }
        let access = UnixSocketAccess(mode: mode, group: file.httpSocketGroup)
        guard let path = file.httpSocket else { return (nil, access) }
        let full = absolute(path)
        do {
            try HTTPEndpoint.checkSocketPath(full, as: path)
        } catch {
            throw ConfigError(.badValue, field: "httpSocket", value: "'\(quotedConfigText(path, limit: 200))'", problem: error.problem,
                              fix: "use a short absolute path such as \"/run/licmesh/api.sock\"", source: source("httpSocket"))
        }
        return (full, access)
    }

    static func resolveIdentity(_ file: AgentConfigFile, sysfsRoot: String) throws(ConfigError) -> NodeIdentity {
        var nodeID: NodeID?
        if let text = file.nodeID {
            let digits = text.hasPrefix("0x") ? text.dropFirst(2) : Substring(text)
            guard (1...16).contains(digits.utf8.count), digits.utf8.allSatisfy({ isHexDigit($0) }), let value = UInt64(digits, radix: 16) else {
                throw ConfigError(.badValue, field: "nodeID", value: "'\(quotedConfigText(text))'", problem: "is not a node ID (1 to 16 hex digits)",
                                  fix: "write e.g. \"0000aabbccddeeff\", or leave it out to derive it from the MAC", source: file.source(of: "nodeID"))
            }
            nodeID = NodeID(value)
        }
        var mac: MACAddress?
        if let text = file.mac {
            do {
                mac = try MACAddress(parsing: text)
            } catch {
                throw ConfigError(.badValue, field: "mac", value: "'\(quotedConfigText(text))'", problem: "is not a MAC address (\(error.problem))",
                                  fix: "write six hex octets like \"aa:bb:cc:dd:ee:ff\", the MAC the license lists for this host", source: file.source(of: "mac"))
            }
        }
        do {
            return try NodeIdentity.resolve(mac: mac, nodeID: nodeID, sysfsRoot: sysfsRoot)
        } catch {
            throw ConfigError(.badValue, field: "mac", problem: "is not set and no MAC address was found on this host (\(error))",
                              fix: "set \"mac\" (or LICMESH_MAC) to the MAC address the license lists for this host", source: .defaulted)
        }
    }

    static func resolveAdvertise(_ file: AgentConfigFile, bind: SocketAddress,
                                 interfaces: () -> [InterfaceAddress]) throws(ConfigError) -> (SocketAddress, String) {
        let source = file.source(of: "advertise")
        if let text = file.advertise {
            let advertise = try numericAddress("advertise", text, example: "10.0.0.5:\(bind.port)", source: source)
            guard !advertise.ip.isWildcard else {
                throw ConfigError(.badAddress, field: "advertise", value: "'\(quotedConfigText(text))'", problem: "is a wildcard address, which reaches nobody",
                                  fix: "write the address other agents reach this one at, e.g. \"10.0.0.5:\(bind.port)\"", source: source)
            }
            guard advertise.family == bind.family else {
                throw ConfigError(.badAddress, field: "advertise", value: "'\(quotedConfigText(text))'",
                                  problem: "is \(advertise.family) but bind \(bind) listens on \(bind.family) only",
                                  fix: "advertise an \(bind.family) address, or bind to an \(advertise.family) address", source: source)
            }
            return (advertise, "configured")
        }
        guard bind.ip.isWildcard else { return (bind, "the bind address") }
        guard let found = InterfaceAddress.advertisable(interfaces(), family: bind.family) else {
            throw ConfigError(.missingField, field: "advertise",
                              problem: "is required: bind \(bind) is a wildcard and this host has no non-loopback \(bind.family) address to advertise",
                              fix: "set \"advertise\" to the address other agents reach this one at, e.g. \"10.0.0.5:\(bind.port)\"", source: source)
        }
        return (SocketAddress(ip: found.ip, port: bind.port), "detected on \(found.interface)")
    }

    static func resolveSeeds(_ file: AgentConfigFile) throws(ConfigError) -> [SeedAddress] {
        var seeds: [SeedAddress] = []
        for (index, text) in (file.seeds ?? []).enumerated() {
            do {
                let seed = try SeedAddress(parsing: text)
                if !seeds.contains(seed) { seeds.append(seed) }
            } catch {
                throw ConfigError(.badAddress, field: "seeds[\(index)]", value: "'\(quotedConfigText(text))'",
                                  problem: text.contains(":") ? "is not host:port (\(error.problem))" : "is not host:port",
                                  fix: "write e.g. \"10.0.0.2:7946\" or \"agents.licmesh.svc:7946\"", source: file.source(of: "seeds"))
            }
        }
        return seeds
    }

    static func resolveClusterName(_ file: AgentConfigFile) throws(ConfigError) -> String {
        let name = file.clusterName ?? defaultClusterName
        let allowed = name.utf8.allSatisfy { byte in
            isHexDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard (1...64).contains(name.utf8.count), allowed else {
            throw ConfigError(.badValue, field: "clusterName", value: "'\(quotedConfigText(name))'",
                              problem: "is not a cluster name (1 to 64 letters, digits, '.', '_' or '-')",
                              fix: "write e.g. \"production\", the same on every agent of the cluster", source: file.source(of: "clusterName"))
        }
        return name
    }

    /// A numeric `ip:port` with a port other than 0, for the addresses this agent binds or announces.
    static func numericAddress(_ field: String, _ text: String, example: String, source: ConfigSource) throws(ConfigError) -> SocketAddress {
        let value = "'\(quotedConfigText(text))'"
        let address: SocketAddress
        do {
            address = try SocketAddress(parsing: text)
        } catch {
            let problem = text.contains(":") ? "is not a numeric IP address and port (\(error.problem))" : "is not host:port"
            throw ConfigError(.badAddress, field: field, value: value, problem: problem, fix: "write e.g. \"\(example)\"", source: source)
        }
        guard address.port != 0 else {
            throw ConfigError(.badAddress, field: field, value: value, problem: "has port 0, which would pick a random port other programs cannot know",
                              fix: "write a fixed port, e.g. \"\(example)\"", source: source)
        }
        return address
    }

    static func choice<Value: RawRepresentable & CaseIterable>(_ field: String, _ text: String?, default fallback: Value,
                                                                source: ConfigSource) throws(ConfigError) -> Value where Value.RawValue == String {
        guard let text else { return fallback }
        guard let value = Value(rawValue: text) else {
            let names = Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw ConfigError(.badValue, field: field, value: "'\(quotedConfigText(text))'", problem: "is not one of \(names)",
                              fix: "write one of \(names)", source: source)
        }
        return value
    }

    static func suggestedProfile(_ name: String) -> String? {
        let best = Settings.profileNames.map { ($0, editDistance($0, name.lowercased())) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 2 && $0.1 < name.count ? $0.0 : nil }
    }

    /// The current value of a settings field as the configuration would spell it.
    static func settingText(_ field: String, _ s: Settings) -> String {
        switch field {
        case "probeInterval": DurationText.format(s.probeInterval)
        case "probeTimeout": DurationText.format(s.probeTimeout)
        case "pushPullInterval": DurationText.format(s.pushPullInterval)
        case "reconnectInterval": DurationText.format(s.reconnectInterval)
        case "suspicionConfirmations": String(s.suspicionConfirmations)
        case "tombstoneRetention": DurationText.format(s.tombstoneRetention)
        case "joinRetryInterval": DurationText.format(s.joinRetryInterval)
        case "maxJoinRetryInterval": DurationText.format(s.maxJoinRetryInterval)
        case "indirectChecks": String(s.indirectChecks)
        case "nackTimeoutFraction": String(s.nackTimeoutFraction)
        case "suspicionMultiplier": String(s.suspicionMultiplier)
        case "suspicionMaxMultiplier": String(s.suspicionMaxMultiplier)
        case "maxLocalHealthMultiplier": String(s.maxLocalHealthMultiplier)
        case "retransmitMultiplier": String(s.retransmitMultiplier)
        case "maxMessageSize": String(s.maxMessageSize)
        case "leaveFanout": String(s.leaveFanout)
        case "urgentGossipFanout": String(s.urgentGossipFanout)
        case "probeOnSuspicion": String(s.probeOnSuspicion)
        case "streamFallbackPing": String(s.streamFallbackPing)
        default: "?"
        }
    }
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
}

/// `/etc/licmesh/agent.json` -> `/etc/licmesh`; `agent.json` -> the working directory.
func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return currentDirectory() }
    let directory = String(path[..<slash])
    if directory.isEmpty { return "/" }
    return directory.hasPrefix("/") ? directory : currentDirectory() + "/" + directory
}

func currentDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return "." }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
