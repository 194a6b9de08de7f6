#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Wire
import ArgumentParsing

/// `licmesh keygen-gossip`: a new random AES-256 gossip key, base64 on one line.
let keygenGossipCommand = Command(
    name: "keygen-gossip",
    summary: "Make a new random gossip encryption key (32 bytes, base64).",
    options: [
        .value("--out", "FILE", "Write the key to FILE (created with mode 0600; an existing file is never overwritten) instead of printing it."),
    ],
    discussion: """
    Every agent of a cluster needs the same key to talk to the others. To rotate keys without
    downtime: give every agent the new key as an accepted key, then make it the primary key
    everywhere, then remove the old one.
    """,
    run: { arguments in
        if let extra = arguments.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'; did you mean --out \(extra)?", command: arguments.commandPath)
        }
        let contents = GossipKeyFile.contents(of: SymmetricKey.random())
        guard let path = arguments.string("--out") else {
            print(contents, terminator: "")
            return 0
        }
        if let problem = writeNewPrivateFile(path, contents) {
            printError("error: cannot write gossip key to '\(path)': \(problem)")
            return 1
        }
        printError("wrote a new gossip key to \(path)")
        return 0
    }
)

/// Creates `path` with mode 0600 and writes `contents`; refuses to replace an existing file (a key
/// overwritten by mistake would cut this node off from its cluster). Returns what went wrong, or nil.
private func writeNewPrivateFile(_ path: String, _ contents: String) -> String? {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
        let reason = String(cString: strerror(errno))
        return errno == EEXIST ? "\(reason); remove it first or choose another name" : reason
    }
    var bytes = Array(contents.utf8)
    var offset = 0
    var failure: String?
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            failure = String(cString: strerror(errno))
            break
        }
        offset += written
    }
    if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
    if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
    if failure != nil { unlink(path) }
    return failure
}
