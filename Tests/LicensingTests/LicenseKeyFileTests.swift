import Testing
import Crypto
@testable import Licensing

@Suite struct LicenseKeyFileTests {
    @Test func keysRoundTripThroughTheirFiles() throws {
        let key = Ed25519PrivateKey.generate()
        let privateText = LicenseKeyFile.encode(privateKey: key)
        let publicText = LicenseKeyFile.encode(publicKey: key.publicKey)
        #expect(privateText.contains("-----BEGIN LICENSEMESH VENDOR PRIVATE KEY-----"))
        #expect(try LicenseKeyFile.decodePrivateKey(Array(privateText.utf8)).rawRepresentation == key.rawRepresentation)
        #expect(try LicenseKeyFile.decodePublicKey(Array(publicText.utf8)) == key.publicKey)
    }

    @Test func swappedFilesAreExplained() {
        let key = Fixture.vendorKey
        #expect {
            try LicenseKeyFile.decodePrivateKey(Array(LicenseKeyFile.encode(publicKey: key.publicKey).utf8), path: "k")
        } throws: { ($0 as? LicenseError)?.description.contains("this is the vendor PUBLIC key") == true }
        #expect {
            try LicenseKeyFile.decodePublicKey(Array(LicenseKeyFile.encode(privateKey: key).utf8), path: "p")
        } throws: { ($0 as? LicenseError)?.description.contains("this is the vendor PRIVATE key") == true }
    }

    @Test func damagedKeyFilesGiveClearErrors() {
        let good = LicenseKeyFile.encode(publicKey: Fixture.vendorKey.publicKey)
        let body = good.split(separator: "\n")[2]
        let cases: [(String, String)] = [
            ("", "no '-----BEGIN LICENSEMESH VENDOR PUBLIC KEY-----' line"),
            ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n", "OpenSSL PEM"),
            (good.replacingFirst("-----END LICENSEMESH VENDOR PUBLIC KEY-----\n", with: ""), "cut short"),
            (good.replacingFirst(String(body), with: "@@@@"), "not valid base64"),
            (good.replacingFirst(String(body), with: "AAAA"), "the key is 3 bytes"),
            (good + "junk\n", "unexpected text outside the key block"),
            (String(repeating: "A", count: 5000), "too large"),
        ]
        for (text, expected) in cases {
            #expect {
                try LicenseKeyFile.decodePublicKey(Array(text.utf8), path: "vendor.pub")
            } throws: { error in
                guard let error = error as? LicenseError, case .malformedKeyFile(path: "vendor.pub", _) = error else { return false }
                return error.description.contains(expected)
            }
        }
    }
}
