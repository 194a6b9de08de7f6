/// Why a cryptographic operation refused its input or failed.
///
/// Every case reads as a sentence for an operator: what was wrong and what to check.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// A key of the wrong size was supplied (AES-256 and Ed25519 keys are both 32 bytes).
    case invalidKeyLength(expected: Int, got: Int)
    /// AES-GCM nonces are exactly 12 bytes here.
    case invalidNonceLength
    /// The ciphertext, tag, key, nonce or associated data do not match: tampered or not ours.
    case authenticationFailed
    /// An Ed25519 signature is exactly 64 bytes.
    case invalidSignatureLength
    /// libcrypto reported an error; the text is OpenSSL's own.
    case openssl(String)

    public var description: String {
        switch self {
        case let .invalidKeyLength(expected, got):
            return "invalid key length: expected \(expected) bytes, got \(got); check that the key file or setting holds the whole key"
        case .invalidNonceLength:
            return "invalid nonce length: AES-GCM nonces must be \(AESGCM.nonceLength) bytes"
        case .authenticationFailed:
            return "authentication failed: the data was altered or was sealed with a different key"
        case .invalidSignatureLength:
            return "invalid signature length: Ed25519 signatures are \(Ed25519.signatureLength) bytes"
        case let .openssl(message):
            return "OpenSSL error: \(message)"
        }
    }
}
