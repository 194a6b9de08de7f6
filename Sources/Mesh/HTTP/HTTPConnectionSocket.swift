import Glibc

/// Byte-level reads and writes on one accepted HTTP connection, bounded by deadlines, for the worker
/// thread that serves it.
///
/// It works on the raw descriptor number of a `StreamConnection` (whose own API only speaks
/// length-prefixed frames). That is safe because the connection has exactly one owner at a time: the
/// accept thread until it hands the connection over, then one worker, and only that owner ever closes
/// it; no other thread can close the number and let the kernel reuse it under us.
struct HTTPConnectionSocket {
    let descriptor: Int32
    /// Readable once the server stops (see `HTTPStopSignal`).
    let stopDescriptor: Int32

    enum ReadResult: Equatable {
        case bytes(Int)
        case endOfStream
        case timedOut
        case stopped
        case failed
    }

    enum WriteResult: Equatable {
        case written
        case timedOut
        case failed
    }

    private enum WaitResult { case ready, timedOut, stopped, failed }

    /// Reads what is available (at most `buffer.count` bytes), waiting until `deadline` for something
    /// to arrive; a stop ends the wait.
    func read(into buffer: inout [UInt8], deadline: Deadline) -> ReadResult {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { return .failed }
            switch wait(for: Int16(POLLIN), deadline: deadline, stoppable: true) {
            case .ready: continue
            case .timedOut: return .timedOut
            case .stopped: return .stopped
            case .failed: return .failed
            }
        }
    }

    /// Writes all of `bytes` before `deadline`. Not interrupted by a stop: a response that has begun
    /// is finished (or abandoned at its deadline), so stopping never truncates an answer.
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
            switch wait(for: Int16(POLLOUT), deadline: deadline, stoppable: false) {
            case .ready: continue
            case .timedOut: return .timedOut
            case .stopped, .failed: return .failed
            }
        }
        return .written
    }

    /// One non-blocking attempt to send `bytes`, for a short answer on a connection we refuse anyway.
    func sendOnce(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
    }

    /// After an error answer: stop sending, then read and discard what the client is still sending
    /// (a body we refused, pipelined requests) until it closes, `deadline` passes, `maxBytes` have been
    /// thrown away, or the server stops. Closing with unread data makes the kernel send a reset: a
    /// client still busy sending its refused body then fails with "connection reset" and never reads
    /// our answer. The deadline is the real bound; the byte cap only stops a fast endless sender.
    func drainBeforeClose(deadline: Deadline, maxBytes: Int = 16 << 20) {
        _ = shutdown(descriptor, Int32(SHUT_WR))
        var sink = [UInt8](repeating: 0, count: 16 * 1024)
        var discarded = 0
        while discarded < maxBytes {
            guard case .bytes(let count) = read(into: &sink, deadline: deadline) else { return }
            discarded += count
        }
    }

    private func wait(for events: Int16, deadline: Deadline, stoppable: Bool) -> WaitResult {
        while true {
            guard let timeout = deadline.remainingMilliseconds() else { return .timedOut }
            var entries = [
                pollfd(fd: descriptor, events: events, revents: 0),
                pollfd(fd: stoppable ? stopDescriptor : -1, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&entries, nfds_t(entries.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if ready == 0 { continue }  // poll may wake a little early; the deadline decides
            if stoppable && entries[1].revents != 0 { return .stopped }
            // Errors and hang-ups count as ready: the next recv or send reports them.
            if entries[0].revents != 0 { return .ready }
        }
    }
}
