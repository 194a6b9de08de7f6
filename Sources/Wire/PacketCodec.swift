import Crypto
import SWIM
import Synchronization

/// What the runtime sends and receives: a message in its packet form, sealed with AES-256-GCM or
/// plain as configured. Thread-safe: one instance per agent serves its UDP loop and its streams.
///
/// A sealed packet is the 8-byte header in clear with `WireHeader.sealedFlag` set in the type byte
/// (authenticated as associated data), a random 12-byte nonce, the encrypted envelope stamp
/// (`EnvelopeStamp`: sender, boot, counter) and body, and the 16-byte tag: exactly
/// `WireSize.encryptionOverhead` (52) bytes more than the plain packet.
public final class PacketCodec: Sendable {
    public let codec: WireCodec
    public let security: GossipSecurity
    /// This agent's envelope identity and what it has accepted (shared by the codecs of its keyrings).
    public let session: EnvelopeSession

    public init(cluster: ClusterHash, security: GossipSecurity, session: EnvelopeSession = EnvelopeSession(sender: .anonymous(unixMicroseconds: WallTime.unixMicroseconds()))) {
        codec = WireCodec(cluster: cluster)
        self.security = security
        self.session = session
    }

    public convenience init(clusterName: String, security: GossipSecurity, session: EnvelopeSession = EnvelopeSession(sender: .anonymous(unixMicroseconds: WallTime.unixMicroseconds()))) {
        self.init(cluster: ClusterHash(clusterName: clusterName), security: security, session: session)
    }

    /// The same cluster and session with another keyring (a key rotation): counters and everything
    /// accepted so far carry over, so the rotation reopens no replay.
    public func replacingKeyring(_ keyring: Keyring) -> PacketCodec {
        PacketCodec(cluster: codec.cluster, security: .encrypted(keyring), session: session)
    }

    /// Bytes a packet gains over `WireSize.of(message)`: what the core's budget must leave free.
    public var overhead: Int {
        if case .encrypted = security { WireSize.encryptionOverhead } else { 0 }
    }

    /// The packet for `message`. Throws if a value exceeds its wire bound (every receiver would
    /// reject the packet; better the sender learns which) or if the crypto library fails.
    /// `channel` picks the counter the packet is numbered from: `.stream` for stream frames.
    public func seal(_ message: Message, over channel: EnvelopeChannel = .datagram) throws(WireError) -> [UInt8] {
        try WireLimits.check(message)
        guard case .encrypted(let keyring) = security else { return codec.encode(message) }

        var header: [UInt8] = []
        header.reserveCapacity(WireSize.header)
        WireHeader.append(kind: message.kind, sealed: true, cluster: codec.cluster, to: &header)
        let nonce = SecureRandom.bytes(AESGCM.nonceLength)
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(EnvelopeStamp.size + WireSize.of(message) - WireSize.header)
        session.nextStamp(channel).append(to: &plaintext)
        plaintext += codec.encodeBody(message)
        let sealed: (ciphertext: [UInt8], tag: [UInt8])
        do {
            sealed = try AESGCM.seal(plaintext, key: keyring.primary, nonce: nonce, authenticating: header)
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
    /// version, cluster, type), sealed-or-plain against our mode, authentication, freshness (the
    /// envelope stamp against what this receiver accepted before), body.
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
        let nonce = Array(packet[nonceStart..<ciphertextStart])
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
        guard let stamp = EnvelopeStamp(plaintext[...]) else { throw .truncated(offset: ciphertextStart) }
        switch session.admit(stamp) {
        case .fresh: break
        case .replayed: throw .replayed
        case .earlierLife(let newest): throw .earlierLife(sender: stamp.sender, boot: stamp.boot, newest: newest)
        }
        return try codec.decodeBody(header.kind, Array(plaintext[EnvelopeStamp.size...]))
    }

    /// A stream frame holding the packet for `message` (see `StreamFrame`).
    public func frame(_ message: Message) throws(WireError) -> [UInt8] {
        try StreamFrame.frame(seal(message, over: .stream))
    }
}
