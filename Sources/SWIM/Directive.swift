/// What the protocol asks its driver (the runtime or the simulator) to do. The core never does I/O.
public enum Directive: Hashable, Sendable {
    /// Send one datagram-sized message. The runtime encodes (and encrypts) it and sends it by UDP.
    case send(Message, to: Address)
    /// Open a stream to `address`, send this push-pull request, and feed the response back through
    /// `receive(_:from:now:)`. A failure needs no report: the protocol retries on its own timers.
    case pushPull(PushPullState, to: Address)
    /// Answer, on its stream, the message that arrived over a stream (`receive(_:from:over:now:)` with
    /// `.stream`): the push-pull response to a push-pull request, the ack to a stream ping.
    case replyOnStream(Message)
    /// Send this ping over a stream as well (memberlist's TCP fallback): when UDP to a peer is
    /// blocked but a stream gets through, the ack still arrives and the peer is not suspected.
    case streamPing(Ping, to: Address)
    /// Something the application should know about.
    case event(MembershipEvent)
    /// An application payload arrived with a newer version than any seen before.
    case deliver(AppPayload)
    /// An application message arrived from a member.
    case deliverMessage(AppMessage, from: Address)
}

/// How a message reached this node. A message that came over a stream is answered on that stream
/// (`Directive.replyOnStream`); a datagram is answered with a datagram to its sender.
public enum Channel: Hashable, Sendable {
    case datagram
    case stream
}

/// A membership change, with the instant (on the caller's clock) at which this node decided it.
/// Observers compute detection times from these: crash to first `.suspected`, to `.confirmedDead`.
public struct MembershipEvent: Hashable, Sendable, CustomStringConvertible {
    public var at: Instant
    public var kind: Kind

    public init(at: Instant, kind: Kind) { self.at = at; self.kind = kind }

    public enum Kind: Hashable, Sendable {
        /// First heard of this member (or of a new life of a dead or departed one).
        case joined(Member)
        /// The member failed a probe (ours, or another member's whose suspicion reached us).
        case suspected(Member, by: NodeID)
        /// A suspected member proved itself alive with a higher incarnation.
        case refuted(Member)
        /// The suspicion timed out (here, or elsewhere and reached us).
        case confirmedDead(Member, by: NodeID)
        case left(Member)
        /// A live member changed address or metadata with a new incarnation.
        case updated(Member)
        /// Two live nodes claim one ID from different addresses. Never merged: the existing
        /// entry is kept and the operator must give one of them another ID.
        case idConflict(id: NodeID, known: Address, claimant: Address)
        /// We were suspected (or reported dead) and raised our incarnation to refute it.
        case refutedSuspicionOfSelf(incarnation: UInt64)
        /// A tombstone outlived its retention and was forgotten.
        case forgotten(NodeID)
    }

    /// The member the event is about.
    public var memberID: NodeID? {
        switch kind {
        case .joined(let m), .suspected(let m, _), .refuted(let m), .confirmedDead(let m, _), .left(let m), .updated(let m):
            m.id
        case .idConflict(let id, _, _): id
        case .forgotten(let id): id
        case .refutedSuspicionOfSelf: nil
        }
    }

    public var description: String {
        let what: String = switch kind {
        case .joined(let m): "joined \(m)"
        case .suspected(let m, let by): "suspected \(m) by \(by)"
        case .refuted(let m): "refuted \(m)"
        case .confirmedDead(let m, let by): "confirmed dead \(m) by \(by)"
        case .left(let m): "left \(m)"
        case .updated(let m): "updated \(m)"
        case .idConflict(let id, let known, let claimant): "id conflict \(id): known at \(known), claimed from \(claimant)"
        case .refutedSuspicionOfSelf(let inc): "refuted suspicion of self with incarnation \(inc)"
        case .forgotten(let id): "forgot tombstone \(id)"
        }
        return "\(at) \(what)"
    }
}

/// What an application layered on SWIM (the licensing layer) asks of the membership layer.
public enum MembershipAction: Hashable, Sendable {
    case publish(AppPayload, urgent: Bool)
    case sendMessage([UInt8], to: NodeID)
    case probe(NodeID)
    /// Probe a member the application depends on (a standby watching the active one): `watch(_:)`.
    case watch(NodeID)
    case updateMetadata([UInt8])
}

extension SWIMInstance {
    /// Carries out an application's request.
    public mutating func perform(_ action: MembershipAction, now: Instant) -> [Directive] {
        switch action {
        case .publish(let payload, let urgent): publish(payload, urgent: urgent, now: now)
        case .sendMessage(let bytes, let id): sendApplicationMessage(bytes, to: id)
        case .probe(let id): probeNow(id, now: now)
        case .watch(let id): watch(id, now: now)
        case .updateMetadata(let metadata): updateMetadata(metadata, now: now)
        }
    }
}
