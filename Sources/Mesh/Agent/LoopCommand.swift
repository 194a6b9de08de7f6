import Dispatch
import Licensing
import Synchronization
import SWIM
import Wire

/// What other threads hand the agent's I/O thread: calls of the public API, and results of stream
/// workers. Each is handled on the loop, so the SWIM instance is never touched elsewhere.
enum LoopCommand: Sendable {
    case join([SocketAddress])
    case leave
    case stop
    /// A membership action of an embedding application (publish a payload, send a message, ...).
    case perform(MembershipAction)
    case updateKeyring(Keyring, done: @Sendable (Bool) -> Void)
    /// Licensing requests of a client (the local API, a leave): answered when the node settles them.
    case acquire(cores: Int?, answer: FirstAnswer<RequestAnswer>)
    case release(answer: FirstAnswer<RequestAnswer>)
    /// A reloaded license; `done` says whether the node has a licensing layer to take it.
    case replaceLicense(LicenseTerms?, valid: Bool, done: @Sendable (Bool) -> Void)
    /// Runs `body` with the node, read-only, on the loop (status, tests); `cancel` runs instead if the
    /// loop has stopped.
    case read(body: @Sendable (ClusterNode, Instant) -> Void, cancel: @Sendable () -> Void)
    /// An outgoing stream exchange (push-pull, fallback ping) brought back this message.
    case streamResponse(Message, from: Address)
    /// A served connection brought this request; the loop answers through `reply`.
    case streamRequest(Message, reply: StreamReply)
    case workerFinished(id: Int)

    /// Called for commands still queued when the loop stops: whoever waits must not wait forever.
    func cancel() {
        switch self {
        case .updateKeyring(_, let done): done(false)
        case .replaceLicense(_, _, let done): done(false)
        case .acquire(_, let answer), .release(let answer):
            answer.resolve(RequestAnswer(outcome: .unavailable, cores: 0, authority: nil, message: "the agent has stopped"))
        case .read(_, let cancel): cancel()
        case .streamRequest(_, let reply): reply.fulfil(nil)
        default: break
        }
    }
}

/// The mailbox behind a gate: once the loop has stopped, posts are refused (and the poster told), and
/// whatever was queued is handed back for cancelling. So nothing posted is ever silently lost and no
/// thread waits for an answer from a loop that is gone.
final class CommandGate: Sendable {
    private let mailbox: Mailbox<LoopCommand>
    private let open = Mutex(true)

    init(waking poller: Poller) {
        mailbox = Mailbox(waking: poller)
    }

    /// Queues the command for the loop; false when the loop has stopped.
    @discardableResult
    func post(_ command: LoopCommand) -> Bool {
        open.withLock { isOpen in
            guard isOpen else { return false }
            mailbox.post(command)
            return true
        }
    }

    func takeAll() -> [LoopCommand] { mailbox.takeAll() }

    /// Refuses further posts and returns what is still queued.
    func close() -> [LoopCommand] {
        open.withLock { isOpen in
            isOpen = false
            return mailbox.takeAll()
        }
    }

    var isOpen: Bool { open.withLock { $0 } }
}

/// The loop's answer to one served stream request: the worker waits for it (bounded), the loop
/// fulfils it once (later calls do nothing). Nil means "no answer: close the connection".
final class StreamReply: Sendable {
    /// The connection's remote address (informational: the answer goes back on the connection).
    let peer: Address
    private let slot = Mutex<(done: Bool, message: Message?)>((false, nil))
    private let ready = DispatchSemaphore(value: 0)

    init(peer: Address) {
        self.peer = peer
    }

    func fulfil(_ message: Message?) {
        let first = slot.withLock { slot -> Bool in
            guard !slot.done else { return false }
            slot = (true, message)
            return true
        }
        if first { ready.signal() }
    }

    /// The answer, or nil when there is none or it did not come within `timeout`.
    func wait(timeout: Duration) -> Message? {
        let nanoseconds = Int(clamping: max(0, timeout.nanoseconds))
        guard ready.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        return slot.withLock { $0.message }
    }
}
