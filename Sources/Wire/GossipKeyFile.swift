#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import SmallFiles

/// A gossip key file: the base64 of 32 random bytes on one line (what `licmesh keygen-gossip`
/// writes). Surrounding whitespace is ignored; anything else is an error that says how to fix it.
public enum GossipKeyFile {
    /// No key file is larger than this; a bigger file is the wrong file.
    static let maximumFileSize = 1_024

    /// The file's text for `key`: base64 and a newline.
    public static func contents(of key: SymmetricKey) -> String {
        Data(key.bytes).base64EncodedString() + "\n"
    }

    public static func load(_ path: String) throws(GossipKeyFileError) -> SymmetricKey {
        try parse(try readSmallFile(path), path: path)
    }

    /// Parses a key file's contents; `path` only names the file in errors.
    public static func parse(_ contents: [UInt8], path: String) throws(GossipKeyFileError) -> SymmetricKey {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = contents.firstIndex(where: { !isSpace($0) }),
              let last = contents.lastIndex(where: { !isSpace($0) }) else {
            throw GossipKeyFileError(path: path, problem: "is empty")
        }
        let text = contents[first...last]
        guard let data = Data(base64Encoded: Data(text)) else {
            throw GossipKeyFileError(path: path, problem: "is not one line of base64")
        }
        guard let key = try? SymmetricKey(bytes: Array(data)) else {
            throw GossipKeyFileError(path: path, problem: "holds \(data.count) bytes, but a gossip key is \(SymmetricKey.byteCount) bytes (44 base64 characters)")
        }
        return key
    }

    private static func readSmallFile(_ path: String) throws(GossipKeyFileError) -> [UInt8] {
        do {
            return try SmallFile.read(path: path, limit: maximumFileSize)
        } catch {
            if error.limit != nil {
                throw GossipKeyFileError(path: path, problem: "is larger than \(maximumFileSize) bytes, so it is not a gossip key file")
            }
            let verb = error.action == "open" ? "opened" : "read"
            throw GossipKeyFileError(path: path, problem: "cannot be \(verb): \(error.systemText)")
        }
    }
}

/// A key file that could not be used, with the fix.
public struct GossipKeyFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String {
        "gossip key file '\(path)' \(problem); make a key with 'licmesh keygen-gossip --out FILE'"
    }
}
