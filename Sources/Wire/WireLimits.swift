import SWIM

/// Every bound the decoder enforces before it allocates or loops on a length read from the wire.
///
/// Counts are checked twice: against the bound here and against what the bytes remaining could
/// possibly hold (count * smallest encoding), so an allocation never exceeds the input's own size.
public enum WireLimits {
    /// The largest plain message (header included): 16 MiB. Push-pull state is the only message
    /// that grows with the cluster; 16 MiB holds about 20,000 members with full metadata.
    public static let maximumMessageSize = 16 * 1024 * 1024
    /// The largest packet on the wire: the largest message plus the encryption envelope.
    public static let maximumPacketSize = maximumMessageSize + WireSize.encryptionOverhead

    /// Piggybacked updates per message. 8,192 smallest updates (payloads of 4 bytes, lefts of 10)
    /// exceed any UDP datagram, so a message the core built for UDP never hits this bound.
    public static let maximumPiggybackCount = 8_192
    /// Members in one push-pull state.
    public static let maximumMemberCount = 100_000
    /// Application payloads in one push-pull state.
    public static let maximumPayloadCount = 100_000

    public static let maximumAddressLength = Address.maximumLength
    public static let maximumMetadataLength = Member.maximumMetadataLength
    public static let maximumPayloadKeyLength = AppPayload.maximumKeyLength
    public static let maximumPayloadValueLength = AppPayload.maximumValueLength

    /// Smallest encodings, used to bound counts by the bytes remaining.
    /// A payload update: tag + empty key + version 0 + empty value.
    static let minimumGossipSize = 4
    /// id + empty address + incarnation 0 + state + empty metadata.
    static let minimumMemberSize = 12
    /// empty key + version 0 + empty value.
    static let minimumPayloadSize = 3

    /// Throws if any variable-length value in `message` exceeds its wire bound or the message
    /// exceeds `maximumMessageSize`. Such a message encodes, but every receiver would reject it,
    /// so a sender checks first and reports the bad value instead of being silently ignored.
    public static func check(_ message: Message) throws(WireError) {
        let size = WireSize.of(message)
        if size > maximumMessageSize { throw .tooLarge(size: size, limit: maximumMessageSize) }
        switch message {
        case .ping, .ack, .nack, .gossip:
            break
        case .pingReq(let m):
            try checkLength(.address, m.targetAddress.rawValue.utf8.count, maximumAddressLength)
        case .app(let m):
            try checkLength(.appMessage, m.bytes.count, AppMessage.maximumLength)
        case .pushPullRequest(let state), .pushPullResponse(let state):
            try checkCount(.members, state.members.count, maximumMemberCount)
            try checkCount(.payloads, state.payloads.count, maximumPayloadCount)
            for member in state.members {
                try checkLength(.address, member.address.rawValue.utf8.count, maximumAddressLength)
                try checkLength(.metadata, member.metadata.count, maximumMetadataLength)
            }
            for payload in state.payloads { try check(payload) }
        }
        let piggyback = message.piggyback
        try checkCount(.piggyback, piggyback.count, maximumPiggybackCount)
        for gossip in piggyback {
            switch gossip {
            case .alive(_, _, let address, let metadata):
                try checkLength(.address, address.rawValue.utf8.count, maximumAddressLength)
                try checkLength(.metadata, metadata.count, maximumMetadataLength)
            case .suspect, .dead, .left:
                break
            case .payload(let payload):
                try check(payload)
            }
        }
    }

    private static func check(_ payload: AppPayload) throws(WireError) {
        try checkLength(.payloadKey, payload.key.utf8.count, maximumPayloadKeyLength)
        try checkLength(.payloadValue, payload.value.count, maximumPayloadValueLength)
    }

    private static func checkLength(_ field: WireField, _ length: Int, _ limit: Int) throws(WireError) {
        if length > limit { throw .lengthOutOfBounds(field, length: UInt64(length), limit: limit) }
    }

    private static func checkCount(_ field: WireField, _ count: Int, _ limit: Int) throws(WireError) {
        if count > limit { throw .countOutOfBounds(field, count: UInt64(count), limit: limit) }
    }
}
