import Glibc

/// Blocking reads and writes bounded by deadlines on the HTTP client's connection (TCP or unix).
///
/// It works on the raw descriptor number; that is safe because the client connection is its only
/// owner and closes it only between calls.
struct HTTPClientSocket {
    let descriptor: Int32

    enum ReadResult: Equatable {
        case bytes(Int)
        case endOfStream
        case timedOut
        case failed
    }

    enum WriteResult: Equatable {
        case written
        case timedOut
        case failed
    }

    private enum WaitResult { case ready, timedOut, failed }

    /// Reads what is available (at most `buffer.count` bytes), waiting until `deadline` for something
    /// to arrive.
    func read(into buffer: inout [UInt8], deadline: Deadline) -> ReadResult {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { return .failed }
            switch wait(for: Int16(POLLIN), deadline: deadline) {
            case .ready: continue
            case .timedOut: return .timedOut
            case .failed: return .failed
            }
        }
    }

    /// Writes all of `bytes` before `deadline`.
    func write(_ bytes: [UInt8], deadline: Deadline) -> WriteResult {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                // MSG_NOSIGNAL: a client that went away gives EPIPE, not a SIGPIPE that kills the agent.
                send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
                continue
            }
            let code = written == 0 ? EAGAIN : errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { return .failed }
            switch wait(for: Int16(POLLOUT), deadline: deadline) {
            case .ready: continue
            case .timedOut: return .timedOut
            case .failed: return .failed
            }
        }
        return .written
    }

    private func wait(for events: Int16, deadline: Deadline) -> WaitResult {
        while true {
            guard let timeout = deadline.remainingMilliseconds() else { return .timedOut }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if ready == 0 { continue }  // poll may wake a little early; the deadline decides
            // Errors and hang-ups count as ready: the next recv or send reports them.
            if entry.revents != 0 { return .ready }
        }
    }
}
