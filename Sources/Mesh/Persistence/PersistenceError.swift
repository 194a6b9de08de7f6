/// The data directory cannot be used. Unlike a damaged file (which is set aside and the agent starts
/// without it), these stop the agent: running without durable state would break the promise that a
/// restarted node comes back above its previous life.
public struct PersistenceError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case cannotCreate, notADirectory, notWritable, inUse, readFailed, writeFailed, invalidOwner
    }

    public var kind: Kind
    public var path: String
    /// What went wrong, e.g. "cannot create 'x': Permission denied (EACCES)".
    public var detail: String
    public var fix: String

    public init(_ kind: Kind, path: String, detail: String, fix: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
        self.fix = fix
    }

    public var description: String { "data directory '\(quotedConfigText(path, limit: 200))': \(detail); \(fix)" }

    static func ownershipFix(_ path: String) -> String {
        "give the directory to the agent's user (e.g. chown licmesh: \(path); chmod 700 \(path)), or set dataDir to a directory it can write"
    }
}
