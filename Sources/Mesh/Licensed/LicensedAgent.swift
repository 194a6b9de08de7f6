import Crypto
import Licensing
import SWIM
import Synchronization
import Wire

/// The agent an operator runs (`licmesh agent --config FILE`), and that tests start in-process: a
/// membership agent with the licensing layer on top, its durable state in the data directory, and
/// the `AgentControl` interface the local HTTP API and the status commands use.
///
///     let agent = try LicensedAgent.start(LicensedAgentConfig(resolved), logger: logger)
///     let answer = await agent.validate(feature: nil)
///     await agent.leave()          // releases this node's cores, then leaves gracefully
///
/// A license that does not verify here (bad signature, expired, another host's MAC) keeps the agent
/// running, unlicensed, with the reason in its status and log; reloading a good license fixes it.
public final class LicensedAgent: Sendable {
    /// The membership agent underneath (its `events` stream is free for one reader).
    public let agent: Agent
    /// The MAC this node is licensed as (the license must list it).
    public let mac: MACAddress
    /// Only agents with the same cluster name (and gossip key) talk to each other.
    public let clusterName: String
    /// Where the boot counter, ledger snapshot, promises and own grant survive restarts.
    public let dataDirectory: String
    /// What starting found worth telling: data files set aside, leftovers removed, the boot number.
    public let startupNotices: [String]
    /// Every licensing event of this node, in order (newest 4,096 kept when nobody reads). One reader.
    public let licensingEvents: AsyncStream<LicensingEvent>

    let shared: LicensedShared
    let log: AgentLog
    let seeds: [SeedAddress]
    let startedAt: Instant
    private let config: LicensedAgentConfig
    private let joiner: Mutex<SeedJoiner?>

    /// This node's ID: the lowest ID among the live license servers is the authority.
    public var id: NodeID { agent.id }
    /// False once `leave()` or `stop()` has completed, or the agent failed.
    public var isRunning: Bool { agent.isRunning }

    /// Verifies the license, opens the data directory, binds, and joins the seeds. Returns once the
    /// agent runs; joining continues in the background.
    public static func start(_ config: LicensedAgentConfig, logger: any AgentLogger = LogfmtLogger()) throws(LicensedAgentError) -> LicensedAgent {
        let nodeID = config.agent.nodeID
        let log = AgentLog(logger: logger, node: nodeID)
        let installed = InstalledLicense(config.license, vendorKey: config.vendorKey, mac: config.mac, unixTime: config.unixTime())

        let directory: DataDirectory
        let boot: BootStart
        let envelope: (record: FreshnessRecord, setAside: SetAsideFile?)
        let restored: (state: LicensingDurableState?, notices: [String])
        do {
            directory = try DataDirectory.open(path: config.dataDirectory, clusterName: config.agent.clusterName, nodeID: nodeID)
            boot = try directory.beginBoot()
            envelope = try directory.beginEnvelopeLife(unixMicroseconds: WallTime.unixMicroseconds())
            restored = try DurableStateStore.load(from: directory)
        } catch {
            throw .persistence(error)
        }
        var licensing: LicensingNode
        do {
            licensing = try LicensingNode(id: nodeID, mac: config.mac.rawValue, terms: installed.terms, licenseValid: installed.isValid,
                                          settings: config.licensing, life: boot.boot, requestIDBase: SecureRandom.uint64() >> 1)
        } catch {
            throw .invalidSettings(field: error.field, problem: error.problem)
        }
        if let state = restored.state { licensing.restore(state) }

        var notices = directory.notices + restored.notices
        if let file = boot.setAside { notices.append(file.description) }
        if let file = envelope.setAside { notices.append(file.description) }
        Self.logStartup(log, installed: installed, boot: boot, restored: restored.state, notices: notices, dataDirectory: config.dataDirectory)

        var agentConfig = config.agent
        agentConfig.metadata = licensing.advert.metadata
        agentConfig.initialIncarnation = max(agentConfig.initialIncarnation, boot.incarnation)
        let store = DurableStateStore(directory: directory, restored: restored.state, log: log)
        let (events, continuation) = AsyncStream.makeStream(of: LicensingEvent.self, bufferingPolicy: .bufferingNewest(Agent.eventBufferSize))
        let shared = LicensedShared(node: licensing, license: installed, events: continuation)
        let acquireOnStart = config.acquireOnStart && config.licensing.requestedCores > 0
        let agent: Agent
        do {
            let session = EnvelopeSession(sender: EnvelopeSender(id: nodeID, boot: envelope.record.ownBoot), floors: envelope.record.floors)
            agent = try Agent.start(agentConfig, logger: logger, licensing: Agent.LicensingParts(node: licensing, envelope: session, makeRuntime: {
                LicensingRuntime(shared: shared, store: store, log: log, acquireOnStart: acquireOnStart)
            }))
        } catch {
            store.close()
            continuation.finish()
            throw .agent(error)
        }
        let licensed = LicensedAgent(agent: agent, config: config, shared: shared, log: log, notices: notices, events: events)
        licensed.joiner.withLock { $0 = SeedJoiner(seeds: config.seeds, agent: agent, log: log, retryInterval: config.seedRetryInterval) }
        return licensed
    }

    private init(agent: Agent, config: LicensedAgentConfig, shared: LicensedShared, log: AgentLog, notices: [String],
                 events: AsyncStream<LicensingEvent>) {
        self.agent = agent
        self.config = config
        self.mac = config.mac
        self.clusterName = config.agent.clusterName
        self.dataDirectory = config.dataDirectory
        self.seeds = config.seeds
        self.shared = shared
        self.log = log
        self.startupNotices = notices
        self.licensingEvents = events
        self.joiner = Mutex(nil)
        self.startedAt = MonotonicClock.now()
    }

    private static func logStartup(_ log: AgentLog, installed: InstalledLicense, boot: BootStart, restored: LicensingDurableState?,
                                   notices: [String], dataDirectory: String) {
        for notice in notices { log.log(.warning, "data directory notice", [LogField("notice", notice)]) }
        log.log(.info, "data directory opened", [
            LogField("path", dataDirectory), LogField("boot", "\(boot.boot)"), LogField("incarnation", "\(boot.incarnation)"),
            LogField("restored_epoch", restored?.epoch.description ?? "none"), LogField("restored_grants", "\(restored?.grants.count ?? 0)"),
            LogField("restored_own_cores", "\(restored?.ownGrant?.cores ?? 0)"),
        ])
        logLicense(log, installed)
    }

    static func logLicense(_ log: AgentLog, _ installed: InstalledLicense) {
        let license = installed.signed.license
        if let problem = installed.problem {
            log.log(.error, "license not valid on this node; running unlicensed", [
                LogField("license", license.id), LogField("reason", problem),
            ])
        } else {
            log.log(.info, "license verified", [
                LogField("license", license.id), LogField("licensee", license.licensee), LogField("max_cores", "\(license.maxCores)"),
                LogField("servers", "\(license.servers.count)"), LogField("expires", license.expires.description),
            ])
        }
        for warning in installed.warnings { log.log(.warning, "license warning", [LogField("license", license.id), LogField("warning", warning)]) }
    }

    // MARK: - Lifecycle

    /// Releases this node's cores (waiting at most `releaseTimeout` for the authority), then leaves
    /// gracefully. Returns when everything is closed and the durable state is written.
    public func leave(releaseTimeout: Duration = .seconds(2)) async {
        stopJoining()
        // Only a held grant is worth waiting for: a request still pending means there is no authority
        // to answer, and whatever it may have granted comes back anyway when the departure is heard.
        if agent.isRunning, shared.validation.withLock({ $0.ownGrant != nil }) {
            let answer = await release(timeout: releaseTimeout)
            log.log(answer.outcome == .released ? .info : .warning, "released cores before leaving",
                    [LogField("outcome", answer.outcome.rawValue), LogField("detail", answer.message)])
        }
        await agent.leave()
    }

    /// Stops at once without telling anyone or releasing anything (what a crash looks like to the
    /// others). Returns when everything is closed and the durable state is written.
    public func stop() async {
        stopJoining()
        await agent.stop()
    }

    /// Returns when the agent has stopped, whoever stopped it.
    public func waitUntilStopped() async { await agent.waitUntilStopped() }

    private func stopJoining() {
        joiner.withLock { $0?.stop() }
    }

    // MARK: - Reload (SIGHUP)

    /// Re-reads the license, vendor key and gossip keys, and puts them to use without a restart: the
    /// licensing layer gets the new license (and the cluster its new advert), the agent the new keys.
    /// On a read error nothing changes. Returns the license as it is installed now.
    @discardableResult
    public func reload() async throws(LicensedAgentError) -> InstalledLicense {
        guard let read = config.reloadSecrets else { throw .reloadUnsupported }
        let secrets: AgentSecrets
        do { secrets = try read() } catch {
            log.log(.error, "reload failed; keeping the previous license and keys", [LogField("error", error.description)])
            throw .reload(error)
        }
        return try await install(secrets)
    }

    /// Installs these secrets (what `reload` does after reading the files).
    @discardableResult
    public func install(_ secrets: AgentSecrets) async throws(LicensedAgentError) -> InstalledLicense {
        let installed = InstalledLicense(secrets.license, vendorKey: secrets.vendorKey, mac: mac, unixTime: config.unixTime())
        shared.license.withLock { $0 = installed }
        let applied = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            if !agent.post(.replaceLicense(installed.terms, valid: installed.isValid, done: { continuation.resume(returning: $0) })) {
                continuation.resume(returning: false)
            }
        }
        guard applied else { throw .notRunning }
        Self.logLicense(log, installed)
        switch (config.agent.isEncrypted, secrets.security) {
        case (true, .encrypted(let keyring)):
            do { try await agent.updateKeyring(keyring) } catch { throw .agent(error) }
        case (false, .plain):
            break
        case (true, .plain), (false, .encrypted):
            log.log(.error, "gossip encryption cannot be switched on or off without a restart; keeping the current mode",
                    [LogField("fix", "restart the agent to change between encrypted and plain gossip")])
        }
        log.log(.info, "reloaded license and keys", [LogField("license", installed.id), LogField("valid", installed.isValid ? "true" : "false")])
        return installed
    }

    /// The license as installed now.
    public var installedLicense: InstalledLicense { shared.license.withLock { $0 } }
}
