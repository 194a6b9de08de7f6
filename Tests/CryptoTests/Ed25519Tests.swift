import Testing
import Crypto

@Suite struct Ed25519Tests {
    // RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
    struct Vector: Sendable { var secret: String; var publicKey: String; var message: String; var signature: String }
    static let vectors = [
        Vector(secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
               publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
               message: "",
               signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        Vector(secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
               publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
               message: "72",
               signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ]

    @Test(arguments: vectors)
    func rfc8032KnownAnswers(vector: Vector) throws {
        let key = try Ed25519PrivateKey(rawRepresentation: hex(vector.secret))
        #expect(key.publicKey.rawRepresentation == hex(vector.publicKey))
        let signature = try key.signature(for: hex(vector.message))
        #expect(signature == hex(vector.signature))
        let publicKey = try Ed25519PublicKey(rawRepresentation: hex(vector.publicKey))
        #expect(publicKey.isValidSignature(hex(vector.signature), for: hex(vector.message)))
    }

    @Test func generatedKeysSignAndVerify() throws {
        let key = Ed25519PrivateKey.generate()
        let message = Array("license payload".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        // The raw seed rebuilds the same key.
        let rebuilt = try Ed25519PrivateKey(rawRepresentation: key.rawRepresentation)
        #expect(rebuilt.publicKey == key.publicKey)
        #expect(try rebuilt.signature(for: message) == signature)
    }

    @Test func alteredMessageSignatureOrKeyFails() throws {
        let key = Ed25519PrivateKey.generate()
        let message = Array("maxCores=64".utf8)
        let signature = try key.signature(for: message)
        var alteredMessage = message
        alteredMessage[alteredMessage.count - 1] ^= 0x01
        #expect(!key.publicKey.isValidSignature(signature, for: alteredMessage))
        for index in [0, 31, 32, 63] {
            var alteredSignature = signature
            alteredSignature[index] ^= 0x04
            #expect(!key.publicKey.isValidSignature(alteredSignature, for: message))
        }
        #expect(!Ed25519PrivateKey.generate().publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(Array(signature.dropLast()), for: message))
        #expect(!key.publicKey.isValidSignature(signature + [0], for: message))
        #expect(!key.publicKey.isValidSignature([], for: message))
    }

    @Test(arguments: [0, 31, 33, 64])
    func badKeyLengthsRejected(length: Int) {
        let bytes = [UInt8](repeating: 9, count: length)
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, got: length)) {
            try Ed25519PrivateKey(rawRepresentation: bytes)
        }
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, got: length)) {
            try Ed25519PublicKey(rawRepresentation: bytes)
        }
    }

    @Test func privateKeyDescriptionHidesTheSeed() throws {
        let key = try Ed25519PrivateKey(rawRepresentation: hex(Self.vectors[0].secret))
        let text = "\(key)"
        #expect(!text.contains("9d61b19d"))
        #expect(text.contains("d75a9801"))
    }
}
