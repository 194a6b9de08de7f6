import CCrypto

/// Ed25519 (RFC 8032) signatures through libcrypto's EVP_DigestSign / EVP_DigestVerify.
///
/// The key types hold only raw bytes, which keeps them trivially `Sendable`; an EVP_PKEY is built
/// for each operation and freed before returning. Signing licenses and verifying them are rare
/// operations, so the extra object per call costs nothing that matters.
public enum Ed25519 {
    public static let keyLength = 32
    public static let signatureLength = 64
}

public struct Ed25519PrivateKey: Sendable, CustomStringConvertible {
    /// The 32-byte seed (RFC 8032's private key).
    public let rawRepresentation: [UInt8]
    public let publicKey: Ed25519PublicKey

    public init(rawRepresentation: [UInt8]) throws(CryptoError) {
        guard rawRepresentation.count == Ed25519.keyLength else {
            throw .invalidKeyLength(expected: Ed25519.keyLength, got: rawRepresentation.count)
        }
        let key = try PKey(privateKey: rawRepresentation)
        defer { key.free() }
        let publicBytes = try key.rawPublicKey()
        self.rawRepresentation = rawRepresentation
        self.publicKey = try Ed25519PublicKey(rawRepresentation: publicBytes)
    }

    /// A new key from the secure random generator.
    public static func generate() -> Ed25519PrivateKey {
        do {
            return try Ed25519PrivateKey(rawRepresentation: SecureRandom.bytes(Ed25519.keyLength))
        } catch {
            // Any 32 bytes are a valid Ed25519 seed; failure here means libcrypto is broken.
            fatalError("Ed25519 key generation failed: \(error)")
        }
    }

    /// The 64-byte signature of `message`. Ed25519 is deterministic: the same key and message
    /// always give the same signature.
    public func signature(for message: [UInt8]) throws(CryptoError) -> [UInt8] {
        let key = try PKey(privateKey: rawRepresentation)
        defer { key.free() }
        guard let context = EVP_MD_CTX_new() else { throw OpenSSL.drainErrors("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key.pointer) == 1 else {
            throw OpenSSL.drainErrors("Ed25519 sign initialisation failed")
        }
        var signature = [UInt8](repeating: 0, count: Ed25519.signatureLength)
        var length = signature.count
        let status = withNonNullBytes(message) { bytes, count in
            EVP_DigestSign(context, &signature, &length, bytes, count)
        }
        guard status == 1, length == Ed25519.signatureLength else {
            throw OpenSSL.drainErrors("Ed25519 signing failed")
        }
        return signature
    }

    /// Never prints key material.
    public var description: String { "Ed25519PrivateKey(public: \(publicKey), private part redacted)" }
}

public struct Ed25519PublicKey: Sendable, Hashable, CustomStringConvertible {
    public let rawRepresentation: [UInt8]

    public init(rawRepresentation: [UInt8]) throws(CryptoError) {
        guard rawRepresentation.count == Ed25519.keyLength else {
            throw .invalidKeyLength(expected: Ed25519.keyLength, got: rawRepresentation.count)
        }
        // Let libcrypto check that it accepts the bytes as a key now, not at first use.
        let key = try PKey(publicKey: rawRepresentation)
        key.free()
        self.rawRepresentation = rawRepresentation
    }

    /// True only for a 64-byte signature made over exactly `message` by the matching private key.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == Ed25519.signatureLength else { return false }
        guard let key = try? PKey(publicKey: rawRepresentation) else { return false }
        defer { key.free() }
        guard let context = EVP_MD_CTX_new() else { OpenSSL.clearErrors(); return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key.pointer) == 1 else {
            OpenSSL.clearErrors()
            return false
        }
        let status = signature.withUnsafeBufferPointer { signatureBuffer in
            withNonNullBytes(message) { bytes, count in
                EVP_DigestVerify(context, signatureBuffer.baseAddress, signatureBuffer.count, bytes, count)
            }
        }
        if status != 1 { OpenSSL.clearErrors() }
        return status == 1
    }

    /// Hex, so that operators can compare keys by eye.
    public var description: String {
        "Ed25519PublicKey(" + rawRepresentation.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined() + ")"
    }
}

/// An EVP_PKEY for the length of one operation.
private struct PKey {
    let pointer: OpaquePointer

    init(privateKey raw: [UInt8]) throws(CryptoError) {
        guard let pointer = raw.withUnsafeBufferPointer({
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }) else { throw OpenSSL.drainErrors("libcrypto rejected the Ed25519 private key") }
        self.pointer = pointer
    }

    init(publicKey raw: [UInt8]) throws(CryptoError) {
        guard let pointer = raw.withUnsafeBufferPointer({
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }) else { throw OpenSSL.drainErrors("libcrypto rejected the Ed25519 public key") }
        self.pointer = pointer
    }

    func free() { EVP_PKEY_free(pointer) }

    func rawPublicKey() throws(CryptoError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Ed25519.keyLength)
        var length = bytes.count
        guard EVP_PKEY_get_raw_public_key(pointer, &bytes, &length) == 1, length == Ed25519.keyLength else {
            throw OpenSSL.drainErrors("could not derive the Ed25519 public key")
        }
        return bytes
    }
}
