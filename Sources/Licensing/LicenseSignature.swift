import Crypto

/// A license together with the exact payload bytes that were signed and the vendor's signature.
///
/// Only `sign` and the parsers make one, so `license` always is what `payload` says. Whether the
/// signature is the vendor's is a separate question, answered by `LicenseVerifier`.
public struct SignedLicense: Hashable, Sendable {
    public let license: License
    public let payload: [UInt8]
    public let signature: [UInt8]

    /// Signed bytes are prefixed with this context so that a vendor signature over a license can never
    /// be mistaken for a signature over anything else that key might sign.
    static let signingContext = Array("LicenseMesh license\u{0}".utf8)

    private init(license: License, payload: [UInt8], signature: [UInt8]) {
        self.license = license
        self.payload = payload
        self.signature = signature
    }

    /// Signs the canonical payload of `license` with the vendor's private key.
    public static func sign(_ license: License, with key: Ed25519PrivateKey) throws(LicenseError) -> SignedLicense {
        let payload = license.canonicalPayload
        do {
            let signature = try key.signature(for: signingContext + payload)
            return SignedLicense(license: license, payload: payload, signature: signature)
        } catch {
            throw .signingFailed(reason: error.description)
        }
    }

    /// Parses an armored license file (does not check the signature).
    public init(armored file: [UInt8]) throws(LicenseError) {
        let (payload, signature) = try LicenseArmor.decode(file)
        self.init(license: try LicensePayload.decode(payload), payload: payload, signature: signature)
    }

    public init(armored text: String) throws(LicenseError) {
        try self.init(armored: Array(text.utf8))
    }

    /// The armored text to write to a license file.
    public var armored: String { LicenseArmor.encode(self) }

    /// True when `vendorKey` signed exactly these payload bytes.
    public func hasValidSignature(vendorKey: Ed25519PublicKey) -> Bool {
        vendorKey.isValidSignature(signature, for: Self.signingContext + payload)
    }
}
