#if canImport(Glibc)
import Glibc
#endif
import ArgumentParsing

// licmesh-bench: the benchmarks, apart from the agent binary so that licmesh links neither them nor
// full Foundation. People run it as `licmesh bench ...`, which executes this binary from beside
// licmesh; it starts that licmesh as its agents.
let arguments = Array(CommandLine.arguments.dropFirst())
exitRunning { try parseAndRun(arguments, command: benchCommand, path: "licmesh bench") }
