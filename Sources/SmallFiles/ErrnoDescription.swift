import Glibc

/// The text the C library gives for an errno, plus its symbolic name when we know it, e.g.
/// "Address already in use (EADDRINUSE)".
package func describeErrno(_ code: Int32) -> String {
    let text = strerror(code).map { String(cString: $0) } ?? "error \(code)"
    if let name = errnoNames[code] { return "\(text) (\(name))" }
    return "\(text) (errno \(code))"
}

private let errnoNames: [Int32: String] = [
    EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL", EACCES: "EACCES", EAFNOSUPPORT: "EAFNOSUPPORT",
    EAGAIN: "EAGAIN", ECONNREFUSED: "ECONNREFUSED", ECONNRESET: "ECONNRESET", EHOSTUNREACH: "EHOSTUNREACH",
    EINVAL: "EINVAL", EMFILE: "EMFILE", ENFILE: "ENFILE", EMSGSIZE: "EMSGSIZE", ENETUNREACH: "ENETUNREACH",
    ENOBUFS: "ENOBUFS", EPERM: "EPERM", EPIPE: "EPIPE", ETIMEDOUT: "ETIMEDOUT", EBADF: "EBADF",
]
