import Crypto
import SWIM

/// The first 4 bytes of SHA-256 of the cluster name, as sent in every header. Packets from a cluster
/// with another name are rejected before anything else is read, so two clusters sharing a network
/// (or a port range) never merge. It is a guard against configuration mistakes, not an authenticator:
/// encryption does that.
public struct ClusterHash: Hashable, Sendable, CustomStringConvertible {
    /// The 4 header bytes read as a big-endian integer.
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}

/// The 8-byte header every packet starts with, in clear even when the packet is sealed:
///
///     magic "LM" (0x4C 0x4D) | version (1) | cluster hash (4) | type
///
/// The type byte is `MessageKind.rawValue`, with its high bit (`sealedFlag`) set when the rest of
/// the packet is an encryption envelope.
public enum WireHeader {
    public static let magic: (UInt8, UInt8) = (0x4C, 0x4D)
    public static let version: UInt8 = 1
    public static let sealedFlag: UInt8 = 0x80

    /// What a header says, once its magic, version and cluster hash have been checked.
    struct Parsed {
        var kind: MessageKind
        var sealed: Bool
    }

    static func append(kind: MessageKind, sealed: Bool, cluster: ClusterHash, to out: inout [UInt8]) {
        out.append(magic.0)
        out.append(magic.1)
        out.append(version)
        out.appendBigEndian(cluster.rawValue)
        out.append(kind.rawValue | (sealed ? sealedFlag : 0))
    }

    /// Checks the header at the start of `bytes` against our cluster. Checks run in the order of the
    /// fields so that the error names the first thing wrong.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, cluster: ClusterHash) throws(WireError) -> Parsed {
        guard bytes.count >= 2 else { throw .truncated(offset: 0) }
        guard bytes[0] == magic.0, bytes[1] == magic.1 else { throw .badMagic }
        guard bytes.count >= WireSize.header else { throw .truncated(offset: 2) }
        guard bytes[2] == version else { throw .unsupportedVersion(bytes[2]) }
        let hash = UInt32(bytes[3]) << 24 | UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 8 | UInt32(bytes[6])
        guard hash == cluster.rawValue else { throw .wrongCluster }
        let type = bytes[7]
        guard let kind = MessageKind(rawValue: type & ~sealedFlag) else { throw .unknownType(type) }
        return Parsed(kind: kind, sealed: type & sealedFlag != 0)
    }
}

extension ClusterHash {
    /// The first 4 bytes of SHA-256 of the name's UTF-8 bytes.
    public init(clusterName: String) {
        let digest = SHA256.hash(Array(clusterName.utf8))
        self.init(rawValue: UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3]))
    }
}
