import Glibc

extension SocketAddress {
    /// Resolves `host:port` (a name or a literal) to every address it stands for, in the resolver's
    /// order, without duplicates. A seed such as `agents.licmesh.svc:7946` may give many.
    ///
    /// This blocks on DNS: call it at startup or from a worker thread, never from the I/O loop.
    /// - Parameter family: keep only this family (nil: both).
    public static func resolve(_ text: String, family: IPAddress.Family? = nil) throws(AddressError) -> [SocketAddress] {
        let (host, port) = try splitHostAndPort(text)
        if let literal = IPAddress(parsing: host) {
            guard family == nil || literal.family == family else {
                throw AddressError(text: text, problem: "is \(literal.family) but only \(family!) is allowed here")
            }
            return [SocketAddress(ip: literal, port: port)]
        }
        guard !host.utf8.contains(0) else { throw AddressError(text: text, problem: "the host name contains a NUL byte") }

        var hints = addrinfo()
        hints.ai_family = family?.systemValue ?? AF_UNSPEC
        // One entry per address instead of one per socket type.
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        // No AI_ADDRCONFIG: it hides loopback results on hosts whose only interface is lo.
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            let reason = gai_strerror(status).map { String(cString: $0) } ?? "error \(status)"
            throw AddressError(text: text, problem: "cannot resolve '\(host)': \(reason); check the name and the DNS configuration")
        }
        defer { freeaddrinfo(list) }

        var results: [SocketAddress] = []
        var entry = list
        while let current = entry {
            if let pointer = current.pointee.ai_addr,
               var address = SocketAddress(pointer: pointer, length: current.pointee.ai_addrlen) {
                address.port = port
                if !results.contains(address) { results.append(address) }
            }
            entry = current.pointee.ai_next
        }
        guard !results.isEmpty else {
            throw AddressError(text: text, problem: "'\(host)' resolved to no \(family.map { "\($0) " } ?? "")addresses")
        }
        return results
    }
}
