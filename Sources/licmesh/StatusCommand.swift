#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Mesh
import ArgumentParsing

/// `licmesh status`, `licmesh members`, `licmesh ledger`: the local agent's view of the cluster, asked
/// over its HTTP API. Exit codes (`StatusExitCode`): 0 healthy, 1 unhealthy or unlicensed (or the agent
/// answered an error), 2 the agent cannot be reached.

private let sharedOptions: [OptionSpec] = [
    .value("--http", "HOST:PORT|unix:PATH", "The agent's HTTP API: its TCP address or its unix socket (default: $LICMESH_HTTP, else \(AgentAPIConfiguration.defaultAddress), the config's default httpAddress)."),
    .value("--token-file", "FILE", "The bearer token for an agent with httpTokenFile (default: $LICMESH_HTTP_TOKEN_FILE)."),
    .flag("--json", "Print the agent's answer as JSON instead of a table."),
]

private let exitCodes = """
    Exit codes: 0 this node is healthy (joined and licensed), 1 unhealthy or unlicensed, 2 the agent cannot be reached.
    """

let statusCommand = Command(
    name: "status",
    summary: "Show the cluster at a glance: this node's health, the authority, the license's use, every member.",
    options: sharedOptions,
    discussion: exitCodes,
    run: { arguments in
        try StatusQuery(arguments).run { (client) throws(AgentAPIClientError) -> (String, Int32) in
            let status = try client.status()
            return (arguments.flag("--json") ? AgentStatusRendering.json(status) : AgentStatusRendering.status(status),
                    StatusExitCode.of(status))
        }
    }
)

let membersCommand = Command(
    name: "members",
    summary: "List the cluster's members as the local agent sees them.",
    options: sharedOptions,
    discussion: "Exit codes: 0 the agent answered, 1 it answered an error, 2 it cannot be reached.",
    run: { arguments in
        try StatusQuery(arguments).run { (client) throws(AgentAPIClientError) -> (String, Int32) in
            let report = try client.members()
            return (arguments.flag("--json") ? AgentStatusRendering.json(report) : AgentStatusRendering.members(report),
                    StatusExitCode.healthy)
        }
    }
)

let ledgerCommand = Command(
    name: "ledger",
    summary: "Show the core-allocation ledger as the local agent's replica holds it.",
    options: sharedOptions,
    discussion: "Exit codes: 0 the agent answered, 1 it answered an error, 2 it cannot be reached.",
    run: { arguments in
        try StatusQuery(arguments).run { (client) throws(AgentAPIClientError) -> (String, Int32) in
            let report = try client.ledger()
            return (arguments.flag("--json") ? AgentStatusRendering.json(report) : AgentStatusRendering.ledger(report),
                    StatusExitCode.healthy)
        }
    }
)

/// The address to ask, then one question: its rendering goes to standard output, a failure's message
/// to standard error, and either way the exit code says which.
private struct StatusQuery {
    let client: AgentAPIClient

    init(_ arguments: ParsedArguments) throws {
        if let extra = arguments.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'", command: arguments.commandPath)
        }
        let flag = arguments.string("--http")
        let environment = ProcessInfo.processInfo.environment
        let address: HTTPEndpoint
        do {
            address = try AgentAPIClient.address(flag: flag, environment: environment)
        } catch {
            let source = flag != nil ? "--http" : "LICMESH_HTTP"
            throw UsageError(message: "\(source): \(error)", command: arguments.commandPath)
        }
        let token: String?
        do {
            token = try AgentAPIClient.bearerToken(flag: arguments.string("--token-file"), environment: environment)
        } catch {
            throw UsageError(message: "\(error)", command: arguments.commandPath)
        }
        client = AgentAPIClient(address: address, bearerToken: token)
    }

    func run(_ ask: (AgentAPIClient) throws(AgentAPIClientError) -> (String, Int32)) throws -> Int32 {
        do {
            let (text, code) = try ask(client)
            print(text, terminator: "")
            return code
        } catch {
            printError("error: \(error)")
            return error.exitCode
        }
    }
}
