import Testing
import Crypto

@Suite struct SymmetricKeyTests {
    @Test(arguments: [0, 16, 24, 31, 33, 64])
    func badLengthsRejected(length: Int) {
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, got: length)) {
            try SymmetricKey(bytes: [UInt8](repeating: 7, count: length))
        }
    }

    @Test func acceptsThirtyTwoBytes() throws {
        let bytes = [UInt8](0..<32)
        #expect(try SymmetricKey(bytes: bytes).bytes == bytes)
    }

    @Test func randomKeysDifferAndNeverPrintTheirBytes() {
        let first = SymmetricKey.random()
        let second = SymmetricKey.random()
        #expect(first.bytes.count == 32)
        #expect(first != second)
        #expect("\(first)".contains("redacted"))
    }

    @Test func errorDescriptionsExplain() {
        #expect(CryptoError.invalidKeyLength(expected: 32, got: 5).description.contains("expected 32 bytes, got 5"))
        #expect(CryptoError.authenticationFailed.description.contains("altered"))
    }
}

@Suite struct SecureRandomTests {
    @Test func bytesHaveRequestedLengthAndVary() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32)
        let b = SecureRandom.bytes(32)
        #expect(a.count == 32)
        // Equal 256-bit outputs would mean a broken generator (probability 2^-256 otherwise).
        #expect(a != b)
    }

    @Test func uint64Varies() {
        let values = Set((0..<16).map { _ in SecureRandom.uint64() })
        #expect(values.count == 16)
    }
}
