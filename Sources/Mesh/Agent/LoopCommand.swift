import Dispatch
import Synchronization
import SWIM
import Wire

/// What other threads hand the agent's I/O thread: calls of the public API, and results of stream
/// workers. Each is handled on the loop, so the SWIM instance is never touched elsewhere.
enum LoopCommand: Sendable {
    case join([SocketAddress])
    case leave
    case stop
    case publish(AppPayload, urgent: Bool)
    case sendApplicationMessage([UInt8], to: NodeID)
    case updateMetadata([UInt8])
    case updateKeyring(Keyring, done: @Sendable (Bool) -> Void)
    /// Runs `body` with the application on the loop; `cancel` runs instead if the loop has stopped.
    case callApplication(body: @Sendable (any AgentApplication, AgentContext) -> [AgentAction], cancel: @Sendable () -> Void)
    /// An outgoing stream exchange (push-pull, fallback ping) brought back this message.
    case streamResponse(Message, from: Address)
    /// A served connection brought this request; the loop answers through `reply`.
    case streamRequest(Message, reply: StreamReply)
    case workerFinished(id: Int)

    /// Called for commands still queued when the loop stops: whoever waits must not wait forever.
    func cancel() {
        switch self {
        case .updateKeyring(_, let done): done(false)
        case .callApplication(_, let cancel): cancel()
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
    /// The address under which the request was fed to SWIM: replies addressed to it come here instead
    /// of going out by UDP. Never a parseable socket address, so it cannot be confused with a peer.
    let address: Address
    private let slot = Mutex<(done: Bool, message: Message?)>((false, nil))
    private let ready = DispatchSemaphore(value: 0)

    init(token: Int) {
        address = Address("stream#\(token)")
    }

    static func isStreamAddress(_ address: Address) -> Bool { address.rawValue.hasPrefix("stream#") }

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
