import Foundation
import Glibc
import Licensing
@testable import Mesh
import SWIM
import Testing

extension TransportTests {
    @Suite struct LicensedProcesses {}
}

extension TransportTests.LicensedProcesses {
    /// Three `licmesh agent --license ...` processes: each holds its cores; SIGKILL of the authority
    /// makes the next lowest take over; SIGHUP reloads; SIGTERM releases the cores and exits 0.
    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func licensedProcessesTakeOverReloadAndReleaseOnSIGTERM() async throws {
        let binary = try #require(ChildAgent.binary)
        let fixture = LicensedFixture(cluster: "licensed-processes")
        try fixture.writeLicense(hosts: [0, 1, 2], servers: [0, 1, 2], maxCores: 16)
        func arguments(_ index: Int, seed: SocketAddress?) -> [String] {
            ["--bind", "127.0.0.1:0", "--profile", "local", "--cluster", fixture.cluster, "--insecure-plain", "--log-level", "info",
             "--license", fixture.scratch.file("license.lic"), "--vendor-key", fixture.scratch.file("vendor.pub"),
             "--mac", LicensedFixture.mac(index).description, "--cores", "2", "--data-dir", fixture.dataDirectory(index)]
                + (seed.map { ["--seed-node", $0.description] } ?? [])
        }
        func id(_ index: Int) -> NodeID { NodeIdentity.nodeID(for: LicensedFixture.mac(index)) }
        var children: [ChildAgent] = []
        defer { for child in children where child.exited == nil { child.signal(SIGKILL) } }
        let first = try ChildAgent(binary: binary, id: id(0), arguments: arguments(0, seed: nil))
        children.append(first)
        #expect(await AgentTestSupport.eventually { first.address != nil }, "no started line: \(first.log)")
        let seed = try #require(first.address)
        for index in 1...2 { children.append(try ChildAgent(binary: binary, id: id(index), arguments: arguments(index, seed: seed))) }
        #expect(await AgentTestSupport.eventually {
            children.allSatisfy { child in child.events.contains { $0["event"] == "holding" && $0["holder"] == child.id.description } }
        }, "\(children.map(\.log))")

        first.signal(SIGKILL)
        let (second, third) = (children[1], children[2])
        #expect(await AgentTestSupport.eventually {
            [second, third].allSatisfy { child in
                child.events.contains { $0["event"] == "authority" && $0["authority"] == second.id.description }
            }
        }, "\(second.log)")

        // SIGHUP re-reads the files (the same license here) and keeps running.
        second.signal(SIGHUP)
        #expect(await AgentTestSupport.eventually { second.log.contains("reloaded license and keys") })
        #expect(second.exited == nil)

        third.signal(SIGTERM)
        #expect(await AgentTestSupport.eventually { third.exited != nil })
        #expect(third.exited == 0, "\(third.log)")
        #expect(await AgentTestSupport.eventually {
            second.events.contains { $0["event"] == "released" && $0["holder"] == third.id.description }
        }, "the authority records the release: \(second.log)")
        second.signal(SIGTERM)
        #expect(await AgentTestSupport.eventually { second.exited != nil })
        #expect(second.exited == 0)
        for child in children { child.joinReaders() }
    }

    @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
    func aConfigurationErrorExitsWithStatus78BeforeBinding() async throws {
        let binary = try #require(ChildAgent.binary)
        let fixture = LicensedFixture(cluster: "bad-config")
        try fixture.writeLicense(hosts: [0], servers: [0])
        fixture.scratch.write("agent.json", #"{"mac": "02:00:00:00:10:00", "bind": "localhost", "insecurePlaintext": true, "licenseFile": "license.lic", "vendorPublicKeyFile": "vendor.pub"}"#)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["agent", "--config", fixture.scratch.file("agent.json")]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 78)
        #expect(text.contains("config field 'bind': 'localhost' is not host:port"), "\(text)")
    }
}
