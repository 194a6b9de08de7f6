import Glibc
import Synchronization

/// Lets any thread interrupt a `Poller`'s wait, for instance to hand the I/O thread a command or the
/// result of a stream worker. A connected pair of Unix sockets (Glibc's Swift module has no eventfd,
/// and socketpair sets non-blocking and close-on-exec atomically, which pipe() cannot).
final class Wakeup: Sendable {
    private let readEnd: OwnedDescriptor
    private let writeEnd: OwnedDescriptor
    /// Set by the first wake() after a drain: later wakes skip the write system call.
    private let pending = Atomic<Bool>(false)

    public init() throws(SocketError) {
        var pair: [Int32] = [-1, -1]
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, flags, 0, &pair) == 0 else {
            throw SocketError(operation: "create the poller's wakeup channel", errno: errno)
        }
        readEnd = OwnedDescriptor(pair[0])
        writeEnd = OwnedDescriptor(pair[1])
    }

    /// Makes the current or next `Poller.wait` return with `wasWoken`. Safe from any thread, cheap
    /// when a wake is already pending, harmless after close.
    public func wake() {
        guard !pending.exchange(true, ordering: .sequentiallyConsistent) else { return }
        writeEnd.withDescriptor { fd in
            var byte: UInt8 = 1
            // EAGAIN means the channel is already full of wakes, which is just as good.
            while Glibc.write(fd, &byte, 1) < 0 && errno == EINTR {}
        }
    }

    /// Consumes pending wakes. Reads the channel empty first and clears the flag after: a wake() that
    /// found the flag still set skipped its write, but it queued its work before that, so the caller's
    /// processing after this wait sees it. Clearing first would let a wake() set the flag again, have
    /// its byte read here, and leave the flag set with an empty channel: every later wake lost.
    func drain() {
        readEnd.withDescriptor { fd in
            var sink = [UInt8](repeating: 0, count: 64)
            while true {
                let count = sink.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count > 0 { continue }
                if count < 0 && errno == EINTR { continue }
                break
            }
        }
        pending.store(false, ordering: .sequentiallyConsistent)
    }

    var readDescriptor: Int32 { readEnd.rawValue }

    public func close() {
        writeEnd.close()
        readEnd.close()
    }
}
