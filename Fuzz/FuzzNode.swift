// libFuzzer entry point for the cluster node: the composition of SWIM and licensing that every agent
// runs. Built and run by `Fuzz/run.sh SECONDS node`, not by `swift test`.
//
// Each input is a script played against a licensed three-node cluster (servers 1 and 2, a host 3)
// that has elected its authority and granted cores: well-formed messages made from the input's bytes,
// sealed with the cluster's key and opened as an agent would, delivered to any node under any claimed
// sender; time moving on; wall clocks read anywhere; acquires and releases. The nodes' own answers
// are carried between them. A crash, a trap, an ASan report or a broken property (fatalError) is a
// finding.
import Crypto
import Licensing
import SWIM
import Wire

let nodeCluster = ClusterHash(clusterName: "fuzz")
let nodeKey = try! SymmetricKey(bytes: Array(0..<32))
let plainCodec = WireCodec(cluster: nodeCluster)
let licensingTerms = LicenseTerms(id: "FUZZ", maxCores: 8, hosts: [1, 2, 3], servers: [1, 2], features: ["batch"],
                                  expires: 4_000_000_000, licensee: "Fuzz", issued: 1_700_000_000)

/// The cluster every input starts from (built once: values copy cheaply).
let startingCluster: FuzzCluster = {
    var cluster = FuzzCluster()
    cluster.settle(for: .seconds(3))
    for node in 0..<3 { cluster.carry(cluster.nodes[node].acquire(cores: 2, now: cluster.now).1, from: node) }
    cluster.settle(for: .seconds(3))
    guard cluster.nodes.allSatisfy({ $0.licensing?.ownGrant?.cores == 2 }) else { fatalError("the starting cluster did not settle") }
    return cluster
}()

struct FuzzCluster {
    var nodes: [ClusterNode]
    var now = Instant(nanoseconds: 1_000_000_000)
    var wall: Int64 = 1_800_000_000
    var mail: [(message: Message, from: Int, to: Int)] = []
    /// Deliveries and timer rounds left to this input: bounds the cost of an input that starts an
    /// election storm, so the fuzzer keeps its pace (the simulator's catalogue checks where storms end).
    var budget = Int.max

    init() {
        let addresses = (0..<3).map { Address("n\($0)") }
        let members = (0..<3).map { index in
            Member(id: NodeID(UInt64(index + 1)), address: addresses[index], incarnation: 0, state: .alive,
                   metadata: NodeAdvert(mac: UInt64(index + 1), licenseID: "FUZZ", licenseValid: true,
                                        lineage: licensingTerms.lineage, life: 1).metadata)
        }
        nodes = (0..<3).map { index in
            let licensing = try! LicensingNode(id: NodeID(UInt64(index + 1)), mac: UInt64(index + 1), terms: licensingTerms,
                                               licenseValid: true, life: 1)
            let swim = try! SWIMInstance(id: NodeID(UInt64(index + 1)), address: addresses[index], metadata: members[index].metadata,
                                         settings: .local, seed: UInt64(index + 7))
            return ClusterNode(swim: swim, licensing: licensing)
        }
        for index in 0..<3 {
            var node = nodes[index]
            let output = node.bootstrap(members: members, now: now)
            nodes[index] = node
            carry(output, from: index)
            carry(nodes[index].observeWallClock(unixSeconds: wall, now: now), from: index)
        }
    }

    /// Queues what a node sent to the others (datagrams and stream messages alike, in order).
    mutating func carry(_ output: ClusterNode.Output, from node: Int) {
        for directive in output.directives {
            switch directive {
            case .send(let message, let address):
                if let to = Int(address.rawValue.dropFirst()), (0..<3).contains(to) { mail.append((message, node, to)) }
            case .pushPull(let state, let address):
                if let to = Int(address.rawValue.dropFirst()), (0..<3).contains(to) { mail.append((.pushPullRequest(state), node, to)) }
            default:
                break
            }
        }
    }

    /// Delivers queued mail (bounded) and runs due timers until `duration` has passed. The nodes'
    /// own messages go straight across (the envelope is FuzzWire's and this target's own inputs' job).
    mutating func settle(for duration: Duration) {
        let end = now + duration
        while budget > 0 {
            budget -= 1
            if !mail.isEmpty {
                let (message, from, to) = mail.removeFirst()
                let channel: Channel = message.kind == .pushPullRequest || message.kind == .pushPullResponse ? .stream : .datagram
                carry(nodes[to].receive(message, from: Address("n\(from)"), over: channel, now: now), from: to)
                continue
            }
            let due = nodes.map(\.nextDeadline).min() ?? .distantFuture
            guard due <= end else { break }
            now = max(now, due)
            for index in 0..<3 where nodes[index].nextDeadline <= now { carry(nodes[index].tick(now: now), from: index) }
        }
        now = max(now, end)
    }

    /// A message made by the fuzzer, through the sealed envelope, as an agent receives it.
    mutating func deliver(_ message: Message, from: Int, to: Int, claimedAddress: Address? = nil) {
        // Sealed and opened as between two agents (a fresh envelope session: the script may repeat itself).
        let sealer = PacketCodec(cluster: nodeCluster, security: .encrypted(Keyring(primary: nodeKey)),
                                 session: EnvelopeSession(sender: EnvelopeSender(id: NodeID(UInt64(from + 1)), boot: 1)))
        guard let sealed = try? sealer.seal(message), let opened = try? sealer.open(sealed) else { return }
        let channel: Channel = opened.kind == .pushPullRequest || opened.kind == .pushPullResponse ? .stream : .datagram
        carry(nodes[to].receive(opened, from: claimedAddress ?? Address("n\(from)"), over: channel, now: now), from: to)
    }
}

/// Reads the input as a script.
struct Script {
    var bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    mutating func byte() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }
    mutating func chunk() -> [UInt8]? {
        guard let length = byte() else { return nil }
        let end = min(bytes.count, index + Int(length) * 4)
        defer { index = end }
        return Array(bytes[index..<end])
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNode(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var cluster = startingCluster
    cluster.budget = 1_500
    var script = Script(bytes: UnsafeBufferPointer(start: data, count: size))
    while let op = script.byte() {
        let target = Int(op >> 5) % 3
        switch op & 0x7 {
        case 0, 1:
            // A membership message made from the bytes (any well-formed one), under any claimed sender.
            guard let bytes = script.chunk() else { break }
            let header: [UInt8] = [0x4C, 0x4D, 0x01] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: nodeCluster.rawValue >> $0) }
            guard let message = try? plainCodec.decode(header + bytes) else { break }
            cluster.deliver(message, from: Int(op >> 3) % 3, to: target, claimedAddress: op & 1 == 1 ? Address("n\(target)") : nil)
        case 2, 3:
            // A licensing message made from the bytes, from a member or a stranger.
            guard let bytes = script.chunk(), let licensing = LicensingCodec.decode(bytes), let who = script.byte() else { break }
            let source = who < 200 ? NodeID(UInt64(who % 3 + 1)) : NodeID(UInt64(who))
            cluster.deliver(.app(AppMessage(source: source, bytes: LicensingCodec.encode(licensing))), from: Int(who % 3), to: target)
        case 4:
            // Time passes: up to 2.5 s a step, so a few steps cover a probe round, a lease, a grace period.
            guard let step = script.byte() else { break }
            cluster.settle(for: .milliseconds(Int64(step) * 10))
        case 5:
            guard let skew = script.byte() else { break }
            cluster.wall += Int64(Int8(bitPattern: skew)) * 86_400
            cluster.carry(cluster.nodes[target].observeWallClock(unixSeconds: cluster.wall, now: cluster.now), from: target)
        case 6:
            guard let cores = script.byte() else { break }
            cluster.carry(cluster.nodes[target].acquire(cores: Int(cores) - 10, now: cluster.now).1, from: target)
        default:
            cluster.carry(cluster.nodes[target].release(now: cluster.now).1, from: target)
        }
    }
    cluster.settle(for: .milliseconds(300))
    for node in cluster.nodes {
        guard node.swim.myself.incarnation < Member.maximumIncarnation else { fatalError("incarnation at the ceiling") }
        guard let licensing = node.licensing else { continue }
        guard (licensing.ownGrant?.cores ?? 0) <= licensingTerms.maxCores else { fatalError("a node holds more than the license allows") }
        guard licensing.epoch.round < Epoch.maximumRound else { fatalError("epoch at the last round") }
    }
    return 0
}
