#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LicenseTools
import Licensing
import Mesh
import SWIM
import Wire
import ArgumentParsing

/// `licmesh agent --config FILE` and `licmesh agent --license FILE ...`: the licensed agent, with its
/// log, its local HTTP API (config mode), SIGHUP reload, and a graceful leave on SIGTERM or SIGINT.
/// Everything is checked and every file read before anything is bound.
struct LicensedRunner {
    /// sysexits.h EX_CONFIG: the configuration is wrong; restarting will not help.
    static let configurationErrorStatus: Int32 = 78

    let config: LicensedAgentConfig
    let logger: any AgentLogger
    let startupLines: [LogRecord]
    /// The local API, when served.
    let api: AgentAPIConfiguration?
    let printEvents: Bool

    /// From a configuration file. A `ConfigError` (field, value, fix) means nothing was bound: print
    /// it and exit with `configurationErrorStatus`.
    init(configured arguments: ParsedArguments) throws {
        func usage(_ message: String) -> UsageError { UsageError(message: message, command: arguments.commandPath) }
        if let extra = arguments.positionals.first { throw usage("unexpected argument '\(extra)'") }
        let allowed: Set<String> = ["--config", "--events", "--log-level", "--log-format"]
        for flag in Set(arguments.values.keys).union(arguments.flags).subtracting(allowed).sorted() {
            throw usage("\(flag) cannot be combined with --config: the configuration file sets everything (see docs/configuration.md); "
                + "use LICMESH_* environment variables to override a field")
        }
        printEvents = arguments.flag("--events")
        let path = try arguments.required("--config")
        let resolved = try ResolvedAgentConfig.load(path: path)
        let level = try parseLogLevel(arguments) ?? Self.level(resolved.logLevel)
        let format = try Self.logFormat(arguments) ?? (resolved.logFormat == .json ? "json" : "logfmt")
        logger = format == "json" ? JSONLineLogger(minimumLevel: level) : LogfmtLogger(minimumLevel: level)
        var lines = [LogRecord(.info, "configuration loaded", [LogField("file", path)] + resolved.summary.map { LogField($0.key, $0.value) })]
        lines += resolved.warnings.map { LogRecord(.warning, "configuration warning", [LogField("warning", $0)]) }
        startupLines = lines
        config = LicensedAgentConfig(resolved)
        api = resolved.apiConfiguration
    }

    /// From flags: the licensed agent without a configuration file (and without the HTTP API).
    init(flags arguments: ParsedArguments) throws {
        func usage(_ message: String) -> UsageError { UsageError(message: message, command: arguments.commandPath) }
        if let extra = arguments.positionals.first { throw usage("unexpected argument '\(extra)'") }
        let bind: SocketAddress
        do { bind = try SocketAddress(parsing: try arguments.required("--bind")) } catch let error as AddressError { throw usage("--bind: \(error)") }
        var advertise: SocketAddress?
        if let text = arguments.string("--advertise") {
            do { advertise = try SocketAddress(parsing: text) } catch { throw usage("--advertise: \(error)") }
        }
        var mac: MACAddress?
        if let text = arguments.string("--mac") {
            do { mac = try MACAddress(parsing: text) } catch { throw usage("--mac: \(error)") }
        }
        var nodeID: NodeID?
        if let text = arguments.string("--id") {
            guard let parsed = NodeID(hex: text) else { throw arguments.malformed("--id", text, "1 to 16 hex digits, e.g. 00000000000000a1") }
            nodeID = parsed
        }
        let identity: NodeIdentity
        do { identity = try NodeIdentity.resolve(mac: mac, nodeID: nodeID) } catch { throw usage("\(error) (give --mac)") }
        var seeds: [SeedAddress] = []
        for text in arguments.strings("--seed-node") {
            do { seeds.append(try SeedAddress(parsing: text)) } catch { throw usage("--seed-node: \(error)") }
        }
        let keyFiles = arguments.strings("--gossip-key")
        let plain = arguments.flag("--insecure-plain")
        if !keyFiles.isEmpty && plain { throw usage("--gossip-key and --insecure-plain exclude each other; choose one") }
        if keyFiles.isEmpty && !plain {
            throw usage("give --gossip-key FILE (make one with 'licmesh keygen-gossip --out FILE'), or --insecure-plain on a trusted network")
        }
        let licenseFile = try arguments.required("--license")
        let vendorFile = try arguments.required("--vendor-key")
        let dataDirectory = try arguments.required("--data-dir")
        let secrets: AgentSecrets
        do {
            secrets = try AgentSecrets.load(gossipKeyFiles: keyFiles, insecurePlaintext: plain, licenseFile: licenseFile, vendorPublicKeyFile: vendorFile)
        } catch {
            throw usage(Self.flagMessage(error))
        }
        let profileName = arguments.string("--profile") ?? "lan"
        guard let settings = Settings.profile(named: profileName) else {
            throw arguments.malformed("--profile", profileName, "one of \(Settings.profileNames.joined(separator: ", "))")
        }
        var licensing = LicensingSettings()
        licensing.requestedCores = try arguments.int("--cores", default: ConfigContext.onlineCPUCount(), range: 1...License.maximumCores)

        var agent = AgentConfig(nodeID: identity.nodeID, bindAddress: bind, clusterName: arguments.string("--cluster") ?? "licmesh",
                                security: secrets.security, settings: settings)
        agent.advertiseAddress = advertise
        do { try agent.validate() } catch { throw usage(error.description) }
        var config = LicensedAgentConfig(agent: agent, mac: identity.mac, seeds: seeds, license: secrets.license, vendorKey: secrets.vendorKey,
                                         licensing: licensing, dataDirectory: dataDirectory)
        config.reloadSecrets = { () throws(ConfigError) -> AgentSecrets in
            try AgentSecrets.load(gossipKeyFiles: keyFiles, insecurePlaintext: plain, licenseFile: licenseFile, vendorPublicKeyFile: vendorFile)
        }
        self.config = config
        let level = try parseLogLevel(arguments) ?? .info
        logger = try Self.logFormat(arguments) == "json" ? JSONLineLogger(minimumLevel: level) : LogfmtLogger(minimumLevel: level)
        startupLines = []
        if let text = arguments.string("--http") {
            switch try? HTTPEndpoint(parsing: text) {
            case .tcp(let address)?: api = AgentAPIConfiguration(address: address)
            case .unix(let path)?: api = AgentAPIConfiguration(address: nil, unixSocketPath: path)
            case nil: throw arguments.malformed("--http", text, "a numeric HOST:PORT such as 127.0.0.1:7947, or unix:/PATH")
            }
        } else {
            api = nil
        }
        printEvents = arguments.flag("--events")
    }

    func run() throws -> Int32 {
        for line in startupLines { logger.log(line) }
        let signals = SignalWatcher([SIGINT, SIGTERM, SIGUSR1, SIGHUP])
        let licensed: LicensedAgent
        do {
            licensed = try LicensedAgent.start(config, logger: logger)
        } catch {
            printError("error: cannot start the agent: \(error)")
            return 1
        }
        let api: (any LocalAPI)?
        if let configuration = self.api {
            do {
                api = try startLocalAPI(licensed, configuration: configuration)
            } catch {
                printError("error: cannot start the local HTTP API: \(error)")
                Self.wait { await licensed.stop() }
                return 1
            }
        } else {
            api = nil
        }
        let printers = startPrinting(licensed)
        Task {
            await licensed.waitUntilStopped()
            signals.post(.agentStopped)
        }
        while true {
            switch signals.next() {
            case .signal(SIGUSR1):
                printCounters(licensed.agent)
            case .signal(SIGHUP):
                Self.wait { _ = try? await licensed.reload() }
            case .signal:
                signals.onNextTermination { exit(130) }  // a second SIGINT or SIGTERM ends it at once
                Self.wait { await licensed.leave() }
                api?.stop()
                finish(licensed, printers)
                return 0
            case .agentStopped:
                api?.stop()
                finish(licensed, printers)
                printError("error: the agent stopped unexpectedly; see the log above")
                return 1
            }
        }
    }

    // MARK: - Output

    /// With --events: membership and licensing events as event lines on standard output.
    private func startPrinting(_ licensed: LicensedAgent) -> [DispatchSemaphore] {
        guard printEvents else { return [] }
        Logfmt.writeAll(EventLine.format(name: "started", node: licensed.id,
                                         fields: [LogField("address", licensed.agent.address.description),
                                                  LogField("bound", licensed.agent.boundAddress.description)],
                                         at: MonotonicClock.now()), to: 1)
        let membershipDone = DispatchSemaphore(value: 0), licensingDone = DispatchSemaphore(value: 0)
        let id = licensed.id
        let (membership, licensing) = (licensed.agent.events, licensed.licensingEvents)
        Task {
            for await event in membership { Logfmt.writeAll(EventLine.format(event, node: id), to: 1) }
            membershipDone.signal()
        }
        Task {
            for await event in licensing { Logfmt.writeAll(EventLine.format(event, node: id), to: 1) }
            licensingDone.signal()
        }
        return [membershipDone, licensingDone]
    }

    private func finish(_ licensed: LicensedAgent, _ printers: [DispatchSemaphore]) {
        for done in printers { _ = done.wait(timeout: .now() + .seconds(2)) }
        printCounters(licensed.agent)
        if printEvents {
            Logfmt.writeAll(EventLine.format(name: "stopped", node: licensed.id, fields: [], at: MonotonicClock.now()), to: 1)
        }
    }

    private func printCounters(_ agent: Agent) {
        let line = EventLine.format(name: "counters", node: agent.id, fields: agent.counters.fields, at: MonotonicClock.now())
        Logfmt.writeAll(line, to: printEvents ? 1 : 2)
    }

    // MARK: - Helpers

    /// Runs async work to completion from the main thread (which is not one of the concurrency pool's).
    private static func wait(_ work: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await work()
            done.signal()
        }
        done.wait()
    }

    private static func level(_ level: ResolvedAgentConfig.LogLevel) -> LogLevel {
        switch level {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }

    private static func logFormat(_ arguments: ParsedArguments) throws -> String? {
        guard let format = arguments.string("--log-format") else { return nil }
        guard format == "logfmt" || format == "json" else { throw arguments.malformed("--log-format", format, "logfmt or json") }
        return format
    }

    /// A file error named by its configuration field, told in terms of the flag that gave the file.
    static func flagMessage(_ error: ConfigError) -> String {
        let flag = switch error.field {
        case "licenseFile": "--license"
        case "vendorPublicKeyFile": "--vendor-key"
        default: error.field.hasPrefix("gossipKeyFiles") ? "--gossip-key" : error.field
        }
        return "\(flag): " + (error.value.map { "\($0) " } ?? "") + "\(error.problem); \(error.fix)"
    }
}

/// The running local HTTP API, as the runner stops it.
protocol LocalAPI {
    func stop()
}

extension AgentHTTPAPI: LocalAPI {}

/// The hook where the local HTTP API (issue 5) starts over the agent's `AgentControl`.
func startLocalAPI(_ control: any AgentControl, configuration: AgentAPIConfiguration) throws -> (any LocalAPI)? {
    try AgentHTTPAPI(control: control, configuration: configuration)
}
