import Testing
import Crypto

@Suite struct SHA256Tests {
    @Test func abcKnownAnswer() {
        // FIPS 180-2 appendix B.1.
        #expect(SHA256.hash(Array("abc".utf8)) == hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
    }

    @Test func emptyInputKnownAnswer() {
        #expect(SHA256.hash([UInt8]()) == hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test func twoBlockKnownAnswer() {
        // FIPS 180-2 appendix B.2 (448-bit message, two blocks after padding).
        let message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA256.hash(Array(message.utf8)) == hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"))
    }

    @Test func nonContiguousCollectionsHashLikeArrays() {
        let bytes = Array("the quick brown fox".utf8)
        let viaSequence = SHA256.hash(bytes.lazy.map { $0 })
        #expect(viaSequence == SHA256.hash(bytes))
        #expect(SHA256.hash(bytes[4...]) == SHA256.hash(Array(bytes[4...])))
        #expect(SHA256.hash(bytes).count == 32)
    }
}
