#if canImport(Glibc)
import Glibc
#endif
import ArgumentParsing

/// The `licmesh` tool. Each subcommand lives in its own file and is listed here.
let root = Command(
    name: "licmesh",
    summary: "LicenseMesh: license-server failover over SWIM gossip.",
    subcommands: commandList()
)

func commandList() -> [Command] {
    var commands: [Command] = []
    commands.append(demoCommand)
    commands.append(simulateCommand)
    commands.append(licenseCommand)
    commands.append(keygenGossipCommand)
    commands.append(benchCommand)
    commands.append(agentCommand)
    commands.append(statusCommand)
    commands.append(membersCommand)
    commands.append(ledgerCommand)
    return commands
}

let arguments = Array(CommandLine.arguments.dropFirst())
exitRunning {
    // licmesh-bench parses bench's flags, so they pass through untouched.
    if arguments.first == "bench" { return try BenchLauncher.run(Array(arguments.dropFirst())) }
    return try parseAndRun(arguments, command: root, path: "licmesh")
}
