import SWIM

/// Serves one connection on a worker thread: reads requests with the parser, calls the handler, writes
/// responses, and closes when the client asks, a limit or timeout is reached, or the server stops.
struct HTTPConnectionSession {
    let connection: StreamConnection
    let configuration: HTTPServerConfiguration
    let handler: HTTPHandler
    let metrics: HTTPServerMetrics
    let stopSignal: HTTPStopSignal

    /// Which timeout the next read runs under.
    private enum Waiting {
        /// Between requests (or before the first byte of the first): expiry closes silently.
        case idle(Deadline)
        /// Part of a head has arrived (or the connection is new): expiry answers 408.
        case head(Deadline)
        case body(Deadline)

        var deadline: Deadline {
            switch self {
            case .idle(let deadline), .head(let deadline), .body(let deadline): return deadline
            }
        }
    }

    func run() {
        metrics.connectionOpened()
        defer {
            connection.close()
            metrics.connectionClosed()
        }
        guard let descriptor = connection.fileDescriptor else { return }
        let socket = HTTPConnectionSocket(descriptor: descriptor, stopDescriptor: stopSignal.descriptor)
        serve(on: socket)
    }

    private func serve(on socket: HTTPConnectionSocket) {
        var parser = HTTPRequestParser(limits: configuration.limits)
        var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)
        var served = 0
        // A new connection gets the head timeout from the start: connecting and saying nothing is the
        // cheapest way to hold a worker, so it gets no more time than trickling a head does.
        var waiting = Waiting.head(Deadline(after: configuration.headTimeout))

        while true {
            switch parser.next() {
            case .request(var request):
                request.remoteAddress = connection.remoteAddress
                served += 1
                metrics.requestServed()
                let response = handler(request)
                let closing = !request.keepAlive || served >= configuration.maxRequestsPerConnection || stopSignal.isStopped
                let bytes = response.serialized(
                    closing: closing, keepAliveForHTTP10: request.version == .http10, omitBody: request.method == "HEAD")
                guard write(bytes, status: response.status, on: socket) else { return }
                if closing {
                    // Requests pipelined past the per-connection limit are unread: drain them so that
                    // closing does not reset the connection under the answer we just wrote.
                    if parser.hasPartialRequest { socket.drainBeforeClose(deadline: Deadline(after: configuration.lingerTimeout)) }
                    return
                }
                waiting = parser.hasPartialRequest
                    ? .head(Deadline(after: configuration.headTimeout))
                    : .idle(Deadline(after: configuration.idleTimeout))

            case .failed(let error):
                metrics.parseError(error.kind)
                let response = HTTPResponse.error(error.status, error.message)
                guard write(response.serialized(closing: true), status: response.status, on: socket) else { return }
                socket.drainBeforeClose(deadline: Deadline(after: configuration.lingerTimeout))
                return

            case .needMore:
                if parser.needsContinue {
                    guard write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), status: .continue, on: socket) else { return }
                    parser.continueWasSent()
                }
                switch waiting {
                case .idle where parser.hasPartialRequest:
                    waiting = parser.isReadingBody
                        ? .body(Deadline(after: configuration.bodyTimeout)) : .head(Deadline(after: configuration.headTimeout))
                case .head where parser.isReadingBody:
                    waiting = .body(Deadline(after: configuration.bodyTimeout))
                case .idle, .head, .body:
                    break
                }
                switch socket.read(into: &readBuffer, deadline: waiting.deadline) {
                case .bytes(let count):
                    parser.append(readBuffer[..<count])
                case .endOfStream, .stopped, .failed:
                    return
                case .timedOut:
                    guard parser.hasPartialRequest else {
                        metrics.idleTimeout()
                        return
                    }
                    let error = timeoutError(readingBody: parser.isReadingBody)
                    metrics.parseError(error.kind)
                    // Everything the client sent has been read, so closing right after sends a FIN, not
                    // a reset: no need to linger for a client this slow.
                    _ = write(HTTPResponse.error(error.status, error.message).serialized(closing: true), status: error.status, on: socket)
                    return
                }
            }
        }
    }

    private func timeoutError(readingBody: Bool) -> HTTPParseError {
        let (part, timeout) = readingBody ? ("body", configuration.bodyTimeout) : ("request head", configuration.headTimeout)
        return HTTPParseError(.timedOut, "the \(part) did not arrive within \(formatSeconds(timeout.seconds)); send the whole request at once")
    }

    /// Counts the response, then writes it within the write timeout; false when the connection is
    /// unusable. Counted first so that a client holding the answer always finds it in the metrics.
    private func write(_ bytes: [UInt8], status: HTTPStatus, on socket: HTTPConnectionSocket) -> Bool {
        metrics.responseSent(status)
        switch socket.write(bytes, deadline: Deadline(after: configuration.writeTimeout)) {
        case .written:
            return true
        case .timedOut:
            metrics.writeTimeout()
            return false
        case .failed:
            return false
        }
    }
}
