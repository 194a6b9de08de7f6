import Crypto
import Licensing

// Reading license and key files: the file I/O around Licensing's pure parsers.

extension SignedLicense {
    /// Reads and parses a license file of at most `LicenseArmor.maximumFileSize` bytes.
    public static func load(path: String) throws(LicenseError) -> SignedLicense {
        let bytes = try LicenseFiles.read(path: path, limit: LicenseArmor.maximumFileSize, what: "license file")
        return try SignedLicense(armored: bytes)
    }
}

extension LicenseKeyFile {
    public static func loadPrivateKey(path: String) throws(LicenseError) -> Ed25519PrivateKey {
        try decodePrivateKey(LicenseFiles.read(path: path, limit: maximumFileSize, what: "vendor private key file"), path: path)
    }

    public static func loadPublicKey(path: String) throws(LicenseError) -> Ed25519PublicKey {
        try decodePublicKey(LicenseFiles.read(path: path, limit: maximumFileSize, what: "vendor public key file"), path: path)
    }
}
