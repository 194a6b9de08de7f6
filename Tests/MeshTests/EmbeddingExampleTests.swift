import Foundation
import Glibc
@testable import Mesh
import SWIM
import Simulation
import Testing

extension TransportTests {
    /// The embedding example (Sources/EmbeddingExample, docs/embedding.md) as a newcomer would run it:
    /// built by the test suite, started as its own process, joining a real licensed agent. Inside the
    /// serialized transport suite, like every test that binds ports: its agents bind ephemeral ports,
    /// which could otherwise take one a process cluster has probed as free and is about to bind.
    @Suite struct EmbeddingExampleTests {
        /// Next to `licmesh`, which the process tests already locate (and check is up to date).
        static let example: String? = ChildAgent.binary.map { ($0 as NSString).deletingLastPathComponent + "/licmesh-embedding-example" }
            .flatMap { access($0, X_OK) == 0 ? $0 : nil }

        @Test(.enabled(if: example != nil, "licmesh-embedding-example is not built next to the test bundle; run 'swift build' first"))
        func theExampleJoinsValidatesAcquiresAndLeaves() async throws {
            let example = try #require(Self.example)
            let fixture = LicensedFixture(cluster: "embedding")
            try fixture.writeLicense(hosts: [0, 1], servers: [0, 1], maxCores: 8)
            let server = try fixture.start(0)
            let port = try Self.freeUDPAndTCPPort()
            let arguments = [
                "--license", fixture.scratch.file("license.lic"), "--vendor-key", fixture.scratch.file("vendor.pub"),
                "--mac", LicensedFixture.mac(1).description, "--bind", "127.0.0.1:\(port)",
                "--seed", server.agent.address.description, "--data-dir", fixture.dataDirectory(1),
                "--cluster", fixture.cluster, "--plaintext",
            ]
            let run = try await runOffThePool { EndToEndNamespaceTests.run(example, arguments) }
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("licensed: 2 cores"))
            #expect(run.output.contains("acquire: granted 4 cores from authority \(server.id)"), "\(run.output)")
            #expect(run.output.contains("event: "), "it followed the licensing events")
            #expect(run.output.contains("left the cluster"))
            // Its cores came back when it left: the server's ledger holds only the server's own grant.
            #expect(await LicensedTestSupport.eventually { await server.status().coresInUse == 2 })
            await server.stop()
        }

        /// A port free for both UDP and TCP on 127.0.0.1 a moment ago (the agent binds both).
        static func freeUDPAndTCPPort() throws -> UInt16 {
            for _ in 0..<20 {
                let udp = try UDPSocket(bindingTo: .loopbackV4(port: 0))
                let port = udp.localAddress.port
                let tcp = try? StreamListener(bindingTo: .loopbackV4(port: port))
                udp.close()
                tcp?.close()
                if tcp != nil { return port }
            }
            throw CancellationError()
        }
    }
}
