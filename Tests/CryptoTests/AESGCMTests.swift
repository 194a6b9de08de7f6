import Testing
import Crypto

@Suite struct AESGCMTests {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, with AAD),
    // the vector NIST's GCM validation uses.
    let key = try! SymmetricKey(bytes: hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"))
    let nonce = hex("cafebabefacedbaddecaf888")
    let plaintext = hex("""
        d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
        1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39
        """)
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    let ciphertext = hex("""
        522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
        8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
        """)
    let tag = hex("76fc6ece0f4e1768cddf8853bb2d551b")

    @Test func sealMatchesKnownAnswer() throws {
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: aad)
        #expect(sealed.ciphertext == ciphertext)
        #expect(sealed.tag == tag)
    }

    @Test func openMatchesKnownAnswer() throws {
        #expect(try AESGCM.open(ciphertext, tag: tag, key: key, nonce: nonce, authenticating: aad) == plaintext)
    }

    @Test func zeroKeyKnownAnswers() throws {
        // Test cases 13 (empty plaintext) and 14 (one zero block) of the same paper.
        let zeroKey = try SymmetricKey(bytes: [UInt8](repeating: 0, count: 32))
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let empty = try AESGCM.seal([], key: zeroKey, nonce: zeroNonce, authenticating: [])
        #expect(empty.ciphertext.isEmpty)
        #expect(empty.tag == hex("530f8afbc74536b9a963b4f1c4cb738b"))
        let block = try AESGCM.seal([UInt8](repeating: 0, count: 16), key: zeroKey, nonce: zeroNonce, authenticating: [])
        #expect(block.ciphertext == hex("cea7403d4d606b6e074ec5d3baf39d18"))
        #expect(block.tag == hex("d0d1c8a799996bf0265b98b5d48ab919"))
        #expect(try AESGCM.open([], tag: empty.tag, key: zeroKey, nonce: zeroNonce, authenticating: []) == [])
    }

    @Test(arguments: [0, 1, 15, 16, 17, 1400, 65_000])
    func roundTripsAtManySizes(size: Int) throws {
        let key = SymmetricKey.random()
        let nonce = SecureRandom.bytes(12)
        let message = SecureRandom.bytes(size)
        let header = SecureRandom.bytes(size % 40)
        let sealed = try AESGCM.seal(message, key: key, nonce: nonce, authenticating: header)
        #expect(sealed.ciphertext.count == size)
        #expect(sealed.tag.count == 16)
        #expect(try AESGCM.open(sealed.ciphertext, tag: sealed.tag, key: key, nonce: nonce, authenticating: header) == message)
    }

    @Test func wrongKeyFails() {
        let other = try! SymmetricKey(bytes: hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308309"))
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(ciphertext, tag: tag, key: other, nonce: nonce, authenticating: aad)
        }
    }

    @Test func flippedCiphertextBitFails() {
        for index in [0, ciphertext.count / 2, ciphertext.count - 1] {
            var altered = ciphertext
            altered[index] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) {
                try AESGCM.open(altered, tag: tag, key: key, nonce: nonce, authenticating: aad)
            }
        }
    }

    @Test func flippedTagBitFails() {
        for index in 0..<tag.count {
            var altered = tag
            altered[index] ^= 0x80
            #expect(throws: CryptoError.authenticationFailed) {
                try AESGCM.open(ciphertext, tag: altered, key: key, nonce: nonce, authenticating: aad)
            }
        }
    }

    @Test func wrongAADFails() {
        var altered = aad
        altered[3] ^= 0x10
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(ciphertext, tag: tag, key: key, nonce: nonce, authenticating: altered)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(ciphertext, tag: tag, key: key, nonce: nonce, authenticating: [])
        }
    }

    @Test func wrongNonceFails() {
        var altered = nonce
        altered[11] ^= 0x01
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(ciphertext, tag: tag, key: key, nonce: altered, authenticating: aad)
        }
    }

    @Test func truncatedOrOverlongTagFails() {
        for length in [0, 4, 8, 12, 15] {
            #expect(throws: CryptoError.authenticationFailed) {
                try AESGCM.open(ciphertext, tag: Array(tag.prefix(length)), key: key, nonce: nonce, authenticating: aad)
            }
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(ciphertext, tag: tag + [0], key: key, nonce: nonce, authenticating: aad)
        }
    }

    @Test func truncatedCiphertextFails() {
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(Array(ciphertext.dropLast()), tag: tag, key: key, nonce: nonce, authenticating: aad)
        }
    }

    @Test func badNonceLengthsRejected() {
        for length in [0, 8, 11, 13, 16] {
            let badNonce = [UInt8](repeating: 1, count: length)
            #expect(throws: CryptoError.invalidNonceLength) {
                try AESGCM.seal(plaintext, key: key, nonce: badNonce, authenticating: aad)
            }
            #expect(throws: CryptoError.invalidNonceLength) {
                try AESGCM.open(ciphertext, tag: tag, key: key, nonce: badNonce, authenticating: aad)
            }
        }
    }
}
