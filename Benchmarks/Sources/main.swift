#if canImport(Glibc)
import Glibc
#endif
import ArgumentParsing

// licmesh-bench: the benchmarks, apart from the agent binary so that licmesh links neither them nor
// full Foundation. People run it as `licmesh bench ...`, which executes this binary from beside
// licmesh; it starts that licmesh as its agents.
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if let (command, parsed) = try Parser.parse(arguments, command: benchCommand, path: "licmesh bench") {
        exit(try command.run(parsed))
    }
    exit(0)
} catch let error as UsageError {
    printError(error.description)
    exit(64)
} catch {
    printError("error: \(error)")
    exit(1)
}
