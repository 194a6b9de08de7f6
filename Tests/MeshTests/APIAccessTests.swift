import Foundation
import Glibc
@testable import Mesh
import SWIM
import Synchronization
import Testing

/// The local API in production (issue 11): no starvation by idle or slow clients, no calls from web
/// pages, the unix socket and the bearer token, strict bodies and the new metrics. Real sockets against
/// `FakeAgentControl`, inside the serialized transport suite (descriptor counts are process-wide).
extension TransportTests {
    @Suite struct APIAccessTests {
        static let patience = TransportTestSupport.patience

        static func start(_ control: FakeAgentControl = FakeAgentControl(), _ configure: (inout AgentAPIConfiguration) -> Void = { _ in })
            throws -> AgentHTTPAPI
        {
            var configuration = AgentAPIConfiguration(address: .loopbackV4(port: 0))
            configure(&configuration)
            return try AgentHTTPAPI(control: control, configuration: configuration)
        }

        static func socketPath(_ name: String) -> String {
            "/tmp/licmesh-test-\(getpid())-\(name).sock"
        }

        static func errorText(_ response: HTTPClientResponse) -> String {
            struct Body: Decodable { var error: String }
            return (try? JSONDecoder().decode(Body.self, from: Data(response.body)).error) ?? response.text
        }

        // MARK: - 1. An event loop: idle and slow clients cost a descriptor, never a validate

        @Test func everyValidateIsAnsweredWhileAThousandIdleAndAHundredSlowlorisConnectionsAreHeld() throws {
            let api = try Self.start()
            defer { api.stop() }
            // 1,000 kept-alive connections, each served once and then left idle.
            var idle: [HTTPClientConnection] = []
            for _ in 0..<1000 {
                let connection = try HTTPClientConnection(connectingTo: api.address, timeout: Self.patience)
                #expect(try connection.get("/health/live", timeout: Self.patience).status == 200)
                idle.append(connection)
            }
            // 100 slowloris clients, each holding half a request head.
            var slow: [HTTPTestClient] = []
            for _ in 0..<100 {
                let client = try HTTPTestClient(api.address)
                #expect(client.send("POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "))
                slow.append(client)
            }
            defer {
                for connection in idle { connection.close() }
                for client in slow { client.close() }
            }
            // A normal client, on one connection and on fresh ones: every validate answered.
            let normal = try HTTPClientConnection(connectingTo: api.address, timeout: Self.patience)
            for index in 0..<200 {
                let response = index % 2 == 0
                    ? try normal.post("/v1/validate", json: #"{"feature": "solver"}"#, timeout: Self.patience)
                    : try HTTPClientConnection.request("POST", "/v1/validate", to: api.address, body: Array("{}".utf8), timeout: Self.patience)
                #expect(response.status == 200, "validate \(index): \(response.status) \(response.text)")
            }
            let metrics = api.serverMetrics.snapshot()
            #expect(metrics.connectionsOpen >= 1101, "the idle and slow connections are all still held")
            #expect(metrics.connectionsRefused == 0)
            #expect(metrics.connectionsEvicted == 0)
        }

        @Test func aValidateIsNotHeldUpByAcquiresWaitingForTheAuthority() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer {
                control.releaseHung()
                api.stop()
            }
            control.set { $0.hangAcquires = true }
            // Thirty acquires wait for an authority that does not answer; validates still answer at once.
            let waiting = (0..<30).map { index in
                IOThread(name: "test-acquire-\(index)") {
                    _ = try? HTTPClientConnection.request("POST", "/v1/acquire", to: api.address, body: Array("{}".utf8), timeout: .seconds(30))
                }
            }
            #expect(control.waitForCalls("acquire", count: 30))
            for _ in 0..<20 {
                let response = try HTTPClientConnection.request("POST", "/v1/validate", to: api.address, body: Array("{}".utf8), timeout: Self.patience)
                #expect(response.status == 200)
            }
            #expect(api.outstandingAgentCalls == 30, "the acquires are still waiting")
            control.releaseHung()
            for thread in waiting { #expect(thread.join(timeout: Self.patience)) }
        }

        // MARK: - 3. Browser-proof by default

        @Test func theCrossOriginReleaseFromTheIssueIsRefused() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            // curl -XPOST 127.0.0.1:PORT/v1/release -H 'Host: evil.example' -H 'Origin: http://evil.example'
            //      -H 'Content-Type: text/plain' -d '{}'
            let client = try HTTPTestClient(api.address)
            defer { client.close() }
            #expect(client.send("POST /v1/release HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"))
            let response = try client.readResponse()
            #expect(response.status == 403)
            #expect(response.text.contains("Origin"))
            #expect(!control.calls.contains { $0.name == "release" }, "nothing reached the agent")
            #expect(api.accessFailures(.origin) == 1)
        }

        @Test func aForeignHostOrAFormBodyIsRefusedEvenWithoutOrigin() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            let port = api.address.port
            func send(_ head: String, body: String = "{}") throws -> HTTPTestClient.Response {
                try HTTPTestClient.exchange(api.address, head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            }
            // DNS rebinding: the page's own name, resolved to 127.0.0.1.
            let rebound = try send("POST /v1/acquire HTTP/1.1\r\nHost: evil.example:\(port)\r\nContent-Type: application/json\r\n")
            #expect(rebound.status == 403)
            #expect(rebound.text.contains("DNS rebinding"))
            // A form's body type, which a page can send cross-origin without a preflight.
            let form = try send("POST /v1/acquire HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: text/plain\r\n")
            #expect(form.status == 415)
            #expect(try send("POST /v1/acquire HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n").status == 415, "no Content-Type at all")
            #expect(!control.calls.contains { $0.name == "acquire" })
            // Loopback names and the bound address pass; a JSON body with parameters passes.
            for host in ["127.0.0.1:\(port)", "localhost:\(port)", "localhost", "[::1]:\(port)", "127.0.0.2"] {
                let response = try send("POST /v1/validate HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json; charset=utf-8\r\n")
                #expect(response.status == 200, "Host \(host)")
            }
            #expect(try send("POST /v1/acquire HTTP/1.1\r\nHost: 127.0.0.1\r\n", body: "").status == 200, "an empty body needs no type")
            #expect(api.accessFailures(.host) == 1)
            #expect(api.accessFailures(.contentType) == 2)
        }

        // MARK: - 2. Access control: the unix socket and the bearer token

        @Test func theUnixSocketHasItsModeServesEveryEndpointAndIsRemovedAtStop() throws {
            let path = Self.socketPath("mode")
            let control = FakeAgentControl()
            let api = try Self.start(control) {
                $0.server.unixSocketPath = path
                $0.server.unixSocketAccess = UnixSocketAccess(mode: 0o660, group: String(getgid()))
            }
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(info.st_gid == getgid())
            #expect(api.endpoints.contains(.unix(path: path)))

            let client = AgentAPIClient(address: .unix(path: path))
            #expect(try client.status() == APIFixtures.healthyStatus())
            let acquire = try HTTPClientConnection.request("POST", "/v1/acquire", to: .unix(path: path), body: Array("{}".utf8), timeout: Self.patience)
            #expect(acquire.status == 200)
            // With a socket and no token, acquire and release over TCP are refused: the socket is the gate.
            let overTCP = try HTTPClientConnection.request("POST", "/v1/acquire", to: api.address, body: Array("{}".utf8), timeout: Self.patience)
            #expect(overTCP.status == 403)
            #expect(Self.errorText(overTCP).contains("unix socket"))
            #expect(api.accessFailures(.socketOnly) == 1)
            #expect(try HTTPClientConnection.request("GET", "/v1/status", to: api.address, timeout: Self.patience).status == 200, "reads stay open")
            #expect(control.calls.filter { $0.name == "acquire" }.count == 1)

            api.stop()
            #expect(access(path, F_OK) != 0, "the socket file is removed at stop")
            #expect(throws: AgentAPIClientError.self) { try client.status() }
        }

        @Test func aRequestOnTheSocketKnowsItsUserAndItsListener() throws {
            let path = Self.socketPath("peer")
            var router = HTTPRouter()
            router.get("/who") { request in .text("\(request.peer.map { "\($0)" } ?? "none") via \(request.endpoint.map { "\($0)" } ?? "none")") }
            let server = try HTTPServer(configuration: HTTPServerConfiguration(address: nil, unixSocketPath: path), handler: router.handler)
            defer { server.stop() }
            #expect(server.localAddress == nil)
            let answer = try HTTPClientConnection.request("GET", "/who", to: .unix(path: path), timeout: Self.patience)
            #expect(answer.text == "\(HTTPPeer.local(uid: getuid())) via unix:\(path)")
        }

        @Test func aStaleSocketIsReplacedButALiveOneOrAFileIsNot() throws {
            let path = Self.socketPath("stale")
            defer { unlink(path) }
            // A socket left behind by an agent that did not stop cleanly: bound, never listened on.
            let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0)
            close(stale)
            let first = try Self.start { $0.server.address = nil; $0.server.unixSocketPath = path }
            #expect(try AgentAPIClient(address: .unix(path: path)).status().node == APIFixtures.healthyStatus().node)
            // A live one is not taken over.
            #expect { try Self.start { $0.server.address = nil; $0.server.unixSocketPath = path } } throws: { error in
                "\(error)".contains("another process")
            }
            first.stop()
            // Nor is a regular file.
            #expect(FileManager.default.createFile(atPath: path, contents: Array("data".utf8).withUnsafeBytes { Data($0) }))
            #expect { try Self.start { $0.server.address = nil; $0.server.unixSocketPath = path } } throws: { error in
                "\(error)".contains("not a socket")
            }
            #expect(FileManager.default.contents(atPath: path) == Data("data".utf8), "the file is left alone")
        }

        @Test func withATokenChangesNeedItAndReadsCanBeOpenOrNot() throws {
            let token = "s3cr3t-t0ken-0123456789"
            let control = FakeAgentControl()
            let open = try Self.start(control) { $0.access = APIAccessPolicy(bearerToken: token, openReads: true) }
            defer { open.stop() }
            func acquire(_ api: AgentHTTPAPI, bearer: String?) throws -> HTTPClientResponse {
                try HTTPClientConnection.request("POST", "/v1/acquire", to: .tcp(api.address), body: Array("{}".utf8), bearerToken: bearer, timeout: Self.patience)
            }
            let missing = try acquire(open, bearer: nil)
            #expect(missing.status == 401)
            #expect(missing.headers["WWW-Authenticate"] == "Bearer")
            #expect(Self.errorText(missing).contains("httpTokenFile"))
            #expect(try acquire(open, bearer: "s3cr3t-t0ken-0123456780").status == 401)
            #expect(try acquire(open, bearer: token).status == 200)
            #expect(try HTTPClientConnection.request("GET", "/v1/status", to: open.address, timeout: Self.patience).status == 200)
            #expect(open.accessFailures(.missingToken) == 1)
            #expect(open.accessFailures(.wrongToken) == 1)

            let closed = try Self.start(control) { $0.access = APIAccessPolicy(bearerToken: token, openReads: false) }
            defer { closed.stop() }
            #expect(try HTTPClientConnection.request("GET", "/v1/status", to: closed.address, timeout: Self.patience).status == 401)
            let client = AgentAPIClient(address: .tcp(closed.address), bearerToken: token)
            #expect(try client.status().node == APIFixtures.healthyStatus().node, "licmesh status sends the token")
            #expect(throws: AgentAPIClientError.self) { try AgentAPIClient(address: .tcp(closed.address)).status() }
        }

        @Test func theTokenFileMustBeLongEnoughAndNotWorldReadable() throws {
            let path = "/tmp/licmesh-test-\(getpid())-token"
            defer { unlink(path) }
            func write(_ text: String, mode: mode_t) {
                _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
                chmod(path, mode)
            }
            write("0123456789abcdef0123\n", mode: 0o640)
            #expect(try APIToken.read(path: path) == "0123456789abcdef0123")
            write("short\n", mode: 0o600)
            #expect { try APIToken.read(path: path) } throws: { "\($0)".contains("shorter than 16") }
            write("0123456789abcdef0123\n", mode: 0o644)
            #expect { try APIToken.read(path: path) } throws: { "\($0)".contains("readable by every user") }
            #expect(throws: APITokenError.self) { try APIToken.read(path: path + ".missing") }
        }

        @Test(.enabled(if: ChildAgent.binary != nil, ChildAgent.skipReason))
        func licmeshStatusSpeaksTheSocketAndTheToken() throws {
            let binary = try #require(ChildAgent.binary)
            let path = Self.socketPath("cli")
            let tokenPath = "/tmp/licmesh-test-\(getpid())-cli-token"
            let token = "cli-token-0123456789abcdef"
            _ = FileManager.default.createFile(atPath: tokenPath, contents: Data((token + "\n").utf8))
            chmod(tokenPath, 0o600)
            defer { unlink(tokenPath) }
            let api = try Self.start {
                $0.server.unixSocketPath = path
                $0.access = APIAccessPolicy(bearerToken: token, openReads: false)
            }
            defer { api.stop() }
            let overSocket = EndToEndNamespaceTests.run(binary, ["status", "--http", "unix:" + path])
            #expect(overSocket.status == 0, "\(overSocket.output)")
            #expect(overSocket.output.contains(APIFixtures.healthyStatus().node))
            let fromEnvironment = EndToEndNamespaceTests.run(binary, ["members"], environment: ["LICMESH_HTTP": path])
            #expect(fromEnvironment.status == 0, "\(fromEnvironment.output)")
            let tcp = "127.0.0.1:\(api.address.port)"
            let withoutToken = EndToEndNamespaceTests.run(binary, ["status", "--http", tcp])
            #expect(withoutToken.status == 1, "the agent answered, with 401")
            #expect(withoutToken.output.contains("Authorization"))
            let withToken = EndToEndNamespaceTests.run(binary, ["status", "--http", tcp, "--token-file", tokenPath])
            #expect(withToken.status == 0, "\(withToken.output)")
            let viaEnvironment = EndToEndNamespaceTests.run(binary, ["ledger", "--http", tcp], environment: ["LICMESH_HTTP_TOKEN_FILE": tokenPath])
            #expect(viaEnvironment.status == 0, "\(viaEnvironment.output)")
        }

        // MARK: - 4. Strict JSON at the endpoint

        @Test func countsAreIntegersAndFieldsComeOnce() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            func acquire(_ body: String) throws -> HTTPClientResponse {
                try HTTPClientConnection.request("POST", "/v1/acquire", to: api.address, body: Array(body.utf8), timeout: Self.patience)
            }
            let fraction = try acquire(#"{"cores": 2.0}"#)
            #expect(fraction.status == 400)
            #expect(Self.errorText(fraction).contains("whole number"))
            let twice = try acquire(#"{"cores": 2, "cores": 3}"#)
            #expect(twice.status == 400)
            #expect(Self.errorText(twice).contains("appears twice"))
            let surrogate = try acquire(#"{"cores": "\ud800"}"#)
            #expect(surrogate.status == 400)
            #expect(Self.errorText(surrogate).contains("surrogate"))
            #expect(!control.calls.contains { $0.name == "acquire" })
            #expect(try acquire(#"{"cores": 2}"#).status == 200)
        }

        // MARK: - 5. Metrics

        @Test func kernelDropsAreReadForTheAgentsOwnPort() throws {
            // A socket nobody reads, flooded past its receive buffer: the kernel drops, and says so.
            let receiver = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let sender = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            defer {
                receiver.close()
                sender.close()
            }
            #expect(KernelDrops.udp(port: receiver.localAddress.port) == 0)
            let datagram = [UInt8](repeating: 7, count: 1200)
            for _ in 0..<5000 { _ = sender.send(datagram, to: receiver.localAddress) }
            let drops = try #require(KernelDrops.udp(port: receiver.localAddress.port))
            #expect(drops > 0, "5,000 datagrams of 1,200 bytes overflow any default receive buffer")
            #expect(KernelDrops.udp(port: 1) == nil, "no socket on that port")
        }

        @Test func metricsCountConnectionsAndAccessFailures() throws {
            let api = try Self.start()
            defer { api.stop() }
            let origin = try HTTPTestClient.exchange(api.address, "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://x\r\n\r\n")
            #expect(origin.status == 403)
            let text = try HTTPClientConnection.request("GET", "/metrics", to: api.address, timeout: Self.patience).text
            #expect(text.contains("licmesh_http_connections_open 1"))
            #expect(text.contains("licmesh_http_connections_refused_total 0"))
            #expect(text.contains("licmesh_http_connections_evicted_total"))
            #expect(text.contains(#"licmesh_http_auth_failures_total{kind="origin"} 1"#))
            #expect(text.contains(#"licmesh_http_auth_failures_total{kind="wrong-token"} 0"#))
        }
    }
}
