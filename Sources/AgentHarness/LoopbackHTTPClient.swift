#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SmallFiles
import Synchronization

/// A minimal blocking HTTP/1.1 client for an agent's local API on IPv4 loopback: one request per
/// connection (`Connection: close`), a receive timeout, a bounded response. Enough for a client
/// loop in a benchmark; not a general HTTP client.
package struct LoopbackHTTPClient: Sendable {
    package var port: UInt16
    package var timeoutSeconds: Double = 2
    package static let maximumResponseBytes = 1 << 20

    package init(port: UInt16, timeoutSeconds: Double = 2) { self.port = port; self.timeoutSeconds = timeoutSeconds }

    package struct Response: Sendable {
        package var status: Int
        package var body: [UInt8]
        /// The fields of an acquire, release or validate answer the harness looks at; nil when the
        /// body is not such a JSON object.
        package var answerFields: AnswerFields? { try? JSONDecoder().decode(AnswerFields.self, from: Data(body)) }
    }

    /// `outcome` (acquire, release), `allowed` (validate) and `authority` of an agent's answer.
    package struct AnswerFields: Decodable, Sendable {
        package var outcome: String?
        package var allowed: Bool?
        package var authority: String?
    }

    /// Sends `method path` with a JSON `body`; throws on a connection error, a timeout or a
    /// malformed response.
    package func send(_ method: String, _ path: String, json body: String = "{}") throws -> Response {
        let fd = try Self.connect(port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }

        let payload = Array(body.utf8)
        let request = Array(("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(payload.count)\r\nConnection: close\r\n\r\n").utf8) + payload
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw BenchmarkError("send to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
            sent += n
        }

        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while response.count <= Self.maximumResponseBytes {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw BenchmarkError("no answer from 127.0.0.1:\(port) in \(timeoutSeconds) s") }
            if n == 0 { break }
            response += chunk[0..<n]
        }
        return try Self.parse(response)
    }

    /// A blocking TCP connection to 127.0.0.1:`port` with send and receive timeouts.
    package static func connect(port: UInt16, timeoutSeconds: Double) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchmarkError("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - floor(timeoutSeconds)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BenchmarkError("connect to 127.0.0.1:\(port): \(reason)")
        }
        return fd
    }

    package static func parse(_ bytes: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
            throw BenchmarkError("malformed HTTP response (\(bytes.count) bytes, no end of headers)")
        }
        let head = String(decoding: bytes[..<headerEnd], as: UTF8.self)
        let statusParts = head.split(separator: "\r\n").first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw BenchmarkError("malformed HTTP status line: \(head.prefix(80))")
        }
        return Response(status: status, body: Array(bytes[(headerEnd + 4)...]))
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago, for an agent's local API.
    ///
    /// Taken outside the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), at
    /// random, and never the same one twice in this process: every agent binds its gossip port as
    /// port 0 and every client connection gets an ephemeral port, so a port from that range (what
    /// binding port 0 here used to give) could be taken by one of them before its agent listened on
    /// it. With 200 agents that is about 1.4 expected collisions a run (200 x 200 / 28,232 ports):
    /// the first `bench idle --licensed --nodes 200` failed with EADDRINUSE at one agent's API.
    /// Another process could still take the port in between; that shows as a start-up error of the agent.
    package static func freePort() throws -> UInt16 {
        let candidates = portsOutsideEphemeralRange()
        for _ in 0..<1_000 {
            let port = candidates.randomElement() ?? 0
            let unused = handedOut.withLock { $0.insert(port).inserted }
            if unused, isFree(port) { return port }
        }
        throw BenchmarkError("cannot find a free port on 127.0.0.1 in \(candidates) (outside the ephemeral range)")
    }

    private static let handedOut = Mutex<Set<UInt16>>([])

    /// 10000 up to the ephemeral range's start, or above its end when that leaves more ports.
    static func portsOutsideEphemeralRange() -> ClosedRange<UInt16> {
        let text = (try? SmallFile.read(path: "/proc/sys/net/ipv4/ip_local_port_range", limit: 256))
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let (low, high) = bounds.count == 2 ? (bounds[0], bounds[1]) : (32768, 60999)
        let below = max(0, low - 10_000), above = max(0, 65535 - high)
        return below >= above ? 10_000...UInt16(clamping: max(10_000, low - 1)) : UInt16(clamping: high + 1)...65535
    }

    /// Whether a TCP socket can bind 127.0.0.1:`port` now.
    private static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
