import SWIM
import Wire

/// Packets and bytes by message kind in both directions, for one channel (datagrams or streams).
public struct TrafficCounters: Hashable, Sendable {
    /// Indexed by `MessageKind.rawValue` (index 0 unused).
    public private(set) var packetsIn = [Int](repeating: 0, count: 9)
    public private(set) var bytesIn = [Int](repeating: 0, count: 9)
    public private(set) var packetsOut = [Int](repeating: 0, count: 9)
    public private(set) var bytesOut = [Int](repeating: 0, count: 9)

    public init() {}

    mutating func recordIn(_ kind: MessageKind, bytes: Int) {
        packetsIn[Int(kind.rawValue)] += 1
        bytesIn[Int(kind.rawValue)] += bytes
    }

    mutating func recordOut(_ kind: MessageKind, bytes: Int) {
        packetsOut[Int(kind.rawValue)] += 1
        bytesOut[Int(kind.rawValue)] += bytes
    }

    public func packetsIn(_ kind: MessageKind) -> Int { packetsIn[Int(kind.rawValue)] }
    public func bytesIn(_ kind: MessageKind) -> Int { bytesIn[Int(kind.rawValue)] }
    public func packetsOut(_ kind: MessageKind) -> Int { packetsOut[Int(kind.rawValue)] }
    public func bytesOut(_ kind: MessageKind) -> Int { bytesOut[Int(kind.rawValue)] }

    public var totalPacketsIn: Int { packetsIn.reduce(0, +) }
    public var totalBytesIn: Int { bytesIn.reduce(0, +) }
    public var totalPacketsOut: Int { packetsOut.reduce(0, +) }
    public var totalBytesOut: Int { bytesOut.reduce(0, +) }
}

/// A snapshot of an agent's counters. Everything counts up from the agent's start.
public struct AgentCounters: Hashable, Sendable {
    /// UDP datagrams accepted (decoded) and sent, with their sizes on the wire.
    public internal(set) var datagrams = TrafficCounters()
    /// Stream frames (push-pull, fallback pings) read and written, with their packet sizes.
    public internal(set) var streams = TrafficCounters()

    /// Packets and frames rejected by the codec, by reason (`authenticationFailed`, `wrongCluster`...).
    public internal(set) var decodeErrors: [WireError.Kind: Int] = [:]
    /// Datagrams larger than the packet budget, dropped unread.
    public internal(set) var oversizeDatagrams = 0
    /// Well-formed messages of a kind not allowed on their channel (a push-pull by UDP, a gossip on a
    /// stream), dropped.
    public internal(set) var misroutedMessages = 0
    /// Datagrams the kernel would not send (buffer full, unreachable, bad address...).
    public internal(set) var sendFailures = 0
    /// Messages that could not be sealed or exceeded the packet budget, never sent (a bug or an
    /// application message too large; the log says which).
    public internal(set) var unsendableMessages = 0

    /// Connections accepted and served by a worker.
    public internal(set) var streamsAccepted = 0
    /// Connections closed at once because `maximumIncomingStreams` workers were busy.
    public internal(set) var streamWorkersRefused = 0
    /// Push-pulls and fallback pings skipped because `maximumOutgoingStreams` were in flight.
    public internal(set) var outgoingStreamsRefused = 0
    /// Stream exchanges that failed (refused, timed out, closed early, bad frame), either direction.
    public internal(set) var streamFailures = 0
    /// Push-pull exchanges this node started that brought back the peer's state.
    public internal(set) var pushPullsCompleted = 0
    /// Fallback pings sent over TCP, and those answered by an ack.
    public internal(set) var streamPingsSent = 0
    public internal(set) var streamPingsAnswered = 0
    /// Probes an embedding application asked for (`MembershipAction.probe`).
    public internal(set) var probeRequestsOnDemand = 0
    /// Inputs whose licensing reactions did not settle within `ClusterNode.reactionRoundLimit` rounds
    /// (a bug: logged as an error, the rest of that input dropped).
    public internal(set) var unsettledReactions = 0

    /// The protocol core's own counters (probes, suspicions, refutations...), as of the last loop turn.
    public internal(set) var swim = SWIMMetrics()
    /// Lifeguard's local health multiplier score (0 = healthy).
    public internal(set) var localHealth = 0

    public init() {}

    public func decodeErrors(_ kind: WireError.Kind) -> Int { decodeErrors[kind] ?? 0 }
    public var totalDecodeErrors: Int { decodeErrors.values.reduce(0, +) }
    /// Packets and frames no accepted key authenticates: strangers, or a missed key rotation.
    public var authenticationFailures: Int { decodeErrors(.authenticationFailed) }

    public var probes: Int { swim.probes }
    public var indirectProbes: Int { swim.indirectProbes }
    public var suspicions: Int { swim.suspicionsRaised }
    public var refutations: Int { swim.refutations }
    public var pushPullsStarted: Int { swim.pushPullsStarted }
    public var pushPullsAnswered: Int { swim.pushPullsAnswered }

    public var totalBytesIn: Int { datagrams.totalBytesIn + streams.totalBytesIn }
    public var totalBytesOut: Int { datagrams.totalBytesOut + streams.totalBytesOut }

    mutating func recordDecodeError(_ kind: WireError.Kind) { decodeErrors[kind, default: 0] += 1 }

    /// The counters as logfmt fields, for `--events` output and logs. Stable names: scripts parse them.
    public var fields: [LogField] {
        var out: [LogField] = [
            LogField("udp_packets_in", "\(datagrams.totalPacketsIn)"), LogField("udp_bytes_in", "\(datagrams.totalBytesIn)"),
            LogField("udp_packets_out", "\(datagrams.totalPacketsOut)"), LogField("udp_bytes_out", "\(datagrams.totalBytesOut)"),
            LogField("tcp_frames_in", "\(streams.totalPacketsIn)"), LogField("tcp_bytes_in", "\(streams.totalBytesIn)"),
            LogField("tcp_frames_out", "\(streams.totalPacketsOut)"), LogField("tcp_bytes_out", "\(streams.totalBytesOut)"),
        ]
        for kind in MessageKind.allCases {
            let name = String(kind.description.map { $0 == "-" ? "_" : $0 })
            if datagrams.packetsOut(kind) > 0 || datagrams.packetsIn(kind) > 0 {
                out.append(LogField("udp_\(name)_out", "\(datagrams.packetsOut(kind))/\(datagrams.bytesOut(kind))"))
                out.append(LogField("udp_\(name)_in", "\(datagrams.packetsIn(kind))/\(datagrams.bytesIn(kind))"))
            }
        }
        out += [
            LogField("decode_errors", "\(totalDecodeErrors)"), LogField("auth_failures", "\(authenticationFailures)"),
            LogField("oversize", "\(oversizeDatagrams)"), LogField("send_failures", "\(sendFailures)"),
            LogField("probes", "\(probes)"), LogField("indirect_probes", "\(indirectProbes)"),
            LogField("suspicions", "\(suspicions)"), LogField("refutations", "\(refutations)"),
            LogField("push_pulls", "\(pushPullsStarted)"), LogField("stream_pings", "\(streamPingsSent)"),
            LogField("stream_workers_refused", "\(streamWorkersRefused)"), LogField("lhm", "\(localHealth)"),
        ]
        for (kind, count) in decodeErrors.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            out.append(LogField("decode_error_\(kind)", "\(count)"))
        }
        return out
    }
}
