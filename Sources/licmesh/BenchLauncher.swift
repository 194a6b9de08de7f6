#if canImport(Glibc)
import Glibc
#endif
import AgentHarness
import ArgumentParsing

/// `licmesh bench ...` runs the licmesh-bench binary from the folder of this one, with the same
/// arguments: the benchmarks are a binary of their own so that the agent binary carries neither
/// them nor full Foundation. Listed here so that `licmesh --help` shows it; `main` hands every
/// `bench` invocation to `BenchLauncher` before parsing, because the flags are licmesh-bench's.
let benchCommand = Command(
    name: "bench",
    summary: "Run a benchmark and write its figures to a results folder (runs licmesh-bench).",
    run: { arguments in try BenchLauncher.run(arguments.positionals) }
)

enum BenchLauncher {
    /// Replaces this process with licmesh-bench; returns only by throwing.
    static func run(_ arguments: [String]) throws -> Int32 {
        let current = AgentBinary.current()
        let folder = current.lastIndex(of: "/").map { String(current[...$0]) } ?? "./"
        let bench = folder + "licmesh-bench"
        guard access(bench, X_OK) == 0 else {
            throw BenchmarkError("'licmesh bench' runs the licmesh-bench binary beside licmesh, and \(bench) is missing "
                + "(\(String(cString: strerror(errno)))). Build it with 'swift build -c release --product licmesh-bench' "
                + "(or 'swift build -c release', which builds both binaries).")
        }
        var cArguments: [UnsafeMutablePointer<CChar>?] = ([bench] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        execv(bench, &cArguments)
        throw BenchmarkError("cannot run \(bench): \(String(cString: strerror(errno)))")
    }
}
