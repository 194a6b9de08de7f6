import Glibc
@testable import Mesh
import SWIM
import Synchronization
import Testing

extension TransportTests {
    @Suite struct Polling {
        @Test func wakeFromAnotherThreadInterruptsTheWait() throws {
            let poller = try Poller()
            let result = Mutex<PollEvents?>(nil)
            let waiting = Atomic<Bool>(false)
            let loop = IOThread(name: "test-io") {
                waiting.store(true, ordering: .sequentiallyConsistent)
                // Long enough that only a wake ends it in a passing run.
                let events = try? poller.wait(timeoutMilliseconds: 60_000)
                result.withLock { $0 = events }
            }
            let waker = IOThread(name: "test-waker") {
                while !waiting.load(ordering: .sequentiallyConsistent) { sched_yield() }
                poller.wake()
                poller.wake()  // a second wake while one is pending costs nothing and is not an error
            }
            waker.join()
            loop.join()
            let events = try #require(result.withLock { $0 })
            #expect(events.wasWoken)
            #expect(events.readyTokens.isEmpty)
            // The second wake may have landed after the first wait returned; once that one is consumed
            // too, nothing is pending: a non-blocking check reports nothing.
            _ = try poller.wait(timeoutMilliseconds: 0)
            #expect(try poller.wait(timeoutMilliseconds: 0) == PollEvents(readyTokens: [], wasWoken: false))
        }

        @Test func mailboxDeliversEveryMessageFromOtherThreadsInOrder() throws {
            let poller = try Poller()
            let mailbox = Mailbox<(sender: Int, sequence: Int)>(waking: poller)
            let perSender = 1_000
            let senders = (0..<3).map { sender in
                IOThread(name: "test-sender-\(sender)") {
                    for sequence in 0..<perSender { mailbox.post((sender, sequence)) }
                }
            }
            var next = [0, 0, 0]
            let deadline = MonotonicClock.now() + TransportTestSupport.patience
            while next.reduce(0, +) < 3 * perSender, MonotonicClock.now() < deadline {
                guard try poller.wait(until: deadline).wasWoken else { continue }
                for message in mailbox.takeAll() {
                    #expect(message.sequence == next[message.sender], "out of order from sender \(message.sender)")
                    next[message.sender] = message.sequence + 1
                }
            }
            senders.forEach { $0.join() }
            #expect(next == [perSender, perSender, perSender])
            #expect(mailbox.takeAll().isEmpty)
        }

        @Test func wakeBeforeWaitIsNotLost() throws {
            let poller = try Poller()
            poller.wake()
            #expect(try poller.wait(timeoutMilliseconds: 60_000).wasWoken)
        }

        @Test func reportsReadableSourcesByToken() throws {
            let poller = try Poller()
            let quiet = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let busy = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            poller.register(quiet, token: 1)
            poller.register(busy, token: 2)
            #expect(try poller.wait(timeoutMilliseconds: 0).readyTokens.isEmpty)

            #expect(quiet.send([1], to: busy.localAddress) == .sent)
            let events = try poller.wait(until: MonotonicClock.now() + TransportTestSupport.patience)
            #expect(events.readyTokens == [2] && !events.wasWoken)

            poller.unregister(token: 2)
            #expect(try poller.wait(timeoutMilliseconds: 0).readyTokens.isEmpty)
        }

        @Test func closedSourcesAreSkippedNotPolled() throws {
            let poller = try Poller()
            let socket = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            poller.register(socket, token: 1)
            socket.close()
            #expect(try poller.wait(timeoutMilliseconds: 0).readyTokens.isEmpty)
        }

        @Test func closedPollerRefusesToWaitAndIgnoresWakes() throws {
            let poller = try Poller()
            poller.close()
            poller.wake()
            #expect(throws: SocketError.self) { try poller.wait(timeoutMilliseconds: 0) }
        }

        @Test func timeoutUntilADeadlineRoundsUp() {
            let now = Instant(nanoseconds: 1_000_000_000)
            #expect(Poller.milliseconds(until: now + .microseconds(1), now: now) == 1)
            #expect(Poller.milliseconds(until: now + .milliseconds(250), now: now) == 250)
            #expect(Poller.milliseconds(until: now, now: now) == 0)
            #expect(Poller.milliseconds(until: Instant(nanoseconds: 0), now: now) == 0)
            #expect(Poller.milliseconds(until: .distantFuture, now: now) == -1)
            #expect(Poller.milliseconds(until: now + .seconds(100 * 86_400), now: now) == Int32.max)
        }

        @Test func ioThreadRunsItsClosureAndCanBeJoinedRepeatedly() {
            let ran = Atomic<Int>(0)
            let thread = IOThread(name: "a-thread-name-longer-than-fifteen-bytes") { ran.add(1, ordering: .relaxed) }
            thread.join()
            thread.join()
            #expect(thread.join(timeout: .seconds(1)))
            #expect(ran.load(ordering: .relaxed) == 1)
        }

        @Test func joinWithTimeoutReportsAThreadStillRunning() {
            let release = Atomic<Bool>(false)
            let thread = IOThread(name: "test-blocked") {
                while !release.load(ordering: .relaxed) { sched_yield() }
            }
            #expect(!thread.join(timeout: .milliseconds(1)))
            release.store(true, ordering: .relaxed)
            thread.join()
        }

        @Test func clocksMoveForward() {
            let first = MonotonicClock.now()
            let second = MonotonicClock.now()
            #expect(second >= first && first > .zero)
            // 2020-01-01 as a sanity floor for the wall clock.
            #expect(WallClock.secondsSinceEpoch() > 1_577_836_800)
        }
    }
}
