import SWIM
import Licensing

/// A hostile network for a window of the run: a recorder that captures every message delivered and
/// re-injects random old ones to random nodes (from the original sender's address: a replayer on the
/// path, or one spoofing addresses) across restarts and failovers; and a key holder that sends
/// well-formed messages with extreme values and forged sender IDs. Every invariant must hold while it
/// acts (safety) and once it stops (liveness: `settleDelay`).
public struct Adversary: Hashable, Sendable {
    /// When it acts, as offsets from the start of the run.
    public var from: Duration
    public var until: Duration
    public var replaysPerSecond: Double = 30
    public var forgeriesPerSecond: Double = 30
    /// Messages kept for replay (a reservoir over the whole run).
    public var recorderCapacity = 4_096

    public init(from: Duration, until: Duration) {
        self.from = from
        self.until = until
    }
}

/// What the adversary keeps between its moves.
struct AdversaryState {
    var recorded: [(message: Message, from: Int, overStream: Bool)] = []
    var seen = 0
    var replays = 0
    var forgeries = 0
}

extension Simulator {
    /// The address forgeries come from: no member's.
    static let adversaryAddress = Address("adversary")

    /// Keeps a uniform sample of every message delivered so far (reservoir sampling).
    func record(_ message: Message, from sender: Int, overStream: Bool) {
        guard let adversary = scenario.adversary else { return }
        adversaryState.seen += 1
        if adversaryState.recorded.count < adversary.recorderCapacity {
            adversaryState.recorded.append((message, sender, overStream))
        } else {
            let slot = adversaryRandom.below(adversaryState.seen)
            if slot < adversary.recorderCapacity { adversaryState.recorded[slot] = (message, sender, overStream) }
        }
    }

    /// One move: a replay or a forgery, then the next move is scheduled while the window lasts.
    func adversaryMove() {
        guard let adversary = scenario.adversary, now < .zero + adversary.until else { return }
        let rate = adversary.replaysPerSecond + adversary.forgeriesPerSecond
        guard rate > 0 else { return }
        if adversaryRandom.unit() * rate < adversary.replaysPerSecond { replay() } else { forge() }
        let gap = 1 / rate * (0.5 + adversaryRandom.unit())
        queue.push(.action(.adversaryMove), at: now + .milliseconds(Int64(gap * 1000)))
    }

    func replay() {
        guard !adversaryState.recorded.isEmpty else { return }
        let (message, sender, overStream) = adversaryState.recorded[adversaryRandom.below(adversaryState.recorded.count)]
        let target = adversaryRandom.below(nodeCount)
        adversaryState.replays += 1
        let event: SimulationEvent = overStream
            ? .stream(message, from: Int32(sender), to: Int32(target), handedLate: true)
            : .datagram(message, from: Int32(sender), to: Int32(target), handedLate: true)
        queue.push(event, at: now + .milliseconds(1))
    }

    /// A well-formed message a key holder could send: extreme values, forged senders.
    func forge() {
        let target = adversaryRandom.below(nodeCount)
        guard nodes[target].status.isUp else { return }
        adversaryState.forgeries += 1
        let member = NodeNaming.id(of: adversaryRandom.below(nodeCount))
        let stranger = NodeID(0xFFFF_0000 + UInt64(adversaryRandom.below(1_000)))
        let claimed = adversaryRandom.chance(0.5) ? member : stranger
        let message: Message
        switch adversaryRandom.below(3) {
        case 0:
            message = .gossip(GossipMessage(source: claimed, piggyback: (0..<1 + adversaryRandom.below(3)).map { _ in forgedGossip(target: target) }))
        default:
            message = .app(AppMessage(source: claimed, bytes: LicensingCodec.encode(forgedLicensingMessage(target: target))))
        }
        guard let output = instances[target]?.receive(message, from: Self.adversaryAddress, now: now) else { return }
        apply(output, of: target)
        scheduleTick(target)
    }

    func forgedGossip(target: Int) -> Gossip {
        let about = adversaryRandom.chance(0.3) ? NodeNaming.id(of: target) : NodeNaming.id(of: adversaryRandom.below(nodeCount))
        let held = instances[target]?.swim.member(about)?.incarnation ?? 0
        // Extreme values: at and beyond every bound. (A key holder can also forge plausible suspicions
        // and departures, which members refute; that is membership's business, not this adversary's.)
        let incarnation = [UInt64.max, UInt64.max - 1, Member.maximumIncarnation,
                           max(held, Member.maximumFreeIncarnation) &+ Member.maximumIncarnationJump &+ 1][adversaryRandom.below(4)]
        switch adversaryRandom.below(5) {
        case 0: return .suspect(id: about, incarnation: incarnation, suspecter: NodeNaming.id(of: target))
        case 1: return .dead(id: about, incarnation: incarnation, declarer: NodeNaming.id(of: target))
        case 2: return .alive(id: about, incarnation: incarnation, address: Self.adversaryAddress, metadata: [])
        case 3: return .left(id: about, incarnation: incarnation)
        default:
            // A ledger payload naming an epoch no cluster could have reached.
            let epoch = Epoch(round: Epoch.maximumRound - UInt32(adversaryRandom.below(3)), serverRank: 0)
            return adversaryRandom.chance(0.5)
                ? .payload(LedgerPayloads.payload(epoch: epoch, authority: NodeNaming.id(of: 0), beat: .max))
                : .payload(LedgerPayloads.payload(head: LedgerHead(epoch: epoch, counter: .max, authority: about, digest: adversaryRandom.next(),
                                                                   count: 1, through: Stamp(epoch: epoch, sequence: .max))))
        }
    }

    func forgedLicensingMessage(target: Int) -> LicensingMessage {
        let epoch = instances[target]?.licensing?.epoch ?? .none
        let huge = Epoch(round: Epoch.maximumRound, serverRank: 1)
        let far = Epoch(round: min(epoch.round + (1 << 21), Epoch.maximumRound), serverRank: 1)
        let grant = Grant(node: NodeNaming.id(of: adversaryRandom.below(nodeCount)), cores: Int(Int32.max),
                          stamp: Stamp(epoch: huge, sequence: .max))
        let requestID = adversaryRandom.next()
        switch adversaryRandom.below(11) {
        case 0: return .acquire(requestID: requestID, life: adversaryRandom.next(), basis: Stamp(rawValue: adversaryRandom.next()),
                                cores: [1, 2, Int(Int32.max)][adversaryRandom.below(3)], mac: adversaryRandom.next() & 0xFFFF_FFFF_FFFF, held: nil)
        case 1: return .release(requestID: requestID, life: adversaryRandom.next(), basis: Stamp(rawValue: adversaryRandom.next()))
        case 2: return .propose([huge, far][adversaryRandom.below(2)])
        case 3: return .reject(epoch, promised: [huge, far][adversaryRandom.below(2)])
        case 4: return .replicate(far, grant)
        case 5: return .heartbeat(far, beat: .max, time: Int64.max)
        case 6: return .heartbeatAck(epoch, beat: .max, time: 0)
        case 7: return .reply(requestID: requestID, outcome: .granted(grant))
        case 8: return .pull(since: Stamp(rawValue: adversaryRandom.next()),
                             held: HeldSequences(epoch: far, first: .max, bits: [UInt8](repeating: 0xFF, count: HeldSequences.maximumBytes)))
        case 9: return .entries(LedgerEntries(from: .zero, through: Stamp(epoch: far, sequence: .max), isLast: true, hasMore: true,
                                              grants: [grant]))
        default: return .promise(far, part: 0, of: 1, grants: [grant])
        }
    }
}
