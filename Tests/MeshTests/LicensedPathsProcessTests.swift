import Foundation
import Glibc
import Licensing
@testable import Mesh
import SWIM
import Synchronization
import Testing

extension TransportTests {
    /// The paths around the failover that used to leave a node without cores (issue 9), on real
    /// `licmesh agent --config` processes over loopback (`local` profile, a 3 s grace period). Each test
    /// prints the time until every node held its cores again.
    @Suite struct LicensedPaths {}
}

/// Licensed agent processes with config files, fixed ports, and an HTTP API each.
final class ProcessCluster {
    let fixture: LicensedFixture
    let binary: String
    private(set) var children: [Int: ChildAgent] = [:]
    let gossipPorts: [UInt16]
    let httpPorts: [UInt16]
    let servers: [Int]

    /// `count` agents; `servers` are the license's servers (the rest ordinary hosts).
    init(_ name: String, count: Int, servers: [Int], maxCores: Int, binary: String) throws {
        fixture = LicensedFixture(cluster: name)
        self.binary = binary
        self.servers = servers
        gossipPorts = try (0..<count).map { _ in try Self.freePort() }
        httpPorts = try (0..<count).map { _ in try Self.freePort() }
        for index in 0..<count { try writeLicense(for: index, maxCores: maxCores) }
    }

    /// Each agent reads its own license file, so a renewal can be rolled out one agent at a time.
    func writeLicense(for index: Int, maxCores: Int, id: String? = nil, issued: Int64 = 1_700_000_000) throws {
        try fixture.writeLicense("license-\(index).lic", hosts: Array(0..<gossipPorts.count), servers: servers, maxCores: maxCores,
                                 issued: issued, id: id)
    }

    func address(_ index: Int) -> String { "127.0.0.1:\(gossipPorts[index])" }
    func id(_ index: Int) -> NodeID { NodeIdentity.nodeID(for: LicensedFixture.mac(index)) }

    /// Writes agent `index`'s config and starts it.
    @discardableResult
    func start(_ index: Int, seeds: [Int], cores: Int = 2, settings: String = "{}",
               licensing: String = #"{"deadGracePeriod": "3s", "refusedRetryInterval": "1s"}"#) throws -> ChildAgent {
        let seedList = seeds.map { "\"\(address($0))\"" }.joined(separator: ", ")
        fixture.scratch.write("agent-\(index).json", """
        {"mac": "\(LicensedFixture.mac(index))", "bind": "\(address(index))", "seeds": [\(seedList)],
         "clusterName": "\(fixture.cluster)", "insecurePlaintext": true, "licenseFile": "license-\(index).lic",
         "vendorPublicKeyFile": "vendor.pub", "cores": \(cores), "profile": "local", "settings": \(settings),
         "licensing": \(licensing), "dataDir": "data-\(index)", "httpAddress": "127.0.0.1:\(httpPorts[index])", "logLevel": "info"}
        """)
        let child = try ChildAgent(binary: binary, id: id(index), arguments: ["--config", fixture.scratch.file("agent-\(index).json")],
                                   passID: false)
        children[index] = child
        return child
    }

    func child(_ index: Int) -> ChildAgent { children[index]! }

    func kill(_ index: Int, _ signal: Int32 = SIGKILL) {
        guard let child = children[index] else { return }
        child.signal(signal)
        for _ in 0..<200 where child.exited == nil { usleep(10_000) }
        child.joinReaders()
    }

    func stopAll() {
        for index in children.keys.sorted() { kill(index) }
    }

    func client(_ index: Int) -> AgentAPIClient {
        AgentAPIClient(address: .loopbackV4(port: httpPorts[index]), timeout: .seconds(5))
    }

    func status(_ index: Int) -> AgentStatus? { try? client(index).status() }

    /// The cores agent `index` holds, by its own status (nil while it does not answer).
    func held(_ index: Int) -> Int? { status(index)?.coresHeld }

    /// A POST to the agent's API; the JSON answer's fields (nil when it did not answer).
    func post(_ index: Int, _ path: String, _ body: String) -> (status: Int, answer: [String: Any])? {
        Self.post(port: httpPorts[index], path, body)
    }

    /// A GET from the agent's API; the JSON answer's fields (nil when it did not answer).
    func get(_ index: Int, _ path: String) -> (status: Int, answer: [String: Any])? {
        Self.request("GET", port: httpPorts[index], path, body: nil)
    }

    static func post(port: UInt16, _ path: String, _ body: String) -> (status: Int, answer: [String: Any])? {
        request("POST", port: port, path, body: body)
    }

    private static func request(_ method: String, port: UInt16, _ path: String, body: String?) -> (status: Int, answer: [String: Any])? {
        guard let response = try? HTTPClientConnection.request(method, path, to: .loopbackV4(port: port),
                                                               body: body.map { Array($0.utf8) }, timeout: .seconds(5)) else { return nil }
        let answer = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
        return (response.status, answer)
    }

    /// Seconds until `condition` holds (polled every 50 ms), or nil after `timeout`. Sleeps without
    /// holding a thread of the cooperative pool (which async tests alongside need).
    static func secondsUntil(_ timeout: Double, _ condition: () -> Bool) async -> Double? {
        let start = monotonicSeconds()
        while monotonicSeconds() - start < timeout {
            if condition() { return monotonicSeconds() - start }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// A port free on 127.0.0.1 for both UDP and TCP right now (the kernel's pick for port 0).
    static func freePort() throws -> UInt16 {
        for _ in 0..<20 {
            let sockets = try TransportSockets.bind(to: .loopbackV4(port: 0))
            let port = sockets.localAddress.port
            sockets.close()
            if port != 0 { return port }
        }
        throw ChildAgent.BinaryProblem(reason: "no free port")
    }
}

extension TransportTests.LicensedPaths {
    /// Item 1: a node SIGKILLed and restarted after the grace period returned its cores gets them back,
    /// as an ordinary node and as the authority.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func aLateRestartGetsItsCoresBackAsANodeAndAsTheAuthority() async throws {
        let cluster = try ProcessCluster("late-restart", count: 4, servers: [0, 1, 2], maxCores: 8, binary: ChildAgent.binary!)
        defer { cluster.stopAll() }
        for index in 0..<4 { try cluster.start(index, seeds: index == 0 ? [] : [0]) }
        let all = await ProcessCluster.secondsUntil(20) { (0..<4).allSatisfy { cluster.held($0) == 2 } }
        try #require(all != nil, "\((0..<4).map { cluster.status($0)?.problems ?? ["no answer"] })")

        // An ordinary node, killed; the authority returns its cores after the grace period.
        cluster.kill(3)
        let returned = await ProcessCluster.secondsUntil(20) {
            cluster.child(0).events.contains { $0["event"] == "released" && $0["holder"] == cluster.id(3).description }
        }
        try #require(returned != nil, "the authority never returned the dead node's cores: \(cluster.child(0).log)")
        try cluster.start(3, seeds: [0, 1])
        let nodeBack = await ProcessCluster.secondsUntil(20) { cluster.held(3) == 2 }
        #expect(nodeBack != nil, "the restarted node holds no cores: \(cluster.status(3)?.problems ?? [])")

        // The authority, killed; its successor returns its cores after the grace period.
        cluster.kill(0)
        let reclaimed = await ProcessCluster.secondsUntil(20) {
            cluster.child(1).events.contains { $0["event"] == "released" && $0["holder"] == cluster.id(0).description }
        }
        try #require(reclaimed != nil, "the new authority never returned the old one's cores: \(cluster.child(1).log)")
        try cluster.start(0, seeds: [1, 2])
        let authorityBack = await ProcessCluster.secondsUntil(20) {
            cluster.held(0) == 2 && cluster.status(0)?.isAuthority == true && (1..<4).allSatisfy { cluster.held($0) == 2 }
        }
        #expect(authorityBack != nil, "the restarted authority: \(cluster.status(0)?.problems ?? [])")
        print("LicensedPaths: late restart: an ordinary node held its cores \(format(nodeBack)) s after restarting, "
              + "the authority (back as authority) \(format(authorityBack)) s after")
    }

    /// Item 4: a node refused for lack of cores asks again by itself once cores are freed, and its
    /// message gives today's figures, not those of the refusal.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func aRefusedNodeGetsItsCoresOnceAnotherReleasesThem() async throws {
        let cluster = try ProcessCluster("refused", count: 3, servers: [0, 1, 2], maxCores: 4, binary: ChildAgent.binary!)
        defer { cluster.stopAll() }
        // The third starts once the first two hold the 4 cores the license allows.
        for index in 0..<2 { try cluster.start(index, seeds: index == 0 ? [] : [0]) }
        try #require(await ProcessCluster.secondsUntil(20) { (0..<2).allSatisfy { cluster.held($0) == 2 } } != nil)
        try cluster.start(2, seeds: [0])
        let refused = await ProcessCluster.secondsUntil(10) {
            cluster.status(2)?.problems.contains { $0.hasPrefix(LicensingMessages.cpuLimitExhausted) && $0.contains("4 are in use") } == true
        }
        #expect(refused != nil, "\(cluster.status(2)?.problems ?? [])")
        let release = cluster.post(1, "/v1/release", "{}")
        #expect(release?.status == 200, "\(String(describing: release))")
        let granted = await ProcessCluster.secondsUntil(10) { cluster.held(2) == 2 }
        #expect(granted != nil, "the refused node never got the released cores: \(cluster.status(2)?.problems ?? [])")
        #expect(cluster.status(1)?.problems.contains { $0.contains("it released them") || $0.contains("released its cores") } == true,
                "the releasing node says why it holds none: \(cluster.status(1)?.problems ?? [])")
        print("LicensedPaths: a refused node held its cores \(format(granted)) s after another released them")
    }

    /// Item 5: a renewed license rolled out server by server (SIGHUP, 1 s apart) with a node restarted
    /// midway: acquires keep being answered, status says the servers hold a mix, and at the end every
    /// node holds its cores under one license again.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func aRenewalRolledOutServerByServerKeepsGranting() async throws {
        let cluster = try ProcessCluster("renewal", count: 4, servers: [0, 1, 2], maxCores: 8, binary: ChildAgent.binary!)
        defer { cluster.stopAll() }
        for index in 0..<4 { try cluster.start(index, seeds: index == 0 ? [] : [0]) }
        try #require(await ProcessCluster.secondsUntil(20) { (0..<4).allSatisfy { cluster.held($0) == 2 } } != nil)

        // A client acquiring in a loop on node 3 while the renewal rolls out.
        let answers = Mutex<[(seconds: Double, outcome: String)]>([])
        let stop = Mutex(false)
        let clientPort = cluster.httpPorts[3]
        let client = Thread {
            while !stop.withLock({ $0 }) {
                let started = ProcessCluster.monotonicSeconds()
                let outcome = ProcessCluster.post(port: clientPort, "/v1/acquire", #"{"cores": 2, "timeoutMs": 3000}"#)?.answer["outcome"] as? String ?? "no answer"
                answers.withLock { $0.append((ProcessCluster.monotonicSeconds() - started, outcome)) }
                usleep(100_000)
            }
        }
        client.start()
        var sawMix = false
        for (step, server) in [2, 1, 0].enumerated() {
            try cluster.writeLicense(for: server, maxCores: 8, id: "RENEWED-2027", issued: 1_760_000_000)
            cluster.child(server).signal(SIGHUP)
            if step == 0 {
                sawMix = await ProcessCluster.secondsUntil(10) {
                    cluster.status(0)?.license?.problems.contains { $0.contains("different versions of this license") } == true
                } != nil
                #expect(cluster.status(0)?.healthy == true, "a mix of versions is not a fault: \(cluster.status(0)?.problems ?? [])")
                let health = cluster.get(0, "/health")
                #expect(health?.status == 200 && (health?.answer["warnings"] as? [String])?.contains { $0.contains("different versions") } == true,
                        "/health says the servers hold a mix: \(String(describing: health))")
                cluster.kill(3)   // a restart midway, while the servers hold a mix
                try cluster.start(3, seeds: [0, 1])
            }
            try await Task.sleep(for: .seconds(1))
        }
        try cluster.writeLicense(for: 3, maxCores: 8, id: "RENEWED-2027", issued: 1_760_000_000)
        cluster.child(3).signal(SIGHUP)
        let allBack = await ProcessCluster.secondsUntil(15) {
            (0..<4).allSatisfy { index in
                let status = cluster.status(index)
                return status?.coresHeld == 2 && status?.license?.id == "RENEWED-2027" && status?.healthy == true
            }
        }
        stop.withLock { $0 = true }
        while !client.isFinished { usleep(10_000) }
        let seen = answers.withLock { $0 }
        #expect(sawMix, "status never said the servers hold different versions")
        #expect(allBack != nil, "\((0..<4).map { cluster.status($0)?.problems ?? ["no answer"] })")
        let granted = seen.filter { $0.outcome == "granted" }
        let others = seen.filter { $0.outcome != "granted" && $0.outcome != "no answer" }
        #expect(granted.count >= 10 && others.isEmpty, "acquires during the rollout: \(seen.map(\.outcome))")
        let slowest = granted.map(\.seconds).max() ?? 0
        print("LicensedPaths: renewal: \(granted.count) acquires answered during the rollout, slowest \(String(format: "%.3f", slowest)) s; "
              + "every node held its cores under the new license \(format(allBack)) s after the last reload")
    }

    /// Item 6: the first server, started alone with seeds that are not up yet, serves as soon as the
    /// second joins it, not at its own next join retry (30 s away here). Until then, status says why.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func theFirstServerServesAsSoonAsTheSecondJoinsIt() async throws {
        let cluster = try ProcessCluster("first-alone", count: 2, servers: [0, 1], maxCores: 8, binary: ChildAgent.binary!)
        defer { cluster.stopAll() }
        let slowRetries = #"{"joinRetryInterval": "1s", "maxJoinRetryInterval": "30s"}"#
        try cluster.start(0, seeds: [1], settings: slowRetries)
        let alone = await ProcessCluster.secondsUntil(10) { cluster.status(0) != nil }
        try #require(alone != nil)
        try await Task.sleep(for: .milliseconds(7_500))   // it retried at 1, 3 and 7 s; its next retry is at 15 s
        let lonely = cluster.status(0)
        #expect(lonely?.healthy == false && lonely?.problems.contains { $0.hasPrefix("not joined") } == true, "\(lonely?.problems ?? [])")
        let second = ProcessCluster.monotonicSeconds()
        try cluster.start(1, seeds: [0], settings: slowRetries)
        let serving = await ProcessCluster.secondsUntil(4) { cluster.held(0) == 2 && cluster.held(1) == 2 && cluster.status(0)?.healthy == true }
        #expect(serving != nil, "\(cluster.status(0)?.problems ?? [])")
        print("LicensedPaths: first server alone: both held their cores \(String(format: "%.2f", ProcessCluster.monotonicSeconds() - second)) s after the second server started")
    }

    /// Item 7: once in about 30 simultaneous cold starts, the authority was elected at once but refused
    /// every grant for want of a quorum for minutes. Three servers, each seeding the other two, started
    /// at the same moment with empty data directories, ten times: every time all three hold their cores.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func simultaneousColdStartsOfThreeServersAllServe() async throws {
        var times: [Double] = []
        for round in 0..<10 {
            let cluster = try ProcessCluster("cold-\(round)", count: 3, servers: [0, 1, 2], maxCores: 6, binary: ChildAgent.binary!)
            defer { cluster.stopAll() }
            for index in 0..<3 { try cluster.start(index, seeds: (0..<3).filter { $0 != index }) }
            let serving = await ProcessCluster.secondsUntil(15) {
                (0..<3).allSatisfy { cluster.held($0) == 2 && cluster.status($0)?.healthy == true }
            }
            #expect(serving != nil, "round \(round): \((0..<3).map { cluster.status($0)?.problems ?? ["no answer"] })")
            times.append(serving ?? .infinity)
        }
        let sorted = times.sorted()
        print("LicensedPaths: 10 simultaneous cold starts of three servers: all held their cores after median "
              + "\(format(sorted[sorted.count / 2])) s, at most \(format(sorted.last)) s")
    }

    /// Status tells the truth: with two of three license servers gone there is no quorum, and /health
    /// and `licmesh status` say so (not HEALTHY), with what to do, although this node still holds cores.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func withoutAQuorumOfServersStatusIsNotHealthy() async throws {
        let cluster = try ProcessCluster("no-quorum", count: 4, servers: [0, 1, 2], maxCores: 8, binary: ChildAgent.binary!)
        defer { cluster.stopAll() }
        for index in 0..<4 { try cluster.start(index, seeds: index == 0 ? [] : [0]) }
        let allHealthy = await ProcessCluster.secondsUntil(20) { (0..<4).allSatisfy { cluster.status($0)?.healthy == true } }
        try #require(allHealthy != nil, "\((0..<4).map { "agent \($0): \(cluster.status($0)?.problems.joined(separator: "; ") ?? "no answer")" })")
        cluster.kill(0)
        cluster.kill(1)
        let unhealthy = await ProcessCluster.secondsUntil(10) {
            guard let status = cluster.status(3) else { return false }
            return !status.healthy && status.problems.contains { $0.hasPrefix("no quorum of license servers: 1 of the 2 needed") }
        }
        #expect(unhealthy != nil, "\(cluster.status(3)?.problems ?? [])")
        let health = try? HTTPClientConnection.request("GET", "/health", to: .loopbackV4(port: cluster.httpPorts[3]), timeout: .seconds(5))
        #expect(health?.status == 503)
        #expect(health?.text.contains("no quorum of license servers") == true, "\(health?.text ?? "")")
        let command = EndToEndNamespaceTests.run(cluster.binary, ["status", "--http", "127.0.0.1:\(cluster.httpPorts[3])"])
        #expect(command.status == 1 && command.output.contains("no quorum"), "\(command.output)")
    }
}

private func format(_ seconds: Double?) -> String { seconds.map { String(format: "%.2f", $0) } ?? "never" }
