import SWIM

/// An application riding the agent's membership and gossip: the licensing layer is one.
///
/// The agent's I/O thread creates it (from the factory given to `Agent.start`), owns it and calls it
/// synchronously, so it needs no locks and must not block: it returns `AgentAction`s for the loop to
/// perform instead of doing I/O. Every method has a do-nothing default.
public protocol AgentApplication: AnyObject {
    /// Once, when the loop starts (before any other call).
    func started(_ context: AgentContext) -> [AgentAction]
    /// An application payload with a newer version than any seen before arrived by gossip.
    func payloadDelivered(_ payload: AppPayload, _ context: AgentContext) -> [AgentAction]
    /// A point-to-point application message arrived (`from` is the sender's datagram address).
    func messageDelivered(_ message: AppMessage, from address: Address, _ context: AgentContext) -> [AgentAction]
    /// Every membership event, in order, as the agent's observers see it.
    func membershipChanged(_ event: MembershipEvent, _ context: AgentContext) -> [AgentAction]
    /// Called when `nextDeadline` has come (and possibly more often).
    func tick(_ context: AgentContext) -> [AgentAction]
    /// The latest instant by which `tick` must be called (`Instant.distantFuture`: no timer).
    var nextDeadline: Instant { get }
    /// The agent is about to announce its departure: the actions returned (a last publish, say)
    /// go out before the leave.
    func leaving(_ context: AgentContext) -> [AgentAction]
    /// The loop is stopping (after a leave or a stop); no action can be performed any more.
    func stopped()
}

extension AgentApplication {
    public func started(_ context: AgentContext) -> [AgentAction] { [] }
    public func payloadDelivered(_ payload: AppPayload, _ context: AgentContext) -> [AgentAction] { [] }
    public func messageDelivered(_ message: AppMessage, from address: Address, _ context: AgentContext) -> [AgentAction] { [] }
    public func membershipChanged(_ event: MembershipEvent, _ context: AgentContext) -> [AgentAction] { [] }
    public func tick(_ context: AgentContext) -> [AgentAction] { [] }
    public var nextDeadline: Instant { .distantFuture }
    public func leaving(_ context: AgentContext) -> [AgentAction] { [] }
    public func stopped() {}
}

/// The application of an agent that has none: membership only.
public final class NoApplication: AgentApplication {
    public init() {}
}

/// What an application asks the agent to do: publish a payload, send a message to a member, update
/// this member's metadata, or probe a member now. The same requests the simulator's `ClusterNode`
/// makes of SWIM, carried out by `SWIMInstance.perform`.
public typealias AgentAction = MembershipAction

/// What an application may read while it is called: the time and the membership as this node sees it.
/// A snapshot, valid for the duration of the call.
public struct AgentContext {
    /// Monotonic time of the call, on the same clock as `MembershipEvent.at`.
    public let now: Instant
    private let membership: SWIMInstance

    init(now: Instant, membership: SWIMInstance) {
        self.now = now
        self.membership = membership
    }

    public var myself: Member { membership.myself }
    /// Every other member known, tombstones included, in ID order.
    public var members: [Member] { membership.members }
    public func member(_ id: NodeID) -> Member? { membership.member(id) }
    /// Alive and suspect members, self included.
    public var activeMemberCount: Int { membership.activeMemberCount }
    public var isJoined: Bool { membership.isJoined }
    public func payload(forKey key: String) -> AppPayload? { membership.payload(forKey: key) }
}
