import SWIM
import Wire

/// The stream exchanges run by worker threads: one request frame and one response frame over TCP,
/// under one deadline. Results go back to the I/O thread through the command gate; counters and logs
/// are updated from here (both are thread-safe).
struct StreamExchange: Sendable {
    let codec: PacketCodec
    let gate: CommandGate
    let shared: AgentShared
    let log: AgentLog
    let maximumFrameSize: Int

    /// Makes one exchange with `address`: sends `request`, feeds the answer to the loop. Failures are
    /// counted and logged at debug level (a dead peer refusing connections is ordinary); the protocol's
    /// own timers cover a missing answer.
    func call(_ request: Message, expecting expected: MessageKind, at address: Address, timeout: Duration) {
        let deadline = MonotonicClock.now() + timeout
        guard let destination = try? SocketAddress(address) else {
            shared.count { $0.sendFailures += 1 }
            log.limited("unroutable-stream", .debug, "stream to an unparseable address skipped", [LogField("address", address.rawValue)])
            return
        }
        let packet: [UInt8]
        do {
            packet = try codec.seal(request, over: .stream)
        } catch {
            shared.count { $0.unsendableMessages += 1 }
            log.limited("unsendable", .error, "message could not be sealed", [LogField("kind", "\(request.kind)"), LogField("error", error.description)])
            return
        }
        do {
            let connection = try StreamConnection.connect(to: destination, timeout: remaining(until: deadline))
            defer { connection.close() }
            try connection.writeFrame(packet, maxSize: maximumFrameSize, timeout: remaining(until: deadline))
            shared.count { $0.streams.recordOut(request.kind, bytes: packet.count) }
            let answer = try connection.readFrame(maxSize: maximumFrameSize, timeout: remaining(until: deadline))
            let response: Message
            do {
                response = try codec.open(answer)
            } catch {
                shared.count { $0.recordDecodeError(error.kind) }
                log.rejected(error, from: destination.description, channel: "tcp")
                return
            }
            guard response.kind == expected else {
                shared.count { $0.misroutedMessages += 1 }
                return
            }
            shared.count { $0.streams.recordIn(response.kind, bytes: answer.count) }
            gate.post(.streamResponse(response, from: address))
        } catch {
            shared.count { $0.streamFailures += 1 }
            log.limited("stream-failed-\(request.kind)", .debug, "stream exchange failed",
                        [LogField("kind", "\(request.kind)"), LogField("peer", address.rawValue), LogField("error", "\(error)")])
        }
    }

    /// Serves one accepted connection: reads a request, hands it to the loop, writes the loop's answer.
    /// Only pings and push-pull requests are served; anything that fails to decode or authenticate is
    /// dropped unanswered, and the connection closed.
    func serve(_ connection: StreamConnection, timeout: Duration) {
        defer { connection.close() }
        let deadline = MonotonicClock.now() + timeout
        let peer = connection.remoteAddress.description
        do {
            let bytes = try connection.readFrame(maxSize: maximumFrameSize, timeout: remaining(until: deadline))
            let request: Message
            do {
                request = try codec.open(bytes)
            } catch {
                shared.count { $0.recordDecodeError(error.kind) }
                log.rejected(error, from: peer, channel: "tcp")
                return
            }
            guard request.kind == .ping || request.kind == .pushPullRequest else {
                shared.count { $0.misroutedMessages += 1 }
                return
            }
            shared.count { $0.streams.recordIn(request.kind, bytes: bytes.count) }
            let reply = StreamReply(peer: connection.remoteAddress.swimAddress)
            guard gate.post(.streamRequest(request, reply: reply)),
                  let answer = reply.wait(timeout: remaining(until: deadline)) else { return }
            let packet: [UInt8]
            do {
                packet = try codec.seal(answer, over: .stream)
            } catch {
                shared.count { $0.unsendableMessages += 1 }
                log.limited("unsendable", .error, "message could not be sealed", [LogField("kind", "\(answer.kind)"), LogField("error", error.description)])
                return
            }
            try connection.writeFrame(packet, maxSize: maximumFrameSize, timeout: remaining(until: deadline))
            shared.count { $0.streams.recordOut(answer.kind, bytes: packet.count) }
        } catch {
            shared.count { $0.streamFailures += 1 }
            log.limited("stream-serve-failed", .debug, "serving a stream failed", [LogField("peer", peer), LogField("error", "\(error)")])
        }
    }

    /// Time left until `deadline`, at least a millisecond so that an expired deadline fails the next
    /// call quickly instead of being read as "no timeout".
    private func remaining(until deadline: Instant) -> Duration {
        max(.milliseconds(1), deadline - MonotonicClock.now())
    }
}
