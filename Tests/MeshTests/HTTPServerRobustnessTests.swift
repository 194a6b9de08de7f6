import Dispatch
import Glibc
import Mesh
import SWIM
import Synchronization
import Testing

/// Slow, silent, excessive and garbage clients, shutdown and descriptor leaks. Short timeouts keep
/// the tests quick; every assertion is about what happened, never about how long it took.
extension TransportTests {
    @Suite struct HTTPServerRobustnessTests {
        typealias Client = HTTPTestClient
        typealias Server = HTTPServerTests

        // MARK: - Slow and silent clients

        @Test func halfAHeadThenSilenceGets408AndIsClosed() throws {
            let server = try Server.start(Server.shortTimeouts())
            defer { server.stop() }
            let client = try Client(server.localAddress)
            #expect(client.send("GET /v1/status HTTP/1.1\r\nHost: te"))
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(response.headers["Connection"] == "close")
            #expect(response.text.contains("request head did not arrive"))
            #expect(client.closedByServer())
            #expect(server.metrics.snapshot().parseErrors(.timedOut) == 1)
        }

        @Test func aHeadTrickledByteByByteIsCutOffByTheWholeHeadDeadline() throws {
            // Each byte arrives well within any per-read timeout; only a deadline for the whole head stops this.
            let server = try Server.start(Server.shortTimeouts())
            defer { server.stop() }
            let client = try Client(server.localAddress)
            let head = Array("GET /v1/status HTTP/1.1\r\nHost: test\r\nAccept: */*\r\nX-Padding: aaaaaaaaaaaaaaaa\r\n\r\n".utf8)
            let stopTrickling = Atomic<Bool>(false)
            let connection = client.connection
            let trickler = IOThread(name: "test-trickle") {
                for byte in head where !stopTrickling.load(ordering: .relaxed) {
                    guard TransportTestSupport.sendRaw([byte], on: connection) else { return }
                    usleep(100_000)
                }
            }
            defer {
                stopTrickling.store(true, ordering: .relaxed)
                trickler.join()
            }
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(client.closedByServer())
        }

        @Test func aStalledBodyGets408() throws {
            let server = try Server.start(Server.shortTimeouts())
            defer { server.stop() }
            let client = try Client(server.localAddress)
            #expect(client.send("POST /v1/echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc"))
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(response.text.contains("body did not arrive"))
            #expect(client.closedByServer())
        }

        @Test func silentAndIdleConnectionsAreClosedWithoutAnAnswer() throws {
            let server = try Server.start(Server.shortTimeouts())
            defer { server.stop() }
            // Connects and says nothing: closed, and no bytes at all come back (closedByServer is false on data).
            let silent = try Client(server.localAddress)
            #expect(silent.closedByServer())
            // Served once, then idle: closed after the idle timeout, again without a response.
            let idle = try Client(server.localAddress)
            #expect(idle.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(try idle.readResponse().status == 200)
            #expect(idle.closedByServer())
            let snapshot = server.metrics.snapshot()
            #expect(snapshot.idleTimeouts == 2)
            #expect(snapshot.parseErrors.isEmpty, "an idle close is not a request error")
        }

        @Test func aConnectionEndsAfterItsMaximumNumberOfRequests() throws {
            var configuration = HTTPServerConfiguration()
            configuration.maxRequestsPerConnection = 3
            let server = try Server.start(configuration)
            defer { server.stop() }
            let client = try Client(server.localAddress)
            for index in 1...3 {
                #expect(client.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Connection"] == (index == 3 ? "close" : nil))
            }
            #expect(client.closedByServer())
        }

        // MARK: - More clients than workers

        @Test func aConnectionBeyondThePoolGets503WhileHeldWorkersKeepServing() throws {
            var configuration = HTTPServerConfiguration(maxConnections: 2)
            configuration.idleTimeout = .seconds(60)
            configuration.headTimeout = .seconds(60)
            let server = try Server.start(configuration)
            defer { server.stop() }
            // Two kept-alive connections occupy both workers.
            let holders = try (0..<2).map { _ in try Client(server.localAddress) }
            for holder in holders {
                #expect(holder.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
                #expect(try holder.readResponse().status == 200)
            }
            let extra = try Client(server.localAddress)
            let refused = try extra.readResponse()
            #expect(refused.status == 503)
            #expect(refused.text.contains("busy"))
            #expect(extra.closedByServer())
            #expect(server.metrics.snapshot().connectionsRejected == 1)

            // The held connections are still served.
            #expect(holders[0].send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(try holders[0].readResponse().status == 200)

            // One holder leaves: its worker frees up and a new client is served.
            holders[1].close()
            #expect(Self.eventuallyServed(server.localAddress))
        }

        @Test func manyConcurrentClientsAreServedOrRefusedAndNoneHangs() throws {
            let server = try Server.start(HTTPServerConfiguration(maxConnections: 4)) { _ in
                usleep(2_000)
                return .text("ok")
            }
            defer { server.stop() }
            let clients = 40
            let outcomes = Mutex<[String]>([])
            let threads = (0..<clients).map { index in
                IOThread(name: "test-client-\(index)") {
                    let outcome: String
                    do {
                        let response = try Client.get(server.localAddress, "/anything")
                        outcome = response.status == 200 ? "served" : response.status == 503 ? "refused" : "status \(response.status)"
                    } catch let failure as Client.Failure where failure == .closed || failure == .reset {
                        outcome = "refused"  // a refused connection may be reset before the 503 is read
                    } catch {
                        outcome = "failed: \(error)"
                    }
                    outcomes.withLock { $0.append(outcome) }
                }
            }
            for thread in threads { #expect(thread.join(timeout: TransportTestSupport.patience), "a client hung") }
            let results = outcomes.withLock { $0 }
            #expect(results.count == clients)
            let served = results.filter { $0 == "served" }.count
            let refused = results.filter { $0 == "refused" }.count
            #expect(served + refused == clients, "unexpected outcomes: \(Set(results))")
            #expect(served >= 1)
            let snapshot = server.metrics.snapshot()
            #expect(snapshot.connectionsAccepted == UInt64(clients))
            #expect(snapshot.connectionsRejected == UInt64(refused))
            #expect(snapshot.responses(statusClass: 2) == UInt64(served))
            #expect(Self.eventuallyServed(server.localAddress))
        }

        @Test func aFloodOfGarbageConnectionsLeavesTheServerServing() throws {
            var configuration = HTTPServerConfiguration()
            configuration.headTimeout = .milliseconds(500)
            configuration.lingerTimeout = .milliseconds(200)
            let server = try Server.start(configuration)
            defer { server.stop() }
            let fixed: [[UInt8]] = [
                [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03],
                Array("\r\n".utf8) + [UInt8](repeating: 0, count: 64),
                Array("GET / HTTP/1.1\r\nHost: x\r\nX: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 20_000),
                Array("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n".utf8),
                Array("GET /v1/status HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n".utf8),
                Array(String(repeating: "GET", count: 2_000).utf8),
            ]
            let threads = (0..<4).map { worker in
                IOThread(name: "test-garbage-\(worker)") {
                    var random = SplitMix(seed: UInt64(worker) &+ 1)
                    for round in 0..<50 {
                        guard let client = try? Client(server.localAddress) else { continue }
                        let bytes = round % 3 == 0
                            ? fixed[Int(random.next() % UInt64(fixed.count))]
                            : (0..<Int(1 + random.next() % 3_000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                        client.send(bytes)
                        client.close()
                    }
                }
            }
            for thread in threads { #expect(thread.join(timeout: TransportTestSupport.patience), "a garbage client hung") }
            #expect(Self.eventuallyServed(server.localAddress))
            let snapshot = server.metrics.snapshot()
            #expect(snapshot.connectionsAccepted >= 200)
            #expect(snapshot.parseErrors.values.reduce(0, +) > 0)
            // Every worker lets go of its garbage connection (bounded wait: they may still be draining one).
            let deadline = MonotonicClock.now() + TransportTestSupport.patience
            while server.metrics.snapshot().connectionsActive > 0, MonotonicClock.now() < deadline { usleep(10_000) }
            #expect(server.metrics.snapshot().connectionsActive == 0)
        }

        // MARK: - Shutdown

        @Test func stopLetsARunningHandlerAnswerAndClosesIdleConnections() throws {
            let entered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            var router = HTTPServerTests.router()
            router.get("/slow") { _ in
                entered.signal()
                release.wait()
                return .text("done")
            }
            let server = try Server.start(handler: router.handler)
            let idle = try Client(server.localAddress)
            #expect(idle.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(try idle.readResponse().status == 200)

            let busy = try Client(server.localAddress)
            #expect(busy.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(entered.wait(timeout: .now() + .seconds(10)) == .success)
            let stopper = IOThread(name: "test-stopper") { server.stop() }
            // The idle connection is closed at once, while the handler still runs...
            #expect(idle.closedByServer())
            // ...and stop() cannot return before the handler does (it joins the workers).
            #expect(!stopper.join(timeout: .milliseconds(100)))
            release.signal()
            #expect(stopper.join(timeout: TransportTestSupport.patience))
            let response = try busy.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "done")
            #expect(response.headers["Connection"] == "close")
            #expect(busy.closedByServer())
            #expect((try? Client(server.localAddress)) == nil, "the listener is closed")
            server.stop()  // a second stop is a no-op
        }

        @Test func startingAndStoppingFiftyServersLeaksNoDescriptors() throws {
            let before = try #require(OpenFileDescriptors.count(), "no /proc/self/fd on this host")
            for _ in 0..<50 {
                let server = try Server.start(HTTPServerConfiguration(maxConnections: 2))
                #expect(try Client.get(server.localAddress, "/v1/status").status == 200)
                // One connection still open at stop: the server must close its end.
                let lingering = try Client(server.localAddress)
                #expect(lingering.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
                #expect(try lingering.readResponse().status == 200)
                server.stop()
                #expect(lingering.closedByServer())
                lingering.close()
            }
            // Bounded wait only in case another suite opens descriptors at the same moment.
            let deadline = MonotonicClock.now() + TransportTestSupport.patience
            var after = OpenFileDescriptors.count() ?? Int.max
            while after > before, MonotonicClock.now() < deadline {
                usleep(10_000)
                after = OpenFileDescriptors.count() ?? Int.max
            }
            #expect(after <= before, "open descriptors: \(before) before, \(after) after")
        }

        // MARK: - Helpers

        /// Tries a normal request until it is served (a worker may still be finishing with an earlier
        /// client); false if it never is within the test patience.
        static func eventuallyServed(_ address: SocketAddress) -> Bool {
            let deadline = MonotonicClock.now() + TransportTestSupport.patience
            while MonotonicClock.now() < deadline {
                if let response = try? Client.get(address, "/v1/status"), response.status == 200 { return true }
                usleep(20_000)
            }
            return false
        }
    }
}

/// A tiny seeded generator for reproducible garbage.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
