#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Mesh
import SWIM
import Synchronization
import Wire
import ArgumentParsing

/// `licmesh agent`: one agent on real sockets until SIGINT or SIGTERM (then a graceful leave, exit 0).
///
/// Three ways to run it: `--config FILE` (what operators run: licensing, data directory, local HTTP
/// API, SIGHUP reload), flags with `--license` (the same licensed agent without a file, for benchmarks
/// and scripts), or flags alone (membership only, as the multi-process tests and benchmarks use).
let agentCommand = Command(
    name: "agent",
    summary: "Run a LicenseMesh agent until SIGINT or SIGTERM.",
    options: [
        .value("--config", "FILE", "The agent's JSON configuration (docs/configuration.md). Only --events, --log-level and --log-format go with it."),
        .value("--bind", "HOST:PORT", "Address and port for UDP gossip and TCP sync (numeric; port 0 picks a free one)."),
        .value("--advertise", "HOST:PORT", "Address other agents reach this one at (default: the bound address; required when binding 0.0.0.0 or ::)."),
        .value("--id", "HEX", "This node's 64-bit ID in hex (default: this host's MAC address; agents sharing a host need distinct IDs)."),
        .value("--seed-node", "HOST:PORT", "An agent to join through; names are resolved by DNS, every address used.", repeatable: true),
        .value("--cluster", "NAME", "Cluster name; agents with another name are ignored (default: licmesh)."),
        .value("--gossip-key", "FILE", "Gossip key file; the first seals what is sent, all are accepted (rotation).", repeatable: true),
        .flag("--insecure-plain", "Send and accept unencrypted packets (trusted lab networks only)."),
        .value("--profile", "NAME", "Protocol timers: lan (default), wan or local (loopback tests)."),
        .value("--license", "FILE", "Run licensed without a config file: the license file (needs --vendor-key and --data-dir)."),
        .value("--vendor-key", "FILE", "The vendor's public key (vendor.pub) that verifies --license."),
        .value("--mac", "MAC", "This host's MAC as the license lists it (default: the first hardware interface's)."),
        .value("--cores", "N", "Cores to request from the license authority (default: the online CPU count)."),
        .value("--data-dir", "DIR", "Directory for what must survive a restart (boot counter, ledger, own grant); one per agent."),
        .value("--http", "HOST:PORT|unix:PATH", "With --license: serve the local HTTP API here, over TCP or a unix socket (the config file's httpAddress or httpSocket)."),
        .flag("--events", "Print one line per membership (and licensing) event to standard output (event=... logfmt), and the counters on SIGUSR1 and at exit."),
        .value("--log-level", "LEVEL", "Log lines on standard error at or above: debug, info (default), warn, error."),
        .value("--log-format", "FORMAT", "Log lines as logfmt (default) or json."),
    ],
    discussion: """
    With --config, a configuration error names the field, the value and the fix, and the agent exits
    with status 78 before binding anything. SIGHUP re-reads the license, the vendor key and the gossip
    keys without a restart (licensed agents); SIGTERM and SIGINT release this node's cores and leave
    gracefully (exit 0). Without --config or --license, either --gossip-key or --insecure-plain is
    required: plain mode is never a default.
    Event lines (with --events) look like:
      event=suspected node=00000000000000a2 member=00000000000000a5 address=127.0.0.1:7947 incarnation=0 by=00000000000000a3 at_ms=123456
      event=authority node=00000000000000a2 authority=00000000000000a3 epoch=2.1 self=false at_ms=123789
    at_ms is CLOCK_MONOTONIC in milliseconds. Send SIGUSR1 for an event=counters line.
    """,
    run: { arguments in
        if arguments.string("--config") != nil {
            let runner: LicensedRunner
            do { runner = try LicensedRunner(configured: arguments) } catch let error as ConfigError {
                printError("error: \(error)")
                return LicensedRunner.configurationErrorStatus
            }
            return try runner.run()
        }
        if arguments.string("--license") != nil { return try LicensedRunner(flags: arguments).run() }
        return try AgentRunner(arguments).run()
    }
)

/// Everything `licmesh agent` does, in order: check every flag and read every file, then bind, then run.
private struct AgentRunner {
    let config: AgentConfig
    let seeds: [SocketAddress]
    let printEvents: Bool
    let logLevel: LogLevel

    init(_ arguments: ParsedArguments) throws {
        func usage(_ message: String) -> UsageError { UsageError(message: message, command: arguments.commandPath) }
        if let extra = arguments.positionals.first { throw usage("unexpected argument '\(extra)'") }
        for flag in ["--vendor-key", "--mac", "--cores", "--data-dir", "--http"] where arguments.string(flag) != nil {
            throw usage("\(flag) runs a licensed agent, which needs --license FILE too")
        }
        if arguments.string("--log-format") == "json" {
            throw usage("--log-format json needs a licensed agent (--config or --license); the membership-only agent logs logfmt")
        }

        let bindText = try arguments.required("--bind")
        let bind: SocketAddress
        do { bind = try SocketAddress(parsing: bindText) } catch { throw usage("--bind: \(error)") }
        var advertise: SocketAddress?
        if let text = arguments.string("--advertise") {
            do { advertise = try SocketAddress(parsing: text) } catch { throw usage("--advertise: \(error)") }
        }

        let id: NodeID
        if let text = arguments.string("--id") {
            guard let parsed = NodeID(hex: text) else {
                throw arguments.malformed("--id", text, "1 to 16 hex digits, e.g. 00000000000000a1")
            }
            id = parsed
        } else {
            guard let mac = HostIdentity.macAddressNodeID() else {
                throw usage("cannot derive a node ID from this host's MAC address (no network interface found); give --id HEX")
            }
            id = mac
        }

        var seeds: [SocketAddress] = []
        for text in arguments.strings("--seed-node") {
            do { seeds += try SocketAddress.resolve(text, family: bind.family) } catch { throw usage("--seed-node: \(error)") }
        }

        let keyFiles = arguments.strings("--gossip-key")
        let plain = arguments.flag("--insecure-plain")
        let security: GossipSecurity
        switch (keyFiles.isEmpty, plain) {
        case (false, true):
            throw usage("--gossip-key and --insecure-plain exclude each other; choose one")
        case (true, false):
            throw usage("give --gossip-key FILE (make one with 'licmesh keygen-gossip --out FILE'), or --insecure-plain on a trusted network")
        case (true, true):
            security = .plain
        case (false, false):
            do {
                security = .encrypted(try Keyring.load(primaryFile: keyFiles[0], acceptedFiles: Array(keyFiles.dropFirst())))
            } catch {
                throw usage(error.description)
            }
        }

        let profileName = arguments.string("--profile") ?? "lan"
        guard let settings = Settings.profile(named: profileName) else {
            throw arguments.malformed("--profile", profileName, "one of \(Settings.profileNames.joined(separator: ", "))")
        }
        let level = try parseLogLevel(arguments) ?? .info

        var config = AgentConfig(nodeID: id, bindAddress: bind, clusterName: arguments.string("--cluster") ?? "licmesh",
                                 security: security, settings: settings)
        config.advertiseAddress = advertise
        do { try config.validate() } catch { throw usage(error.description) }

        self.config = config
        self.seeds = seeds
        self.printEvents = arguments.flag("--events")
        self.logLevel = level
    }

    func run() throws -> Int32 {
        let signals = SignalWatcher([SIGINT, SIGTERM, SIGUSR1])
        let agent: Agent
        do {
            agent = try Agent.start(config, logger: LogfmtLogger(minimumLevel: logLevel))
        } catch {
            printError("error: cannot start the agent: \(error)")
            return 1
        }
        let printEvents = self.printEvents
        if printEvents {
            Logfmt.writeAll(EventLine.format(name: "started", node: agent.id,
                                             fields: [LogField("address", agent.address.description), LogField("bound", agent.boundAddress.description)],
                                             at: MonotonicClock.now()), to: 1)
        }
        let printerDone = DispatchSemaphore(value: 0)
        Task {
            for await event in agent.events where printEvents {
                Logfmt.writeAll(EventLine.format(event, node: agent.id), to: 1)
            }
            printerDone.signal()
        }
        Task {
            await agent.waitUntilStopped()
            signals.post(.agentStopped)
        }
        agent.join(seeds: seeds)

        while true {
            switch signals.next() {
            case .signal(SIGUSR1):
                printCounters(agent, toStdout: printEvents)
            case .signal:
                let left = DispatchSemaphore(value: 0)
                Task {
                    await agent.leave()
                    left.signal()
                }
                // A second SIGINT or SIGTERM during the leave ends the process at once.
                signals.onNextTermination { exit(130) }
                left.wait()
                _ = printerDone.wait(timeout: .now() + .seconds(2))
                finish(agent, printEvents: printEvents)
                return 0
            case .agentStopped:
                _ = printerDone.wait(timeout: .now() + .seconds(2))
                finish(agent, printEvents: printEvents)
                printError("error: the agent stopped unexpectedly; see the log above")
                return 1
            }
        }
    }

    private func finish(_ agent: Agent, printEvents: Bool) {
        printCounters(agent, toStdout: printEvents)
        if printEvents {
            Logfmt.writeAll(EventLine.format(name: "stopped", node: agent.id, fields: [], at: MonotonicClock.now()), to: 1)
        }
    }

    private func printCounters(_ agent: Agent, toStdout: Bool) {
        let line = EventLine.format(name: "counters", node: agent.id, fields: agent.counters.fields, at: MonotonicClock.now())
        Logfmt.writeAll(line, to: toStdout ? 1 : 2)
    }
}

/// Turns signals into values the main thread waits for, through Dispatch signal sources (the default
/// actions are disabled first so that a signal never kills the process before the leave).
final class SignalWatcher: Sendable {
    enum Wake: Sendable { case signal(Int32), agentStopped }

    private let queue = DispatchQueue(label: "licmesh.signals")
    private let state = Mutex<(pending: [Wake], onTermination: (@Sendable () -> Void)?)>(([], nil))
    private let ready = DispatchSemaphore(value: 0)
    /// Kept so the sources stay alive; written once in init, never touched again.
    nonisolated(unsafe) private var sources: [DispatchSourceSignal] = []

    init(_ numbers: [Int32]) {
        // A reader of --events output that goes away must not kill us with SIGPIPE mid-leave.
        signal(SIGPIPE, SIG_IGN)
        var made: [DispatchSourceSignal] = []
        for number in numbers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.received(number) }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    private func received(_ number: Int32) {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            if number != SIGUSR1, let handler = state.onTermination { return handler }
            state.pending.append(.signal(number))
            return nil
        }
        if let handler { handler() } else { ready.signal() }
    }

    func post(_ wake: Wake) {
        state.withLock { $0.pending.append(wake) }
        ready.signal()
    }

    /// Blocks until a signal arrives or the agent stops.
    func next() -> Wake {
        while true {
            ready.wait()
            if let wake = state.withLock({ $0.pending.isEmpty ? nil : $0.pending.removeFirst() }) { return wake }
        }
    }

    func onNextTermination(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.onTermination = handler }
    }
}

/// `--log-level`, if given (nil: take the configuration's or the default).
func parseLogLevel(_ arguments: ParsedArguments) throws -> LogLevel? {
    guard let name = arguments.string("--log-level") else { return nil }
    guard let level = LogLevel.allCases.first(where: { $0.description == name || (name == "warning" && $0 == .warning) }) else {
        throw arguments.malformed("--log-level", name, "one of debug, info, warn, error")
    }
    return level
}
