import CCrypto

/// Helpers shared by the wrappers: error text from OpenSSL's queue, non-null pointers for empty
/// buffers, and algorithm handles fetched once.
enum OpenSSL {
    /// Drains this thread's OpenSSL error queue into one readable line, so a failure never leaves
    /// stale errors behind for the next unrelated call to report.
    static func drainErrors(_ context: String) -> CryptoError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
        return .openssl(messages.isEmpty ? context : "\(context): \(messages.joined(separator: "; "))")
    }

    /// Forgets queued errors after a failure that we report ourselves (e.g. a bad GCM tag).
    static func clearErrors() { ERR_clear_error() }
}

/// A libcrypto algorithm object fetched once and shared. Fetched EVP_CIPHER/EVP_MD objects are
/// immutable and reference counted, so concurrent use from many threads is what OpenSSL intends;
/// fetching once avoids OpenSSL 3's per-call implicit fetch (a lock and a table lookup) on the
/// per-packet path.
struct SharedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer
}

enum Algorithms {
    static let aes256GCM: SharedAlgorithm = {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            fatalError("libcrypto has no AES-256-GCM; the OpenSSL installation is broken")
        }
        return SharedAlgorithm(pointer: cipher)
    }()

    static let sha256: SharedAlgorithm = {
        guard let digest = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("libcrypto has no SHA-256; the OpenSSL installation is broken")
        }
        return SharedAlgorithm(pointer: digest)
    }()
}

/// Calls `body` with a pointer that is never nil, even for an empty array: some libcrypto
/// entry points treat a null input pointer differently from an empty one.
@inline(__always)
func withNonNullBytes<R, E: Error>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) throws(E) -> R) throws(E) -> R {
    if bytes.isEmpty {
        var placeholder: UInt8 = 0
        return try withUnsafePointer(to: &placeholder) { (pointer) throws(E) -> R in try body(pointer, 0) }
    }
    return try bytes.withUnsafeBufferPointer { (buffer) throws(E) -> R in try body(buffer.baseAddress!, buffer.count) }
}
