import CCrypto

/// Cryptographically secure random bytes from OpenSSL's DRBG (seeded from the OS).
public enum SecureRandom {
    /// `count` random bytes. Traps only if the operating system's RNG is unusable, because nothing
    /// keyed or nonce'd can be made safely without it.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes: negative count")
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// A uniformly random 64-bit value (no allocation).
    public static func uint64() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { fill($0) }
        return value
    }

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var offset = 0
        // RAND_bytes takes an Int32 length; fill large buffers in chunks.
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, Int(Int32.max))
            let pointer = buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
            guard RAND_bytes(pointer, Int32(chunk)) == 1 else {
                fatalError("\(OpenSSL.drainErrors("RAND_bytes failed: the operating system's random number generator is unavailable"))")
            }
            offset += chunk
        }
    }
}
