import Licensing
import SWIM
import Wire

/// How many times this node has started, and the highest SWIM incarnation any of its lives used.
struct BootRecord: Hashable, Sendable {
    /// 1 on the first start.
    public var boot: UInt64
    /// No earlier life of this node announced an incarnation above this.
    public var incarnationFloor: UInt64

    public init(boot: UInt64, incarnationFloor: UInt64) {
        self.boot = boot
        self.incarnationFloor = incarnationFloor
    }

    var payload: [UInt8] {
        var out: [UInt8] = []
        out.appendDataFileInteger(boot, bytes: 8)
        out.appendDataFileInteger(incarnationFloor, bytes: 8)
        return out
    }

    init(payload: [UInt8]) throws(DataFileProblem) {
        var reader = PayloadReader(payload)
        guard let boot = reader.bigEndian(bytes: 8), let floor = reader.bigEndian(bytes: 8), reader.isAtEnd else {
            throw .malformedPayload("a boot record is 16 bytes, this one is \(payload.count)")
        }
        self.init(boot: boot, incarnationFloor: floor)
    }
}

/// The last ledger this node knew, so that a restarted node (or a whole cluster restarted at once)
/// starts from its grants and epoch instead of from nothing. Replicas merge by stamp, so a stale
/// snapshot can never override newer grants learnt from the cluster.
struct LedgerSnapshot: Hashable, Sendable {
    public var ledger: Ledger
    public var epoch: Epoch
    public var authority: NodeID?
    /// The highest epoch this node promised to a candidate (never below `epoch`). A server must never
    /// promise an older epoch again, even after a restart, so the promise is durable too.
    public var promised: Epoch
    /// When it was saved, seconds since 1970 (for the log: "ledger from 3 minutes ago").
    public var savedAt: Int64

    static let promiseTag: UInt8 = 1

    /// More grants than any license has hosts means the file is not what we wrote.
    public static let maximumGrants = License.maximumHosts * 4

    public init(ledger: Ledger, epoch: Epoch, authority: NodeID?, promised: Epoch? = nil, savedAt: Int64) {
        self.ledger = ledger
        self.epoch = epoch
        self.authority = authority
        self.promised = max(promised ?? epoch, epoch)
        self.savedAt = savedAt
    }

    var payload: [UInt8] {
        var out: [UInt8] = []
        out.appendDataFileInteger(UInt64(epoch.rawValue), bytes: 4)
        out.append(authority == nil ? 0 : 1)
        out.appendDataFileInteger(authority?.rawValue ?? 0, bytes: 8)
        out.appendDataFileInteger(UInt64(bitPattern: savedAt), bytes: 8)
        let grants = ledger.grants.values.sorted { $0.node < $1.node }.prefix(Self.maximumGrants)
        out.appendDataFileInteger(UInt64(grants.count), bytes: 4)
        for grant in grants { grant.appendRecord(to: &out) }
        // An extension added after the first release, tagged so that a file without it (read as
        // "promised = epoch") is told apart from a damaged one: tag 1, then the promised epoch.
        out.append(Self.promiseTag)
        out.appendDataFileInteger(UInt64(promised.rawValue), bytes: 4)
        return out
    }

    init(payload: [UInt8]) throws(DataFileProblem) {
        var reader = PayloadReader(payload)
        guard let epoch = reader.bigEndian(bytes: 4), let hasAuthority = reader.byte(), hasAuthority <= 1,
              let authority = reader.bigEndian(bytes: 8), let savedAt = reader.bigEndian(bytes: 8),
              let count = reader.bigEndian(bytes: 4) else {
            throw .malformedPayload("the ledger snapshot header is incomplete")
        }
        let grantBytes = Int(clamping: count) &* Grant.recordSize
        guard count <= UInt64(Self.maximumGrants), reader.remaining == grantBytes || reader.remaining == grantBytes + 5 else {
            throw .malformedPayload("it claims \(count) grants but holds \(reader.remaining) bytes of them")
        }
        var grants: [Grant] = []
        for _ in 0..<count { grants.append(try Grant(reading: &reader)) }
        guard Set(grants.map(\.node)).count == grants.count else { throw .malformedPayload("a node appears twice") }
        var promised: Epoch?
        if let tag = reader.byte() {
            guard tag == Self.promiseTag, let raw = reader.bigEndian(bytes: 4) else { throw .malformedPayload("unknown extension \(tag) after the grants") }
            guard raw >= epoch else { throw .malformedPayload("the promised epoch is below the ledger's epoch") }
            promised = Epoch(rawValue: UInt32(raw))
        }
        self.init(ledger: Ledger(grants), epoch: Epoch(rawValue: UInt32(epoch)), authority: hasAuthority == 1 ? NodeID(authority) : nil,
                  promised: promised, savedAt: Int64(bitPattern: savedAt))
    }
}

extension Grant {
    /// node (8) | cores (4) | stamp (8)
    static let recordSize = 20

    func appendRecord(to out: inout [UInt8]) {
        out.appendDataFileInteger(node.rawValue, bytes: 8)
        out.appendDataFileInteger(UInt64(UInt32(clamping: max(0, cores))), bytes: 4)
        out.appendDataFileInteger(stamp.rawValue, bytes: 8)
    }

    init(reading reader: inout PayloadReader) throws(DataFileProblem) {
        guard let node = reader.bigEndian(bytes: 8), let cores = reader.bigEndian(bytes: 4), let stamp = reader.bigEndian(bytes: 8) else {
            throw .malformedPayload("a grant record is incomplete")
        }
        guard cores <= UInt64(License.maximumCores) else { throw .malformedPayload("a grant of \(cores) cores exceeds any license") }
        self.init(node: NodeID(node), cores: Int(cores), stamp: Stamp(rawValue: stamp))
    }

    init(ownPayload payload: [UInt8], node expected: NodeID) throws(DataFileProblem) {
        var reader = PayloadReader(payload)
        try self.init(reading: &reader)
        guard reader.isAtEnd else { throw .malformedPayload("an own-grant record is \(Grant.recordSize) bytes, this one is \(payload.count)") }
        guard node == expected else { throw .malformedPayload("the grant is for node \(node), not this node \(expected)") }
    }
}

/// This node's envelope boot and, per sender, what it accepted (`FreshnessTable.floors`): a restarted
/// agent seals above its earlier lives and rejects every packet its previous life accepted.
struct FreshnessRecord: Hashable, Sendable {
    public var ownBoot: UInt64
    public var floors: [SenderFloor]
    /// Far above any cluster, far below the data file limit (32 bytes a floor).
    static let maximumFloors = 65_536

    public init(ownBoot: UInt64, floors: [SenderFloor]) {
        self.ownBoot = ownBoot
        self.floors = floors
    }

    var payload: [UInt8] {
        var out: [UInt8] = []
        out.appendDataFileInteger(ownBoot, bytes: 8)
        let kept = floors.prefix(Self.maximumFloors)
        out.appendDataFileInteger(UInt64(kept.count), bytes: 4)
        for floor in kept {
            for value in [floor.sender.rawValue, floor.boot, floor.datagrams, floor.streams] { out.appendDataFileInteger(value, bytes: 8) }
        }
        return out
    }

    init(payload: [UInt8]) throws(DataFileProblem) {
        var reader = PayloadReader(payload)
        guard let ownBoot = reader.bigEndian(bytes: 8), let count = reader.bigEndian(bytes: 4), count <= UInt64(Self.maximumFloors),
              payload.count == 12 + Int(count) * 32 else {
            throw .malformedPayload("an envelope freshness record is 12 bytes and 32 per sender; this one is \(payload.count)")
        }
        var floors: [SenderFloor] = []
        for _ in 0..<count {
            guard let sender = reader.bigEndian(bytes: 8), let boot = reader.bigEndian(bytes: 8),
                  let datagrams = reader.bigEndian(bytes: 8), let streams = reader.bigEndian(bytes: 8) else {
                throw .malformedPayload("an envelope freshness record ends inside a sender's floor")
            }
            floors.append(SenderFloor(sender: NodeID(sender), boot: boot, datagrams: datagrams, streams: streams))
        }
        self.init(ownBoot: ownBoot, floors: floors)
    }
}
