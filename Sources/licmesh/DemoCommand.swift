import ArgumentParsing

/// `licmesh demo`: the takeover, shown on a fresh machine with nothing set up.
let demoCommand = Command(
    name: "demo",
    summary: "Start 5 licensed agents on loopback, kill the authority with SIGKILL, narrate the takeover with timings.",
    options: [
        .value("--nodes", "N", "Agents to start (default 5; 3 of them are license servers)."),
        .value("--profile", "NAME", "Protocol timers: lan (default), wan or local."),
    ],
    discussion: """
    Makes a throwaway vendor key, gossip key and license in a temporary folder, starts the agents as
    child processes of this binary, shows the cluster, starts a client that acquires and validates in
    a loop through one agent's HTTP API, kills the authority, and prints each survivor's suspicion and
    confirmation, the new authority, and the client's first acquire it served, with times since the
    kill. Then it stops everything and removes its files (also on Ctrl-C). Exit status 0 when the new
    authority served the client and no validation failed.
    """,
    run: { arguments in
        let nodes = try arguments.int("--nodes", default: 5, range: 3...20)
        let profile = arguments.string("--profile") ?? "lan"
        guard ["lan", "wan", "local"].contains(profile) else {
            throw arguments.malformed("--profile", profile, "lan, wan or local")
        }
        return try TakeoverDemo.run(nodes: nodes, profile: profile) { print($0) }
    }
)
