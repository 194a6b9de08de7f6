import Crypto
import SWIM

/// The envelope of every file in the data directory:
///
///     magic "LMDF" | format version (u16) | kind (u8) | cluster name length (u8) | cluster name
///     | node ID (u64) | payload length (u32) | payload | SHA-256 of everything before it (32 bytes)
///
/// Integers are big-endian. The cluster name and node ID say whose file it is: a data directory
/// copied from another host, or reused for another cluster, is recognised and never trusted. The
/// checksum catches torn writes that the atomic rename should already prevent, disk corruption and
/// hand edits.
enum DataFileFormat {
    static let magic: [UInt8] = Array("LMDF".utf8)
    static let version: UInt16 = 1
    /// magic + version + kind + name length + node ID + payload length.
    static let fixedHeaderSize = 4 + 2 + 1 + 1 + 8 + 4
    static let checksumSize = SHA256.digestLength

    typealias Kind = DataFileKind

    static func encode(kind: Kind, clusterName: String, nodeID: NodeID, payload: [UInt8]) -> [UInt8] {
        let name = Array(clusterName.utf8.prefix(255))
        var out = magic
        out.appendDataFileInteger(UInt64(version), bytes: 2)
        out.append(kind.rawValue)
        out.append(UInt8(name.count))
        out += name
        out.appendDataFileInteger(nodeID.rawValue, bytes: 8)
        out.appendDataFileInteger(UInt64(payload.count), bytes: 4)
        out += payload
        out += SHA256.hash(out)
        return out
    }

    /// The payload of a file that is intact, of `kind`, and belongs to this cluster and node.
    /// Checks run from the outside in, so a damaged file is called damaged rather than foreign.
    static func decode(_ bytes: [UInt8], kind: Kind, clusterName: String, nodeID: NodeID) -> Result<[UInt8], DataFileProblem> {
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            return .failure(bytes.isEmpty ? .truncated(size: 0, expected: nil) : .notADataFile)
        }
        guard bytes.count >= fixedHeaderSize else { return .failure(.truncated(size: bytes.count, expected: nil)) }
        var reader = PayloadReader(bytes)
        reader.skip(magic.count)
        let fileVersion = UInt16(reader.bigEndian(bytes: 2) ?? 0)
        guard fileVersion == version else { return .failure(.unsupportedVersion(fileVersion)) }
        let fileKind = reader.byte() ?? 0
        let nameLength = Int(reader.byte() ?? 0)
        guard let nameBytes = reader.bytes(nameLength), let fileNode = reader.bigEndian(bytes: 8),
              let payloadLength = reader.bigEndian(bytes: 4) else {
            return .failure(.truncated(size: bytes.count, expected: nil))
        }
        let headerSize = fixedHeaderSize + nameLength
        let expected = headerSize + Int(payloadLength) + checksumSize
        guard bytes.count >= expected else { return .failure(.truncated(size: bytes.count, expected: expected)) }
        guard bytes.count == expected else { return .failure(.trailingBytes(size: bytes.count, expected: expected)) }
        guard SHA256.hash(bytes[..<(expected - checksumSize)]) == Array(bytes[(expected - checksumSize)...]) else {
            return .failure(.checksumMismatch)
        }
        guard fileKind == kind.rawValue else { return .failure(.wrongKind(found: fileKind, expected: kind)) }
        let fileCluster = String(decoding: nameBytes, as: UTF8.self)
        guard fileCluster == clusterName else { return .failure(.otherCluster(fileCluster, ours: clusterName)) }
        guard fileNode == nodeID.rawValue else { return .failure(.otherNode(NodeID(fileNode), ours: nodeID)) }
        return .success(Array(bytes[headerSize..<(headerSize + Int(payloadLength))]))
    }
}

/// What a data file holds; each kind has its own file name in the data directory.
enum DataFileKind: UInt8, Hashable, Sendable, CustomStringConvertible {
    case boot = 1, ledger = 2, ownGrant = 3, freshness = 4

    public var fileName: String {
        switch self {
        case .boot: "boot.dat"
        case .ledger: "ledger.dat"
        case .ownGrant: "own-grant.dat"
        case .freshness: "freshness.dat"
        }
    }

    public var description: String {
        switch self {
        case .boot: "boot record"
        case .ledger: "ledger snapshot"
        case .ownGrant: "own grant"
        case .freshness: "envelope freshness record"
        }
    }
}

/// Why a data file was not trusted.
enum DataFileProblem: Error, Hashable, Sendable, CustomStringConvertible {
    case notADataFile
    case truncated(size: Int, expected: Int?)
    case trailingBytes(size: Int, expected: Int)
    case unsupportedVersion(UInt16)
    case checksumMismatch
    case wrongKind(found: UInt8, expected: DataFileKind)
    case otherCluster(String, ours: String)
    case otherNode(NodeID, ours: NodeID)
    case malformedPayload(String)
    case tooLarge(limit: Int)
    case notAFile

    /// Another cluster's or node's file: intact, but not ours.
    public var isForeign: Bool {
        switch self {
        case .otherCluster, .otherNode: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .notADataFile: "is not a LicenseMesh data file (wrong magic bytes)"
        case .truncated(let size, let expected?): "is truncated (\(size) bytes, expected \(expected))"
        case .truncated(let size, nil): "is truncated (\(size) bytes, shorter than its header)"
        case .trailingBytes(let size, let expected): "has \(size - expected) unexpected bytes after its end"
        case .unsupportedVersion(let version): "has format version \(version), which this agent does not read (it writes version \(DataFileFormat.version))"
        case .checksumMismatch: "is corrupt (its SHA-256 checksum does not match its contents)"
        case .wrongKind(let found, let expected): "holds data of kind \(found), not a \(expected)"
        case .otherCluster(let name, let ours):
            "belongs to cluster '\(quotedConfigText(name))', but this agent is in cluster '\(quotedConfigText(ours))'"
        case .otherNode(let node, let ours):
            "belongs to node \(node), but this agent is node \(ours) (was the data directory copied from another host?)"
        case .malformedPayload(let reason): "has an intact envelope but unreadable contents (\(reason))"
        case .tooLarge(let limit): "is larger than \(limit) bytes"
        case .notAFile: "is not a regular file"
        }
    }
}

// MARK: - Byte helpers

extension Array where Element == UInt8 {
    mutating func appendDataFileInteger(_ value: UInt64, bytes count: Int) {
        for index in stride(from: count - 1, through: 0, by: -1) {
            append(UInt8(truncatingIfNeeded: value >> (UInt64(index) * 8)))
        }
    }
}

/// Reads big-endian integers and byte runs; nil when the input ends first (never traps).
struct PayloadReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func skip(_ count: Int) { offset = Swift.min(bytes.count, offset + count) }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bigEndian(bytes count: Int) -> UInt64? {
        guard count <= 8, remaining >= count else { return nil }
        var value: UInt64 = 0
        for _ in 0..<count { value = value << 8 | UInt64(bytes[offset]); offset += 1 }
        return value
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }
}
