import Synchronization
import SWIM

/// What the I/O thread publishes for other threads to read: counters, the membership as of the last
/// loop turn, and whether the loop has stopped. Reads never wait for the loop.
final class AgentShared: Sendable {
    let counters = Mutex(AgentCounters())
    let view: Mutex<MembershipSnapshot>
    private let lifecycle = Mutex<(stopped: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(myself: Member) {
        view = Mutex(MembershipSnapshot(myself: myself, others: [], isJoined: false, isLeaving: false))
    }

    func count(_ update: (inout AgentCounters) -> Void) {
        counters.withLock { update(&$0) }
    }

    /// Called once, last, by the I/O thread: everything is closed and joined by then.
    func markStopped() {
        let waiters = lifecycle.withLock { state in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var isStopped: Bool { lifecycle.withLock { $0.stopped } }

    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = lifecycle.withLock { state -> Bool in
                if state.stopped { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

/// The membership as the agent saw it at the end of its last loop turn.
struct MembershipSnapshot: Sendable {
    var myself: Member
    /// Every other member known, tombstones included, in ID order.
    var others: [Member]
    var isJoined: Bool
    var isLeaving: Bool
}
