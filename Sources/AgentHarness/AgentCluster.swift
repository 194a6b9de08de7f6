#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the agents of a benchmark cluster are started: which binary, which protocol profile,
/// encrypted (a throwaway gossip key in a temporary folder) or plain.
package struct AgentLaunch: Sendable {
    package var executable: String
    package var profile: String
    package var plain: Bool
    package var cluster = "bench"
    /// Extra flags for every agent, and for some agents by ID (the licensed variant adds its own).
    package var extraArguments: [String] = []
    package var perAgentArguments: [UInt64: [String]] = [:]

    package init(executable: String, profile: String, plain: Bool, cluster: String = "bench",
                 extraArguments: [String] = [], perAgentArguments: [UInt64: [String]] = [:]) {
        self.executable = executable; self.profile = profile; self.plain = plain; self.cluster = cluster
        self.extraArguments = extraArguments; self.perAgentArguments = perAgentArguments
    }
}

/// The licmesh binary the agents run.
package enum AgentBinary {
    /// The running binary: licmesh itself for the demo.
    package static func current() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The licmesh binary in the folder of the running one: what licmesh-bench starts as agents (the
    /// benchmark and its agents are one build).
    package static func licmesh() -> String {
        let path = current()
        guard let slash = path.lastIndex(of: "/") else { return "licmesh" }
        return String(path[...slash]) + "licmesh"
    }
}

/// N `licmesh agent` processes on loopback that joined each other through the first one.
/// Owns its processes and its temporary folder: `stop()` ends and removes them all.
package final class AgentCluster {
    package let agents: [AgentProcess]
    package let folder: String
    /// CLOCK_MONOTONIC ms when every agent had reported every other as joined.
    package let convergedAtMilliseconds: Double
    /// Seconds from the first spawn to convergence.
    package let convergenceSeconds: Double

    /// Starts `count` agents with IDs `firstID`, `firstID + 1`, ... and waits (at most `timeout`
    /// seconds) until each has reported every other as joined. Stops everything it started if not.
    package init(count: Int, firstID: UInt64, launch: AgentLaunch, timeout: Double = 120) throws {
        let folder = try ChildProcesses.makeTemporaryFolder(prefix: "licmesh-bench")
        var started: [AgentProcess] = []
        do {
            var common = ["--bind", "127.0.0.1:0", "--profile", launch.profile, "--cluster", launch.cluster] + launch.extraArguments
            if launch.plain {
                common.append("--insecure-plain")
            } else {
                common += ["--gossip-key", try Self.makeGossipKey(executable: launch.executable, folder: folder)]
            }
            let begin = MonotonicSeconds.now()
            let first = try AgentProcess(executable: launch.executable, id: firstID,
                                         arguments: common + (launch.perAgentArguments[firstID] ?? []), folder: folder)
            started.append(first)
            guard waitUntil(timeout: 15, { first.address != nil || first.process.hasExited() }), let seed = first.address else {
                throw BenchmarkError("the first agent did not start: \(first.stderrTail())")
            }
            for index in 1..<max(count, 1) {
                let id = firstID + UInt64(index)
                started.append(try AgentProcess(executable: launch.executable, id: id,
                                                arguments: common + (launch.perAgentArguments[id] ?? []) + ["--seed-node", seed],
                                                folder: folder))
            }
            let ids = Set(started.map(\.id))
            let converged = waitUntil(timeout: timeout, step: 20_000) {
                started.allSatisfy { $0.joinedMembers().isSuperset(of: ids.subtracting([$0.id])) }
            }
            if let dead = started.first(where: { $0.process.hasExited() }) {
                throw BenchmarkError("agent \(dead.idText) exited during start-up: \(dead.stderrTail())")
            }
            guard converged else {
                let missing = started.map { ids.subtracting([$0.id]).subtracting($0.joinedMembers()).count }
                throw BenchmarkError("\(count) agents did not converge in \(Int(timeout)) s (joined events missing per agent: \(missing)); "
                                     + "the machine may be overloaded, try fewer --nodes")
            }
            convergedAtMilliseconds = MonotonicSeconds.milliseconds()
            convergenceSeconds = MonotonicSeconds.now() - begin
        } catch {
            for agent in started { agent.process.stop(grace: 0) }
            ChildProcesses.removeFolder(folder)
            throw error
        }
        agents = started
        self.folder = folder
    }

    /// A throwaway gossip key made by `licmesh keygen-gossip` (the tool's own key generation).
    private static func makeGossipKey(executable: String, folder: String) throws -> String {
        let path = joinedPath(folder, "gossip.key")
        let keygen = try ChildProcess(executable: executable, arguments: ["keygen-gossip", "--out", path], stderrPath: nil) { _ in }
        guard keygen.waitForExit(timeout: 30), FileManager.default.fileExists(atPath: path) else {
            keygen.stop(grace: 0)
            throw BenchmarkError("'\(executable) keygen-gossip --out \(path)' did not write a key")
        }
        return path
    }

    /// Ends every agent (SIGTERM and a grace period for a graceful leave, or SIGKILL at once when
    /// `grace` is 0) and removes the temporary folder.
    package func stop(grace: Double = 0) {
        if grace > 0 { for agent in agents { agent.process.signal(SIGTERM) } }
        for agent in agents { agent.process.stop(grace: grace) }
        ChildProcesses.removeFolder(folder)
    }

    /// How far each agent's `started` stamp lies outside the window [spawn, read] this process
    /// measured with its own CLOCK_MONOTONIC: 0 when the two clocks agree (the stamp is rounded
    /// down to the millisecond, so the lower bound gets 1 ms of slack).
    package func clockDisagreementMilliseconds() -> [Double] {
        agents.map { agent in
            guard let started = agent.events("started").first else { return .infinity }
            let low = agent.spawnedAtMilliseconds.rounded(.down) - 1
            if started.atMilliseconds < low { return low - started.atMilliseconds }
            if started.atMilliseconds > started.readMilliseconds { return started.atMilliseconds - started.readMilliseconds }
            return 0
        }
    }
}
