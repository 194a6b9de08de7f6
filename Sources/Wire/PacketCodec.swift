import Crypto
import SWIM
import Synchronization

/// What the runtime sends and receives: a message in its packet form, sealed with AES-256-GCM or
/// plain as configured. Thread-safe: one instance per agent serves its UDP loop and its streams.
///
/// A sealed packet is the 8-byte header in clear with `WireHeader.sealedFlag` set in the type byte
/// (authenticated as associated data), a random 12-byte nonce, the encrypted body and the 16-byte
/// tag: exactly `WireSize.encryptionOverhead` (28) bytes more than the plain packet.
public final class PacketCodec: Sendable {
    public let codec: WireCodec
    public let security: GossipSecurity
    private let replays: Mutex<ReplayWindow>

    public init(cluster: ClusterHash, security: GossipSecurity, replayWindow: Int = ReplayWindow.defaultCapacity) {
        codec = WireCodec(cluster: cluster)
        self.security = security
        replays = Mutex(ReplayWindow(capacity: replayWindow))
    }

    public convenience init(clusterName: String, security: GossipSecurity, replayWindow: Int = ReplayWindow.defaultCapacity) {
        self.init(cluster: ClusterHash(clusterName: clusterName), security: security, replayWindow: replayWindow)
    }

    /// Bytes a packet gains over `WireSize.of(message)`: what the core's budget must leave free.
    public var overhead: Int {
        if case .encrypted = security { WireSize.encryptionOverhead } else { 0 }
    }

    /// The packet for `message`. Throws if a value exceeds its wire bound (every receiver would
    /// reject the packet; better the sender learns which) or if the crypto library fails.
    public func seal(_ message: Message) throws(WireError) -> [UInt8] {
        try WireLimits.check(message)
        guard case .encrypted(let keyring) = security else { return codec.encode(message) }

        var header: [UInt8] = []
        header.reserveCapacity(WireSize.header)
        WireHeader.append(kind: message.kind, sealed: true, cluster: codec.cluster, to: &header)
        let nonce = SecureRandom.bytes(AESGCM.nonceLength)
        let sealed: (ciphertext: [UInt8], tag: [UInt8])
        do {
            sealed = try AESGCM.seal(codec.encodeBody(message), key: keyring.primary, nonce: nonce, authenticating: header)
        } catch {
            throw .sealingFailed
        }
        var packet = header
        packet.reserveCapacity(WireSize.of(message) + WireSize.encryptionOverhead)
        packet += nonce
        packet += sealed.ciphertext
        packet += sealed.tag
        return packet
    }

    public func open(_ packet: [UInt8]) throws(WireError) -> Message {
        try packet.withUnsafeBufferPointer { (buffer) throws(WireError) -> Message in try open(buffer) }
    }

    public func open(_ packet: ArraySlice<UInt8>) throws(WireError) -> Message {
        try packet.withUnsafeBufferPointer { (buffer) throws(WireError) -> Message in try open(buffer) }
    }

    /// The message in `packet`, or why it was rejected. Order of checks: size, header (magic,
    /// version, cluster, type), sealed-or-plain against our mode, authentication, replay, body.
    public func open(_ packet: UnsafeBufferPointer<UInt8>) throws(WireError) -> Message {
        guard packet.count <= WireLimits.maximumPacketSize else {
            throw .tooLarge(size: packet.count, limit: WireLimits.maximumPacketSize)
        }
        let header = try WireHeader.parse(packet, cluster: codec.cluster)
        guard case .encrypted(let keyring) = security else {
            if header.sealed { throw .unexpectedEncryption }
            return try codec.decode(packet)
        }
        guard header.sealed else { throw .notEncrypted }

        let nonceStart = WireSize.header
        let ciphertextStart = nonceStart + AESGCM.nonceLength
        let tagStart = packet.count - AESGCM.tagLength
        guard tagStart >= ciphertextStart else { throw .truncated(offset: nonceStart) }
        let aad = Array(packet[0..<nonceStart])
        let nonceBytes = UnsafeBufferPointer(rebasing: packet[nonceStart..<ciphertextStart])
        let nonce = Array(nonceBytes)
        let ciphertext = Array(packet[ciphertextStart..<tagStart])
        let tag = Array(packet[tagStart...])

        var plaintext: [UInt8]?
        for key in keyring.accepted {
            if let opened = try? AESGCM.open(ciphertext, tag: tag, key: key, nonce: nonce, authenticating: aad) {
                plaintext = opened
                break
            }
        }
        guard let plaintext else { throw .authenticationFailed }
        guard replays.withLock({ $0.insert(nonceBytes) }) else { throw .replayed }
        return try codec.decodeBody(header.kind, plaintext)
    }

    /// A stream frame holding the packet for `message` (see `StreamFrame`).
    public func frame(_ message: Message) throws(WireError) -> [UInt8] {
        try StreamFrame.frame(seal(message))
    }
}
