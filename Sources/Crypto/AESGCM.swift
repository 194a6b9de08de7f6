import CCrypto

/// AES-256-GCM authenticated encryption: 12-byte nonce, 16-byte tag.
///
/// Called once per UDP packet, so each call allocates only its output (one array for the
/// ciphertext or plaintext, one for the tag) plus OpenSSL's cipher context, which is freed before
/// returning on every path. Nonce uniqueness per key is the caller's job: a repeated nonce under
/// one key breaks GCM.
public enum AESGCM {
    public static let nonceLength = 12
    public static let tagLength = 16
    /// libcrypto's update functions take an `int` length.
    public static let maximumInputLength = Int(Int32.max) - 64

    /// Encrypts `plaintext` and authenticates it together with `aad` (sent in the clear).
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8],
                            authenticating aad: [UInt8]) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard nonce.count == nonceLength else { throw .invalidNonceLength }
        guard plaintext.count <= maximumInputLength, aad.count <= maximumInputLength else {
            throw .openssl("AES-GCM input larger than \(maximumInputLength) bytes")
        }
        let context = try CipherContext(encrypting: true, key: key, nonce: nonce)
        defer { context.free() }
        try context.addAuthenticatedData(aad)

        var failure: CryptoError?
        let ciphertext = [UInt8](unsafeUninitializedCapacity: plaintext.count) { output, initialized in
            do throws(CryptoError) {
                try context.update(plaintext, into: output)
                try context.finish()
                initialized = plaintext.count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        let tag = try context.tag()
        return (ciphertext, tag)
    }

    /// Decrypts and verifies. Any change to ciphertext, tag, nonce or `aad`, a different key, or a tag
    /// that is not exactly 16 bytes gives `.authenticationFailed`; no plaintext is released then.
    public static func open(_ ciphertext: [UInt8], tag: [UInt8], key: SymmetricKey, nonce: [UInt8],
                            authenticating aad: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard nonce.count == nonceLength else { throw .invalidNonceLength }
        // A shorter tag would be accepted by OpenSSL with weaker security; we only take full tags.
        guard tag.count == tagLength else { throw .authenticationFailed }
        guard ciphertext.count <= maximumInputLength, aad.count <= maximumInputLength else {
            throw .authenticationFailed
        }
        let context = try CipherContext(encrypting: false, key: key, nonce: nonce)
        defer { context.free() }
        try context.addAuthenticatedData(aad)

        var failure: CryptoError?
        let plaintext = [UInt8](unsafeUninitializedCapacity: ciphertext.count) { output, initialized in
            do throws(CryptoError) {
                try context.update(ciphertext, into: output)
                try context.setExpectedTag(tag)
                try context.finish()
                initialized = ciphertext.count
            } catch {
                // Wipe whatever was decrypted before the tag check failed.
                if let base = output.baseAddress { base.update(repeating: 0, count: output.count) }
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return plaintext
    }
}

/// One EVP_CIPHER_CTX for one seal or open; `free()` must run on every path (callers `defer` it).
private struct CipherContext {
    let pointer: OpaquePointer
    let encrypting: Bool

    init(encrypting: Bool, key: SymmetricKey, nonce: [UInt8]) throws(CryptoError) {
        guard let pointer = EVP_CIPHER_CTX_new() else { throw OpenSSL.drainErrors("EVP_CIPHER_CTX_new failed") }
        self.pointer = pointer
        self.encrypting = encrypting
        // The default GCM IV length is 12, which is ours, so no IV-length control call is needed.
        let status = key.bytes.withUnsafeBufferPointer { keyBuffer in
            nonce.withUnsafeBufferPointer { nonceBuffer in
                EVP_CipherInit_ex2(pointer, Algorithms.aes256GCM.pointer, keyBuffer.baseAddress,
                                   nonceBuffer.baseAddress, encrypting ? 1 : 0, nil)
            }
        }
        guard status == 1 else {
            EVP_CIPHER_CTX_free(pointer)
            throw OpenSSL.drainErrors("AES-GCM initialisation failed")
        }
    }

    func free() { EVP_CIPHER_CTX_free(pointer) }

    func addAuthenticatedData(_ aad: [UInt8]) throws(CryptoError) {
        guard !aad.isEmpty else { return }
        var written: Int32 = 0
        // A null output pointer tells OpenSSL this input is associated data.
        let status = aad.withUnsafeBufferPointer {
            EVP_CipherUpdate(pointer, nil, &written, $0.baseAddress, Int32($0.count))
        }
        guard status == 1 else { throw failure("AES-GCM associated data") }
    }

    func update(_ input: [UInt8], into output: UnsafeMutableBufferPointer<UInt8>) throws(CryptoError) {
        guard !input.isEmpty else { return }
        var written: Int32 = 0
        let status = input.withUnsafeBufferPointer {
            EVP_CipherUpdate(pointer, output.baseAddress, &written, $0.baseAddress, Int32($0.count))
        }
        // GCM is a stream mode: every input byte comes out at once.
        guard status == 1, Int(written) == input.count else { throw failure("AES-GCM update") }
    }

    func setExpectedTag(_ tag: [UInt8]) throws(CryptoError) {
        var copy = tag
        let status = copy.withUnsafeMutableBytes {
            EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_GCM_SET_TAG, Int32($0.count), $0.baseAddress)
        }
        guard status == 1 else { throw failure("AES-GCM set tag") }
    }

    func finish() throws(CryptoError) {
        var written: Int32 = 0
        var scratch: UInt8 = 0
        let status = EVP_CipherFinal_ex(pointer, &scratch, &written)
        guard status == 1 else {
            if encrypting { throw OpenSSL.drainErrors("AES-GCM finalisation failed") }
            OpenSSL.clearErrors()
            throw .authenticationFailed
        }
    }

    func tag() throws(CryptoError) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: AESGCM.tagLength)
        let status = tag.withUnsafeMutableBytes {
            EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_GCM_GET_TAG, Int32(AESGCM.tagLength), $0.baseAddress)
        }
        guard status == 1 else { throw OpenSSL.drainErrors("AES-GCM get tag failed") }
        return tag
    }

    /// Decryption failures before the tag check are reported as authentication failures: the
    /// caller must not learn more than "this packet is not valid".
    private func failure(_ step: String) -> CryptoError {
        if encrypting { return OpenSSL.drainErrors("\(step) failed") }
        OpenSSL.clearErrors()
        return .authenticationFailed
    }
}
