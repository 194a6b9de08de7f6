import SWIM

/// Why a packet, frame or key was rejected. Decoding never traps: every byte string is either a
/// `Message` or one of these.
///
/// `kind` is a short stable label for counters ("decode errors by kind"); `description` is for logs.
public enum WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ended inside a field that starts at `offset` (or a length or count prefix there
    /// promises more than the bytes remaining).
    case truncated(offset: Int)
    /// The first two bytes are not the LicenseMesh magic: not our protocol at all.
    case badMagic
    /// A protocol version this build does not speak.
    case unsupportedVersion(UInt8)
    /// Another cluster's packet (its cluster-name hash differs): two clusters never merge.
    case wrongCluster
    /// The type byte names no message kind.
    case unknownType(UInt8)
    /// A piggybacked update's tag byte names no gossip kind.
    case unknownGossipTag(UInt8, offset: Int)
    /// A length prefix exceeds the field's fixed bound (`WireLimits`).
    case lengthOutOfBounds(WireField, length: UInt64, limit: Int)
    /// A count prefix exceeds the field's fixed bound (`WireLimits`).
    case countOutOfBounds(WireField, count: UInt64, limit: Int)
    /// A varint longer than 10 bytes, or not in its shortest form.
    case overlongVarint(offset: Int)
    /// A varint beyond 64 bits, or beyond its field's range (sequence numbers are 32-bit).
    case varintOverflow(offset: Int)
    /// A string field (address, payload key) that is not valid UTF-8.
    case invalidUTF8(WireField)
    /// A member state byte other than 0...3.
    case invalidState(UInt8)
    /// A boolean byte other than 0 or 1.
    case invalidFlag(UInt8)
    /// Bytes left over after a complete message.
    case trailingBytes(count: Int)
    /// A packet or frame beyond the format's size limit, or a value beyond its bound when sealing.
    case tooLarge(size: Int, limit: Int)
    /// A sealed packet no key of the keyring authenticates (wrong key, or tampered with).
    case authenticationFailed
    /// An authenticated packet this receiver accepted before, or older than its sender's window
    /// (`FreshnessTable`): a replay.
    case replayed
    /// An authenticated packet from an earlier life of its sender than one this receiver has seen: a
    /// replay from before the sender restarted (or the sender restarted with its clock set back and
    /// its data directory lost; see FORMAT.md, "Replays").
    case earlierLife(sender: NodeID, boot: UInt64, newest: UInt64)
    /// A plain packet arrived at a receiver that requires encryption.
    case notEncrypted
    /// A sealed packet arrived at a receiver configured for plain mode (no keys).
    case unexpectedEncryption
    /// The cryptographic library failed while sealing (not caused by input; see the log).
    case sealingFailed

    public var kind: Kind {
        switch self {
        case .truncated: .truncated
        case .badMagic: .badMagic
        case .unsupportedVersion: .unsupportedVersion
        case .wrongCluster: .wrongCluster
        case .unknownType: .unknownType
        case .unknownGossipTag: .unknownGossipTag
        case .lengthOutOfBounds: .lengthOutOfBounds
        case .countOutOfBounds: .countOutOfBounds
        case .overlongVarint: .overlongVarint
        case .varintOverflow: .varintOverflow
        case .invalidUTF8: .invalidUTF8
        case .invalidState: .invalidState
        case .invalidFlag: .invalidFlag
        case .trailingBytes: .trailingBytes
        case .tooLarge: .tooLarge
        case .authenticationFailed: .authenticationFailed
        case .replayed: .replayed
        case .earlierLife: .earlierLife
        case .notEncrypted: .notEncrypted
        case .unexpectedEncryption: .unexpectedEncryption
        case .sealingFailed: .sealingFailed
        }
    }

    /// Counter labels. Raw values are stable: dashboards key on them.
    public enum Kind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case truncated, badMagic, unsupportedVersion, wrongCluster, unknownType, unknownGossipTag
        case lengthOutOfBounds, countOutOfBounds, overlongVarint, varintOverflow, invalidUTF8
        case invalidState, invalidFlag, trailingBytes, tooLarge, authenticationFailed, replayed, earlierLife
        case notEncrypted, unexpectedEncryption, sealingFailed
        public var description: String { rawValue }
    }

    public var description: String {
        switch self {
        case .truncated(let offset): "packet truncated: a field at byte \(offset) runs past the end"
        case .badMagic: "not a LicenseMesh packet (bad magic bytes)"
        case .unsupportedVersion(let v): "unsupported protocol version \(v) (this build speaks \(WireHeader.version))"
        case .wrongCluster: "packet from another cluster (cluster-name hash differs); check that every agent uses the same cluster name"
        case .unknownType(let t): "unknown message type \(t)"
        case .unknownGossipTag(let tag, let offset): "unknown gossip tag \(tag) at byte \(offset)"
        case .lengthOutOfBounds(let field, let length, let limit): "\(field) length \(length) exceeds its bound \(limit)"
        case .countOutOfBounds(let field, let count, let limit): "\(field) count \(count) exceeds its bound \(limit)"
        case .overlongVarint(let offset): "varint at byte \(offset) is longer than 10 bytes or not in shortest form"
        case .varintOverflow(let offset): "varint at byte \(offset) overflows its field"
        case .invalidUTF8(let field): "\(field) is not valid UTF-8"
        case .invalidState(let s): "invalid member state \(s)"
        case .invalidFlag(let f): "invalid boolean byte \(f)"
        case .trailingBytes(let n): "\(n) trailing bytes after the message"
        case .tooLarge(let size, let limit): "\(size) bytes exceeds the limit of \(limit)"
        case .authenticationFailed: "packet failed authentication: sent with a key this node does not accept, or altered in transit"
        case .replayed: "replayed packet (its sender's envelope counter was accepted before, or is older than the window)"
        case .earlierLife(let sender, let boot, let newest):
            "packet from an earlier life of node \(sender) (boot \(boot), newest seen \(newest)): a replay, or that node restarted "
                + "with its clock set back and without its data directory; if so, restart it once its clock is right"
        case .notEncrypted: "plain packet received but this node requires encryption; configure the sender with the gossip key"
        case .unexpectedEncryption: "encrypted packet received but this node runs in plain mode; configure a gossip key here"
        case .sealingFailed: "the crypto library failed to encrypt a packet"
        }
    }
}

/// The field a length or count error is about, for error messages.
public enum WireField: String, Hashable, Sendable, CustomStringConvertible {
    case address, metadata, payloadKey, payloadValue, piggyback, members, payloads, appMessage
    public var description: String { rawValue }
}
