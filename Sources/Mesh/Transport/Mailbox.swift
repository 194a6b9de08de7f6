import Synchronization

/// How other threads hand work to the I/O thread: `post` queues a message and wakes the poller; the
/// loop calls `takeAll()` after each wait that reports `wasWoken`. Commands from the agent's public
/// API and results of stream workers (push-pull, fallback pings) both arrive this way, so the SWIM
/// instance is only ever touched by its own I/O thread.
final class Mailbox<Message: Sendable>: Sendable {
    private let queue = Mutex<[Message]>([])
    private let wakeup: Wakeup

    public init(waking poller: Poller) {
        wakeup = poller.wakeHandle
    }

    /// Queues `message` and wakes the loop. Safe from any thread; messages from one thread keep their order.
    public func post(_ message: Message) {
        queue.withLock { $0.append(message) }
        // After the append: the wait this ends (or the next one) is followed by a takeAll that sees it.
        wakeup.wake()
    }

    /// Everything posted so far, oldest first.
    public func takeAll() -> [Message] {
        queue.withLock { messages in
            defer { messages.removeAll(keepingCapacity: true) }
            return messages
        }
    }
}
