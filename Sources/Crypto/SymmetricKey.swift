/// A 256-bit key for AES-256-GCM.
public struct SymmetricKey: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 32

    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidKeyLength(expected: Self.byteCount, got: bytes.count)
        }
        self.bytes = bytes
    }

    /// A fresh key from the secure random generator.
    public static func random() -> SymmetricKey {
        SymmetricKey(unchecked: SecureRandom.bytes(byteCount))
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Never prints key material (keys end up in logs through string interpolation otherwise).
    public var description: String { "SymmetricKey(256 bits, redacted)" }
}
