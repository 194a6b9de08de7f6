import Crypto

/// Vendor key files: PEM-like armored base64 text holding the raw 32-byte Ed25519 key.
///
///     # LicenseMesh vendor private key (Ed25519). Keep it secret: whoever holds it can issue licenses.
///     -----BEGIN LICENSEMESH VENDOR PRIVATE KEY-----
///     <base64 of the 32-byte Ed25519 seed (RFC 8032 private key)>
///     -----END LICENSEMESH VENDOR PRIVATE KEY-----
///
///     # LicenseMesh vendor public key (Ed25519). Give it to customers: it verifies licenses.
///     -----BEGIN LICENSEMESH VENDOR PUBLIC KEY-----
///     <base64 of the 32-byte Ed25519 public key>
///     -----END LICENSEMESH VENDOR PUBLIC KEY-----
///
/// Lines starting with `#` and blank lines outside the block are ignored. These are not OpenSSL PEM
/// (no ASN.1 wrapping): the raw key is all a license needs, and the BEGIN line names the key's role
/// so that swapping the two files gives a clear error rather than a confusing one.
public enum LicenseKeyFile {
    /// Key files are tiny; anything larger is the wrong file.
    public static let maximumFileSize = 4096

    public static let privateKeyLabel = "LICENSEMESH VENDOR PRIVATE KEY"
    public static let publicKeyLabel = "LICENSEMESH VENDOR PUBLIC KEY"

    public static func encode(privateKey: Ed25519PrivateKey) -> String {
        "# LicenseMesh vendor private key (Ed25519). Keep it secret: whoever holds it can issue licenses.\n"
            + armor(label: privateKeyLabel, bytes: privateKey.rawRepresentation)
    }

    public static func encode(publicKey: Ed25519PublicKey) -> String {
        "# LicenseMesh vendor public key (Ed25519). Give it to customers: it verifies licenses.\n"
            + armor(label: publicKeyLabel, bytes: publicKey.rawRepresentation)
    }

    public static func decodePrivateKey(_ text: [UInt8], path: String = "<input>") throws(LicenseError) -> Ed25519PrivateKey {
        let raw = try dearmor(text, label: privateKeyLabel, other: publicKeyLabel, path: path,
                              swapHint: "this is the vendor PUBLIC key; signing needs the private key (vendor.key)")
        do {
            return try Ed25519PrivateKey(rawRepresentation: raw)
        } catch {
            throw .malformedKeyFile(path: path, reason: error.description)
        }
    }

    public static func decodePublicKey(_ text: [UInt8], path: String = "<input>") throws(LicenseError) -> Ed25519PublicKey {
        let raw = try dearmor(text, label: publicKeyLabel, other: privateKeyLabel, path: path,
                              swapHint: "this is the vendor PRIVATE key; verification needs the public key (vendor.pub), and the private key should never leave the vendor")
        do {
            return try Ed25519PublicKey(rawRepresentation: raw)
        } catch {
            throw .malformedKeyFile(path: path, reason: error.description)
        }
    }

    private static func armor(label: String, bytes: [UInt8]) -> String {
        "-----BEGIN \(label)-----\n\(Base64.encode(bytes))\n-----END \(label)-----\n"
    }

    private static func dearmor(_ text: [UInt8], label: String, other: String, path: String,
                                swapHint: String) throws(LicenseError) -> [UInt8] {
        guard text.count <= maximumFileSize else {
            throw .malformedKeyFile(path: path, reason: "it is \(text.count) bytes, too large for a key file")
        }
        let lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        guard let start = lines.firstIndex(of: begin) else {
            if lines.contains("-----BEGIN \(other)-----") { throw .malformedKeyFile(path: path, reason: swapHint) }
            if lines.contains(where: { $0.hasPrefix("-----BEGIN ") && ($0.contains("PRIVATE KEY") || $0.contains("PUBLIC KEY")) }) {
                throw .malformedKeyFile(path: path, reason: "this looks like an OpenSSL PEM key; use the files made by 'licmesh license keygen'")
            }
            throw .malformedKeyFile(path: path, reason: "no '\(begin)' line; use the files made by 'licmesh license keygen'")
        }
        guard let stop = lines[start...].firstIndex(of: end) else {
            throw .malformedKeyFile(path: path, reason: "no '\(end)' line (the file is cut short)")
        }
        for (index, line) in lines.enumerated() where (index < start || index > stop)
            && !line.isEmpty && !line.hasPrefix("#") {
            throw .malformedKeyFile(path: path, reason: "line \(index + 1): unexpected text outside the key block")
        }
        let body = lines[(start + 1)..<stop].joined()
        guard let raw = Base64.decodeCanonical(Array(body.utf8)) else {
            throw .malformedKeyFile(path: path, reason: "the key block is not valid base64")
        }
        guard raw.count == Ed25519.keyLength else {
            throw .malformedKeyFile(path: path, reason: "the key is \(raw.count) bytes; an Ed25519 key is \(Ed25519.keyLength) bytes")
        }
        return raw
    }
}
