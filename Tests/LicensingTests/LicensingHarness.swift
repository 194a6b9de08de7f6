@testable import Licensing
import SWIM

/// Licensing nodes wired to each other directly, with a hand-set membership view: for testing the
/// licensing state machine's rules without SWIM (the simulator tests them together).
struct LicensingHarness {
    var nodes: [NodeID: LicensingNode] = [:]
    var macs: [NodeID: UInt64] = [:]
    var alive: Set<NodeID> = []
    /// Pairs that cannot reach each other (both directions).
    var cut: Set<[NodeID]> = []
    /// Nodes that gossip never reaches (every published version misses them); messages still do.
    var gossipDeaf: Set<NodeID> = []
    var events: [NodeID: [LicensingEvent.Kind]] = [:]
    var probes: [NodeID: [NodeID]] = [:]
    var now = Instant(nanoseconds: 1_000_000_000)
    var queue: [(from: NodeID, to: NodeID, message: LicensingMessage)] = []
    /// The newest ledger payload (epoch, head) each node holds, as SWIM would store it.
    var stored: [NodeID: [String: AppPayload]] = [:]
    /// Every message ever sent, for replay tests.
    var captured: [(from: NodeID, to: NodeID, message: LicensingMessage)] = []

    static let expiry: Int64 = 4_102_444_800   // 2100-01-01

    static func terms(servers: [UInt64], hosts: [UInt64], maxCores: Int, id: String = "LIC-1") -> LicenseTerms {
        LicenseTerms(id: id, maxCores: maxCores, hosts: Set(hosts), servers: Set(servers), features: ["batch"],
                     expires: expiry)
    }

    /// Nodes 1...n with MACs 0xA0+i; the first `servers` of them are license servers.
    init(count: Int, servers: Int, maxCores: Int, policy: PartitionPolicy? = nil, requestedCores: Int = 2,
         termsFor: ((Int) -> LicenseTerms?)? = nil) {
        let ids = (1...count).map { UInt64($0) }
        let defaultTerms = Self.terms(servers: ids.prefix(servers).map { 0xA0 + $0 }, hosts: ids.map { 0xA0 + $0 }, maxCores: maxCores)
        var settings = LicensingSettings()
        settings.requestedCores = requestedCores
        settings.policy = policy
        for n in ids {
            let id = NodeID(n)
            let terms = termsFor?(Int(n)) ?? defaultTerms
            nodes[id] = try! LicensingNode(id: id, mac: 0xA0 + n, terms: terms, licenseValid: true, settings: settings)
            macs[id] = 0xA0 + n
            alive.insert(id)
        }
    }

    func reachable(_ a: NodeID, _ b: NodeID) -> Bool {
        alive.contains(a) && alive.contains(b) && !cut.contains([min(a, b), max(a, b)])
    }

    /// What `from` sees: everyone it can reach is alive, the rest dead.
    func view(of from: NodeID) -> [Member] {
        nodes.keys.filter { $0 != from }.map { id in
            Member(id: id, address: Address("n\(id.rawValue)"), incarnation: 0,
                   state: reachable(from, id) ? .alive : .dead, metadata: nodes[id]!.advert.metadata)
        }
    }

    mutating func refreshViews() {
        for id in nodes.keys.sorted() where alive.contains(id) {
            let out = nodes[id]!.updateMembership(view(of: id), now: now)
            handle(out, from: id)
        }
        settle()
        antiEntropy()
        for id in nodes.keys.sorted() where alive.contains(id) {
            let out = nodes[id]!.membershipSynced(now: now)
            handle(out, from: id)
        }
        settle()
    }

    /// What SWIM's push-pull does for the ledger: every node hands the epoch and head payloads it
    /// holds to everyone it reaches (replicas then pull the entries they lack).
    mutating func antiEntropy() {
        for source in nodes.keys.sorted() where alive.contains(source) {
            let payloads = (stored[source] ?? [:]).values.sorted { $0.key < $1.key }
            for target in nodes.keys.sorted() where target != source && reachable(source, target) {
                for payload in payloads { deliver(payload, to: target) }
            }
        }
        settle()
    }

    /// A payload reaches `target`, which keeps it (and passes it to licensing) only if it is news.
    mutating func deliver(_ payload: AppPayload, to target: NodeID) {
        if let held = stored[target]?[payload.key], held.version >= payload.version { return }
        stored[target, default: [:]][payload.key] = payload
        let out = nodes[target]!.receivePayload(payload, now: now)
        handle(out, from: target)
    }

    mutating func handle(_ directives: [LicensingDirective], from id: NodeID) {
        for directive in directives {
            switch directive {
            case .send(let message, let to):
                // Through the codec, as on the wire.
                let decoded = LicensingCodec.decode(LicensingCodec.encode(message))!
                queue.append((id, to, decoded))
                captured.append((id, to, decoded))
            case .publish(let payload, _):
                stored[id, default: [:]][payload.key] = payload
                for other in nodes.keys.sorted() where other != id && reachable(id, other) && !gossipDeaf.contains(other) {
                    deliver(payload, to: other)
                }
            case .probe(let target), .watch(let target):
                probes[id, default: []].append(target)
            case .event(let event):
                events[id, default: []].append(event.kind)
            }
        }
    }

    /// Delivers queued messages until none are left.
    mutating func settle() {
        var steps = 0
        while !queue.isEmpty, steps < 10_000 {
            steps += 1
            let (from, to, message) = queue.removeFirst()
            guard reachable(from, to) else { continue }
            let out = nodes[to]!.receive(message, from: from, now: now)
            handle(out, from: to)
        }
    }

    mutating func advance(by duration: Duration) {
        let end = now + duration
        while true {
            let due = nodes.filter { alive.contains($0.key) }.map { ($0.key, $0.value.nextDeadline) }
                .filter { $0.1 <= end }.min { $0.1 < $1.1 }
            guard let (id, at) = due else { break }
            now = max(now, at)
            let out = nodes[id]!.tick(now: now)
            handle(out, from: id)
            settle()
        }
        now = end
    }

    mutating func acquire(_ n: UInt64, cores: Int? = nil) {
        let out = nodes[NodeID(n)]!.acquire(cores: cores, now: now).1
        handle(out, from: NodeID(n))
        settle()
    }

    mutating func release(_ n: UInt64) {
        let out = nodes[NodeID(n)]!.release(now: now).1
        handle(out, from: NodeID(n))
        settle()
    }

    func node(_ n: UInt64) -> LicensingNode { nodes[NodeID(n)]! }

    func authorities() -> [NodeID] { nodes.filter { alive.contains($0.key) && $0.value.isAuthority }.map(\.key).sorted() }

    /// Cores held by live nodes, as each node itself believes (its confirmed grant).
    func coresHeldByLiveNodes() -> Int {
        nodes.filter { alive.contains($0.key) }.reduce(0) { $0 + ($1.value.ownGrant?.cores ?? 0) }
    }

    func validates(_ n: UInt64) -> Bool { node(n).validate(feature: "batch", unixTime: 1_800_000_000).isAllowed }
}
