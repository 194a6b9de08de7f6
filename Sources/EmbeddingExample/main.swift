// A Swift server that embeds the licensing agent instead of running `licmesh agent` beside it.
// Copy what is between the two rules into your server; docs/embedding.md explains each step.
//
//   licmesh-embedding-example --license FILE --vendor-key FILE --mac MAC --bind IP:PORT
//       --seed IP:PORT --data-dir DIR --cluster NAME (--gossip-key FILE | --plaintext) [--feature NAME]
#if canImport(Glibc)
import Glibc
#endif
import Mesh

let options = ExampleOptions(CommandLine.arguments.dropFirst())
if options.has("--help") || options["--license"] == nil {
    print("""
        usage: licmesh-embedding-example --license FILE --vendor-key FILE --mac MAC --bind IP:PORT
                 --seed IP:PORT --data-dir DIR --cluster NAME (--gossip-key FILE | --plaintext) [--feature NAME]
        Joins the cluster as a licensed node, validates, asks for 4 cores, then leaves. See docs/embedding.md.
        """)
    exit(options.has("--help") ? 0 : 2)
}

// ---------------------------------------------------------------------------------------------
// 1. Configure from code: the same fields as the agent's JSON file (docs/configuration.md).
var file = AgentConfigFile()
file.bind = options["--bind"]
file.seeds = options.all("--seed")
file.clusterName = options["--cluster"]
file.mac = options["--mac"]
file.licenseFile = options["--license"]
file.vendorPublicKeyFile = options["--vendor-key"]
file.gossipKeyFiles = options.all("--gossip-key")
file.insecurePlaintext = options.has("--plaintext")
file.dataDir = options["--data-dir"]
file.cores = 2

do {
    // 2. Start: checks the license, opens the data directory, binds and joins the seeds.
    let config = try ResolvedAgentConfig.resolve(file, context: .system())
    let agent = try LicensedAgent.start(LicensedAgentConfig(config))

    // 3. Follow what licensing does (authority changes, grants, refusals), e.g. into your own log.
    let events = Task {
        for await event in agent.licensingEvents { print("event: \(event)") }
    }

    // 4. Before doing licensed work, validate: answered locally, in microseconds, never waiting on
    //    the network. Here we wait until this node holds its cores (it asked for them at start).
    var answer = await agent.validate(feature: options["--feature"])
    for _ in 0..<300 where !answer.allowed {
        try await Task.sleep(for: .milliseconds(100))
        answer = await agent.validate(feature: options["--feature"])
    }
    guard answer.allowed else { throw ExampleFailure("not licensed: \(answer.message)") }
    print("licensed: \(answer.cores) cores")

    // 5. Ask for more cores when the work needs them; the answer says why when it is no.
    let grant = await agent.acquire(cores: 4, timeout: .seconds(5))
    print("acquire: \(grant.outcome) \(grant.cores) cores from authority \(grant.authority ?? "none") \(grant.message)")

    // 6. Stop gracefully (on SIGTERM, say): give the cores back and leave, then stop.
    await agent.leave()
    events.cancel()
    print("left the cluster")
} catch {
    print("error: \(error)")
    exit(1)
}
// ---------------------------------------------------------------------------------------------

/// `--name value` pairs and bare flags, for this example only.
struct ExampleOptions {
    private var pairs: [(String, String)] = []
    private var flags: Set<String> = []

    init(_ arguments: ArraySlice<String>) {
        var rest = arguments[...]
        while let name = rest.popFirst() {
            if let value = rest.first, !value.hasPrefix("--") {
                pairs.append((name, value))
                rest = rest.dropFirst()
            } else {
                flags.insert(name)
            }
        }
    }

    subscript(name: String) -> String? { pairs.first { $0.0 == name }?.1 }
    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
    func has(_ name: String) -> Bool { flags.contains(name) }
}

struct ExampleFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
