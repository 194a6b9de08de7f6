import Crypto

/// The gossip keys of one node: `primary` seals everything sent; every key in `accepted` (the
/// primary first) may open what is received. To rotate without downtime: add the new key as
/// accepted everywhere, then make it primary everywhere, then drop the old one.
public struct Keyring: Sendable {
    public let primary: SymmetricKey
    /// Keys tried, in order, on every sealed packet received. Starts with `primary`; no duplicates.
    public let accepted: [SymmetricKey]

    public init(primary: SymmetricKey, alsoAccepting others: [SymmetricKey] = []) {
        self.primary = primary
        var keys = [primary]
        for key in others where !keys.contains(key) { keys.append(key) }
        accepted = keys
    }

    /// Reads the primary key and any additional accepted keys from key files (see `GossipKeyFile`).
    public static func load(primaryFile: String, acceptedFiles: [String] = []) throws(GossipKeyFileError) -> Keyring {
        let primary = try GossipKeyFile.load(primaryFile)
        var others: [SymmetricKey] = []
        for path in acceptedFiles { others.append(try GossipKeyFile.load(path)) }
        return Keyring(primary: primary, alsoAccepting: others)
    }
}

/// Whether packets are sealed. Plain mode exists for tests and trusted lab networks and must be
/// chosen explicitly: there is no default.
public enum GossipSecurity: Sendable {
    case plain
    case encrypted(Keyring)
}
