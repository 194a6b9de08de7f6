import SWIM

/// Bytes of licensing messages (inside SWIM application messages, which `Wire` encrypts).
/// Decoding is total: malformed bytes give nil and are dropped by the caller.
public enum LicensingCodec {
    /// Grants per promise part: 50 * at most 27 bytes stays under one application message.
    public static let grantsPerPart = 40
    static let maximumParts = 4096
    /// The same bound as a license's limit and the local API's: a request the API accepts fits the wire.
    static let maximumCores = Int(Int32.max)
    /// Seconds since 1970 up to the year 9999 (a license's range).
    static let maximumTime = 253_402_300_799
    /// A ledger's total: every node at the limit, for as many nodes as a license can list.
    static let maximumCoresInUse = maximumCores * 4096

    public static func encode(_ message: LicensingMessage) -> [UInt8] {
        var w = Writer()
        switch message {
        case .acquire(let requestID, let life, let basis, let cores, let mac, let held):
            w.byte(1); w.varint(requestID); w.varint(life); w.u64(basis.rawValue); w.varint(UInt64(max(0, cores))); w.varint(mac)
            if let held { w.byte(1); w.grant(held) } else { w.byte(0) }
        case .release(let requestID, let life, let basis):
            w.byte(2); w.varint(requestID); w.varint(life); w.u64(basis.rawValue)
        case .reply(let requestID, let outcome):
            w.byte(3); w.varint(requestID)
            switch outcome {
            case .granted(let grant): w.byte(1); w.grant(grant)
            case .released(let grant): w.byte(2); w.grant(grant)
            case .notAuthority(let authority):
                w.byte(3)
                if let authority { w.byte(1); w.u64(authority.rawValue) } else { w.byte(0) }
            case .stale(let current):
                w.byte(5)
                if let current { w.byte(1); w.grant(current) } else { w.byte(0) }
            case .refused(let refusal):
                w.byte(4)
                switch refusal {
                case .cpuLimitExhausted(let limit, let inUse, let requested, let holders):
                    w.byte(1); w.varint(UInt64(limit)); w.varint(UInt64(inUse)); w.varint(UInt64(requested))
                    let shown = holders.prefix(grantsPerPart)
                    w.varint(UInt64(shown.count)); for grant in shown { w.grant(grant) }
                case .macNotListed(let mac): w.byte(2); w.varint(mac)
                case .noQuorum(let reached, let needed): w.byte(3); w.varint(UInt64(reached)); w.varint(UInt64(needed))
                case .invalidRequest(let reason): w.byte(4); w.string(reason, atMostBytes: 200)
                case .notLicensed(let reason): w.byte(5); w.string(reason, atMostBytes: 200)
                case .notAMember: w.byte(6)
                }
            }
        case .propose(let epoch):
            w.byte(4); w.varint(UInt64(epoch.rawValue))
        case .promise(let epoch, let part, let of, let grants):
            w.byte(5); w.varint(UInt64(epoch.rawValue)); w.varint(UInt64(part)); w.varint(UInt64(of))
            w.varint(UInt64(grants.count)); for grant in grants { w.grant(grant) }
        case .reject(let epoch, let promised):
            w.byte(6); w.varint(UInt64(epoch.rawValue)); w.varint(UInt64(promised.rawValue))
        case .replicate(let epoch, let grant):
            w.byte(7); w.varint(UInt64(epoch.rawValue)); w.grant(grant)
        case .replicated(let epoch, let stamp):
            w.byte(8); w.varint(UInt64(epoch.rawValue)); w.u64(stamp.rawValue)
        case .heartbeat(let epoch, let beat, let time):
            w.byte(9); w.varint(UInt64(epoch.rawValue)); w.varint(UInt64(beat)); w.varint(UInt64(max(0, time)))
        case .heartbeatAck(let epoch, let beat, let time):
            w.byte(10); w.varint(UInt64(epoch.rawValue)); w.varint(UInt64(beat)); w.varint(UInt64(max(0, time)))
        case .pull(let since, let held):
            w.byte(11); w.u64(since.rawValue)
            if let held, held.bits.count <= HeldSequences.maximumBytes {
                w.byte(1); w.varint(UInt64(held.epoch.rawValue)); w.varint(UInt64(held.first))
                w.varint(UInt64(held.bits.count)); w.bytes += held.bits
            } else {
                w.byte(0)
            }
        case .entries(let part):
            w.byte(12); w.u64(part.from.rawValue); w.u64(part.through.rawValue)
            w.byte((part.isLast ? 1 : 0) | (part.hasMore ? 2 : 0))
            let grants = part.grants.prefix(grantsPerPart)
            w.varint(UInt64(grants.count)); for grant in grants { w.grant(grant) }
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> LicensingMessage? {
        var r = Reader(bytes)
        guard let message = decodeMessage(&r), r.atEnd else { return nil }
        return message
    }

    private static func decodeMessage(_ r: inout Reader) -> LicensingMessage? {
        switch r.byte() {
        case 1:
            guard let id = r.varint(), let life = r.varint(), let basis = r.u64(), let cores = r.count(max: maximumCores),
                  let mac = r.varint(), mac < 1 << 48, let flag = r.byte(), flag <= 1 else { return nil }
            var held: Grant?
            if flag == 1 { guard let grant = r.grant() else { return nil }; held = grant }
            return .acquire(requestID: id, life: life, basis: Stamp(rawValue: basis), cores: cores, mac: mac, held: held)
        case 2:
            guard let id = r.varint(), let life = r.varint(), let basis = r.u64() else { return nil }
            return .release(requestID: id, life: life, basis: Stamp(rawValue: basis))
        case 3:
            guard let id = r.varint(), let outcome = decodeOutcome(&r) else { return nil }
            return .reply(requestID: id, outcome: outcome)
        case 4:
            return r.epoch().map { .propose($0) }
        case 5:
            guard let epoch = r.epoch(), let part = r.count(max: maximumParts), let of = r.count(max: maximumParts),
                  part < of, let n = r.count(max: grantsPerPart) else { return nil }
            var grants: [Grant] = []
            for _ in 0..<n { guard let grant = r.grant() else { return nil }; grants.append(grant) }
            return .promise(epoch, part: part, of: of, grants: grants)
        case 6:
            guard let epoch = r.epoch(), let promised = r.epoch() else { return nil }
            return .reject(epoch, promised: promised)
        case 7:
            guard let epoch = r.epoch(), let grant = r.grant() else { return nil }
            return .replicate(epoch, grant)
        case 8:
            guard let epoch = r.epoch(), let stamp = r.u64() else { return nil }
            return .replicated(epoch, Stamp(rawValue: stamp))
        case 9:
            guard let epoch = r.epoch(), let beat = r.count(max: Int(UInt32.max)), let time = r.count(max: maximumTime) else { return nil }
            return .heartbeat(epoch, beat: UInt32(beat), time: Int64(time))
        case 10:
            guard let epoch = r.epoch(), let beat = r.count(max: Int(UInt32.max)), let time = r.count(max: maximumTime) else { return nil }
            return .heartbeatAck(epoch, beat: UInt32(beat), time: Int64(time))
        case 11:
            guard let since = r.u64(), let flag = r.byte(), flag <= 1 else { return nil }
            guard flag == 1 else { return .pull(since: Stamp(rawValue: since), held: nil) }
            guard let epoch = r.epoch(), let first = r.count(max: Int(UInt32.max)), let n = r.count(max: HeldSequences.maximumBytes),
                  let bits = r.take(n) else { return nil }
            return .pull(since: Stamp(rawValue: since), held: HeldSequences(epoch: epoch, first: UInt32(first), bits: bits))
        case 12:
            guard let from = r.u64(), let through = r.u64(), let flags = r.byte(), flags <= 3,
                  let n = r.count(max: grantsPerPart) else { return nil }
            var grants: [Grant] = []
            for _ in 0..<n { guard let grant = r.grant() else { return nil }; grants.append(grant) }
            return .entries(LedgerEntries(from: Stamp(rawValue: from), through: Stamp(rawValue: through),
                                          isLast: flags & 1 != 0, hasMore: flags & 2 != 0, grants: grants))
        default:
            return nil
        }
    }

    private static func decodeOutcome(_ r: inout Reader) -> LicensingMessage.Outcome? {
        switch r.byte() {
        case 1: return r.grant().map { .granted($0) }
        case 2: return r.grant().map { .released($0) }
        case 3:
            switch r.byte() {
            case 0: return .notAuthority(authority: nil)
            case 1: return r.u64().map { .notAuthority(authority: NodeID($0)) }
            default: return nil
            }
        case 5:
            switch r.byte() {
            case 0: return .stale(current: nil)
            case 1: return r.grant().map { .stale(current: $0) }
            default: return nil
            }
        case 4:
            switch r.byte() {
            case 1:
                guard let limit = r.count(max: maximumCores), let inUse = r.count(max: maximumCoresInUse),
                      let requested = r.count(max: maximumCores), let n = r.count(max: grantsPerPart) else { return nil }
                var holders: [Grant] = []
                for _ in 0..<n { guard let grant = r.grant() else { return nil }; holders.append(grant) }
                return .refused(.cpuLimitExhausted(limit: limit, inUse: inUse, requested: requested, holders: holders))
            case 2:
                guard let mac = r.varint(), mac < 1 << 48 else { return nil }
                return .refused(.macNotListed(mac: mac))
            case 3:
                guard let reached = r.count(max: 255), let needed = r.count(max: 255) else { return nil }
                return .refused(.noQuorum(reached: reached, needed: needed))
            case 4:
                return r.string(max: 200).map { .refused(.invalidRequest($0)) }
            case 5:
                return r.string(max: 200).map { .refused(.notLicensed($0)) }
            case 6:
                return .refused(.notAMember)
            default: return nil
            }
        default: return nil
        }
    }

    private struct Writer {
        var bytes: [UInt8] = []
        mutating func byte(_ b: UInt8) { bytes.append(b) }
        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func u64(_ value: UInt64) {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        mutating func grant(_ grant: Grant) {
            u64(grant.node.rawValue); varint(UInt64(max(0, grant.cores))); u64(grant.stamp.rawValue)
        }
        /// The longest whole-character prefix of `s` that fits `limit` UTF-8 bytes (the decoder's bound).
        mutating func string(_ s: String, atMostBytes limit: Int) {
            var u: [UInt8] = []
            for character in s {
                let encoded = Array(character.utf8)
                guard u.count + encoded.count <= limit else { break }
                u += encoded
            }
            varint(UInt64(u.count)); bytes += u
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }
        mutating func byte() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }
        mutating func varint() -> UInt64? {
            var result: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard let b = byte() else { return nil }
                if shift == 63 && b > 1 { return nil }
                result |= UInt64(b & 0x7F) << UInt64(shift)
                if b & 0x80 == 0 { return result }
            }
            return nil
        }
        mutating func count(max: Int) -> Int? {
            guard let v = varint(), v <= UInt64(max) else { return nil }
            return Int(v)
        }
        mutating func u64() -> UInt64? {
            guard bytes.count - index >= 8 else { return nil }
            var v: UInt64 = 0
            for _ in 0..<8 { v = v << 8 | UInt64(bytes[index]); index += 1 }
            return v
        }
        mutating func epoch() -> Epoch? {
            guard let v = varint(), v <= UInt64(UInt32.max) else { return nil }
            return Epoch(rawValue: UInt32(v))
        }
        mutating func grant() -> Grant? {
            guard let node = u64(), let cores = count(max: maximumCores), let stamp = u64() else { return nil }
            return Grant(node: NodeID(node), cores: cores, stamp: Stamp(rawValue: stamp))
        }
        mutating func take(_ n: Int) -> [UInt8]? {
            guard bytes.count - index >= n else { return nil }
            defer { index += n }
            return Array(bytes[index..<index + n])
        }
        mutating func string(max: Int) -> String? {
            guard let n = count(max: max), bytes.count - index >= n else { return nil }
            defer { index += n }
            return String(validating: bytes[index..<index + n], as: UTF8.self)
        }
    }
}
