import Dispatch
import Glibc
@testable import Mesh
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
            let client = try Client(server.address)
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
            let client = try Client(server.address)
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
            let client = try Client(server.address)
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
            let silent = try Client(server.address)
            #expect(silent.closedByServer())
            // Served once, then idle: closed after the idle timeout, again without a response.
            let idle = try Client(server.address)
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
            let client = try Client(server.address)
            for index in 1...3 {
                #expect(client.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Connection"] == (index == 3 ? "close" : nil))
            }
            #expect(client.closedByServer())
        }

        // MARK: - More clients than workers

        @Test func atTheConnectionBoundTheOldestIdleConnectionMakesRoomAndBusyOnesAreNeverEvicted() throws {
            let gate = Gate()
            var router = HTTPServerTests.router()
            router.get("/slow") { _ in
                await gate.wait()
                return .text("done")
            }
            var configuration = HTTPServerConfiguration(maxConnections: 2)
            configuration.idleTimeout = .seconds(60)
            configuration.headTimeout = .seconds(60)
            let server = try Server.start(configuration, handler: router.handler)
            defer { server.stop() }
            // Two kept-alive connections, both idle after one request; the first is the older.
            let holders = try (0..<2).map { _ in try Client(server.address) }
            for holder in holders {
                #expect(holder.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
                #expect(try holder.readResponse().status == 200)
            }
            // A third client is served: the oldest idle connection made room, silently.
            let third = try Client(server.address)
            #expect(third.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(try third.readResponse().status == 200)
            #expect(holders[0].closedByServer())
            #expect(server.metrics.snapshot().connectionsEvicted == 1)

            // Both open connections busy: nothing may be evicted, so a newcomer gets a 503.
            #expect(holders[1].send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(third.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(gate.waitForWaiters(2))
            let refusedClient = try Client(server.address)
            let refused = try refusedClient.readResponse()
            #expect(refused.status == 503)
            #expect(refused.text.contains("all busy"))
            #expect(server.metrics.snapshot().connectionsRefused == 1)

            // The busy ones are answered once their handlers finish.
            gate.open()
            #expect(try holders[1].readResponse().text == "done")
            #expect(try third.readResponse().text == "done")
            #expect(server.metrics.snapshot().connectionsOpen == 2)
        }

        @Test func oneClientCannotTakeEveryConnection() throws {
            var configuration = HTTPServerConfiguration(maxConnections: 100, maxConnectionsPerPeer: 3)
            configuration.headTimeout = .seconds(60)
            let server = try Server.start(configuration)
            defer { server.stop() }
            // Three silent connections from 127.0.0.1, then a fourth: the oldest silent one makes room.
            let silent = try (0..<3).map { _ in try Client(server.address) }
            let fourth = try Client(server.address)
            #expect(fourth.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(try fourth.readResponse().status == 200)
            #expect(silent[0].closedByServer())
            #expect(server.metrics.snapshot().connectionsEvicted == 1)
            #expect(server.metrics.snapshot().connectionsOpen == 3)
        }

        @Test func manyConcurrentClientsAreServedOrRefusedAndNoneHangs() throws {
            let server = try Server.start(HTTPServerConfiguration(maxConnections: 4)) { _ in
                try? await Task.sleep(for: .milliseconds(2))
                return .text("ok")
            }
            defer { server.stop() }
            let clients = 40
            let outcomes = Mutex<[String]>([])
            let threads = (0..<clients).map { index in
                IOThread(name: "test-client-\(index)") {
                    let outcome: String
                    do {
                        let response = try Client.get(server.address, "/anything")
                        outcome = response.status == 200 ? "served" : response.status == 503 ? "refused" : "status \(response.status)"
                    } catch let failure as Client.Failure where failure == .closed || failure == .reset {
                        outcome = "refused"  // evicted, or refused and reset before the 503 was read
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
            // Every client not served was refused or evicted (served ones may be evicted too, once idle).
            #expect(snapshot.connectionsRefused + snapshot.connectionsEvicted >= UInt64(refused))
            #expect(snapshot.responses(statusClass: 2) == UInt64(served))
            #expect(Self.eventuallyServed(server.address))
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
                        guard let client = try? Client(server.address) else { continue }
                        let bytes = round % 3 == 0
                            ? fixed[Int(random.next() % UInt64(fixed.count))]
                            : (0..<Int(1 + random.next() % 3_000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                        client.send(bytes)
                        client.close()
                    }
                }
            }
            for thread in threads { #expect(thread.join(timeout: TransportTestSupport.patience), "a garbage client hung") }
            #expect(Self.eventuallyServed(server.address))
            let snapshot = server.metrics.snapshot()
            #expect(snapshot.connectionsAccepted >= 200)
            #expect(snapshot.parseErrors.values.reduce(0, +) > 0)
            // Every garbage connection is let go (bounded wait: they may still be draining one).
            let deadline = MonotonicClock.now() + TransportTestSupport.patience
            while server.metrics.snapshot().connectionsOpen > 0, MonotonicClock.now() < deadline { usleep(10_000) }
            #expect(server.metrics.snapshot().connectionsOpen == 0)
        }

        // MARK: - Shutdown

        @Test func stopLetsARunningHandlerAnswerAndClosesIdleConnections() throws {
            let gate = Gate()
            var router = HTTPServerTests.router()
            router.get("/slow") { _ in
                await gate.wait()
                return .text("done")
            }
            let server = try Server.start(handler: router.handler)
            let idle = try Client(server.address)
            #expect(idle.send("GET /v1/status HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(try idle.readResponse().status == 200)

            let busy = try Client(server.address)
            #expect(busy.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n"))
            #expect(gate.waitForWaiters(1))
            let stopper = IOThread(name: "test-stopper") { server.stop() }
            // The idle connection is closed at once, while the handler still runs...
            #expect(idle.closedByServer())
            // ...and stop() does not return before the handler's answer is out (within the grace period).
            #expect(!stopper.join(timeout: .milliseconds(100)))
            gate.open()
            #expect(stopper.join(timeout: TransportTestSupport.patience))
            let response = try busy.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "done")
            #expect(response.headers["Connection"] == "close")
            #expect(busy.closedByServer())
            #expect((try? Client(server.address)) == nil, "the listener is closed")
            server.stop()  // a second stop is a no-op
        }

        @Test func startingAndStoppingFiftyServersLeaksNoDescriptors() throws {
            let before = try #require(OpenFileDescriptors.count(), "no /proc/self/fd on this host")
            for _ in 0..<50 {
                let server = try Server.start(HTTPServerConfiguration(maxConnections: 2))
                #expect(try Client.get(server.address, "/v1/status").status == 200)
                // One connection still open at stop: the server must close its end.
                let lingering = try Client(server.address)
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
