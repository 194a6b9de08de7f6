import CCrypto

/// SHA-256 through libcrypto.
public enum SHA256 {
    public static let digestLength = 32

    /// The 32-byte digest of `data`.
    public static func hash<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 {
        if let digest = data.withContiguousStorageIfAvailable({ digestOf(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(data).withUnsafeBytes { digestOf($0) }
    }

    private static func digestOf(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: digestLength) { output, initialized in
            var length: UInt32 = 0
            var placeholder: UInt8 = 0
            let status = withUnsafeMutablePointer(to: &placeholder) { fallback in
                EVP_Digest(input.baseAddress ?? UnsafeRawPointer(fallback), input.count,
                           output.baseAddress, &length, Algorithms.sha256.pointer, nil)
            }
            // EVP_Digest fails only when memory allocation fails; there is no input to reject.
            guard status == 1, length == UInt32(digestLength) else {
                fatalError("\(OpenSSL.drainErrors("SHA-256 failed"))")
            }
            initialized = digestLength
        }
    }
}
