import Glibc
import Synchronization

/// A file descriptor closed exactly once, by whichever comes first of an explicit close() and deinit.
///
/// Every use goes through `withDescriptor`, which holds a lock, so a close from another thread cannot
/// slip in between reading the number and using it (the kernel would hand that number to the next
/// open(), and we would write into someone else's file). Operations under the lock are either
/// non-blocking or bounded by a deadline, so close() waits at most that long.
final class OwnedDescriptor: Sendable {
    private let descriptor: Mutex<Int32>

    init(_ descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    deinit { close() }

    /// Runs `body` with the open descriptor, or returns nil when it is already closed.
    func withDescriptor<Result, Failure: Error>(
        _ body: (Int32) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        try descriptor.withLock { (fd: inout Int32) throws(Failure) -> Result? in
            guard fd >= 0 else { return nil }
            return try body(fd)
        }
    }

    var isOpen: Bool { descriptor.withLock { $0 >= 0 } }

    /// The current number, for poll(2) sets; -1 once closed.
    var rawValue: Int32 { descriptor.withLock { $0 } }

    /// The number while open, for a descriptor this thread alone holds (just accepted, say).
    var rawValueIfOpen: Int32? {
        let value = rawValue
        return value >= 0 ? value : nil
    }

    /// Closes the descriptor; later calls do nothing. Returns whether this call closed it.
    @discardableResult
    func close() -> Bool {
        descriptor.withLock { fd in
            guard fd >= 0 else { return false }
            // Linux releases the descriptor even when close() reports EINTR, so never retry it.
            _ = Glibc.close(fd)
            fd = -1
            return true
        }
    }
}
