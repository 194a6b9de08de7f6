import Glibc
@testable import Mesh
import SWIM
import Testing

/// The blocking HTTP client: its response parser on bytes, and the typed client against a real API.
@Suite struct APIClientParserTests {
    static let parser = HTTPClientResponseParser(maxHeadBytes: 1024, maxBodyBytes: 64)

    static func parse(_ text: String, head: Bool = false) throws(HTTPClientResponseParser.Failure) -> HTTPClientResponseParser.Step {
        try parser.parse(Array(text.utf8), respondingToHead: head)
    }

    @Test func readsACompleteResponseAndSaysHowMuchItUsed() throws {
        let wire = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1"
        guard case .response(let response, let consumed) = try Self.parse(wire) else {
            Issue.record("expected a response")
            return
        }
        #expect(response.status == 200 && response.reason == "OK" && response.text == "{}")
        #expect(response.headers["content-type"] == "application/json")
        #expect(consumed == wire.utf8.count - "HTTP/1.1".utf8.count, "the next response's bytes stay in the buffer")
    }

    @Test func waitsForTheRestOfTheHeadAndBody() throws {
        for partial in ["HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"] {
            guard case .needMore = try Self.parse(partial) else {
                Issue.record("'\(partial)' is not complete")
                continue
            }
        }
        guard case .response(let head, _) = try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true) else {
            Issue.record("a HEAD answer has no body")
            return
        }
        #expect(head.body.isEmpty)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding"),
        ("HTTP/1.1 200 OK\r\n\r\n", "no Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", "conflicting"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", "over the limit"),
        ("SSH-2.0-OpenSSH_9.6\r\n\r\n", "not HTTP/1.x"),
        ("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", "status code"),
        ("HTTP/1.1 200 OK\r\n folded\r\n\r\n", "folded"),
        ("HTTP/1.1 200 OK\r\nX-" + String(repeating: "a", count: 1100), "over 1024 bytes"),
    ])
    func refusesWhatItCannotFrameSafely(wire: String, reason: String) {
        do {
            _ = try Self.parse(wire)
            Issue.record("accepted \(wire.debugDescription)")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}

extension TransportTests {
    @Suite struct APIClientTests {
        static let patience = TransportTestSupport.patience

        @Test func theTypedClientReadsARealAPI() throws {
            let control = FakeAgentControl()
            let api = try APIEndpointTests.start(control)
            defer { api.stop() }
            let client = AgentAPIClient(address: api.address, timeout: Self.patience)
            let status = try client.status()
            #expect(status == APIFixtures.healthyStatus())
            #expect(StatusExitCode.of(status) == 0)
            #expect(AgentStatusRendering.status(status) == AgentStatusRendering.status(APIFixtures.healthyStatus()))
            #expect(try client.members() == MembersReport(APIFixtures.healthyStatus()))
            #expect(try client.ledger() == LedgerReport(APIFixtures.healthyStatus()))

            control.set { $0.status = APIFixtures.unlicensedStatus() }
            #expect(StatusExitCode.of(try client.status()) == 1)
        }

        @Test func anErrorAnswerCarriesTheAgentsMessage() throws {
            let control = FakeAgentControl()
            let api = try APIEndpointTests.start(control, answerTimeout: .milliseconds(100))
            defer {
                control.releaseHung()
                api.stop()
            }
            control.set { $0.hang = true }
            let client = AgentAPIClient(address: api.address, timeout: Self.patience)
            do {
                _ = try client.status()
                Issue.record("a stuck agent answered")
            } catch {
                guard case .agentError(_, let status, let message) = error else {
                    Issue.record("expected an error answer, got \(error)")
                    return
                }
                #expect(status == 503)
                #expect(message.contains("did not answer for its status"))
                #expect(error.exitCode == 1)
            }
        }

        @Test func nobodyListeningIsUnreachableWithAMessageSayingWhatToCheck() throws {
            // A port that was free a moment ago: bind, note it, close.
            let listener = try StreamListener(bindingTo: .loopbackV4(port: 0))
            let address = listener.localAddress
            listener.close()
            let client = AgentAPIClient(address: address, timeout: Self.patience)
            do {
                _ = try client.status()
                Issue.record("something answered on \(address)")
            } catch {
                #expect(error.exitCode == 2)
                let text = error.description
                #expect(text.contains("cannot reach the licmesh agent's HTTP API at \(address): connection refused"))
                #expect(text.contains("Check that the agent runs"))
                #expect(text.contains("httpAddress"))
                #expect(text.contains("--http HOST:PORT"))
            }
        }

        @Test func somethingElseListeningIsUnreachableToo() throws {
            // A server that answers, but not with HTTP.
            let listener = try StreamListener(bindingTo: .loopbackV4(port: 0))
            defer { listener.close() }
            let address = listener.localAddress
            let server = IOThread(name: "api-not-http") {
                guard let connection = try? listener.accept(timeout: Self.patience) else { return }
                _ = TransportTestSupport.sendRaw(Array("SSH-2.0-OpenSSH_9.6\r\n\r\n".utf8), on: connection)
                _ = try? connection.readFrame(timeout: .seconds(2))
                connection.close()
            }
            defer { server.join() }
            do {
                _ = try AgentAPIClient(address: address, timeout: Self.patience).status()
                Issue.record("read a status from a non-HTTP server")
            } catch {
                #expect(error.exitCode == 2)
                #expect(error.description.contains("is something else listening there?"))
            }
        }

        @Test func theServerClosingAfterAnAnswerEndsReuse() throws {
            let api = try APIEndpointTests.start(FakeAgentControl())
            defer { api.stop() }
            let client = try HTTPClientConnection(connectingTo: api.address, timeout: Self.patience)
            defer { client.close() }
            let response = try client.send("GET", "/health/live", headers: ["Connection": "close"], timeout: Self.patience)
            #expect(response.status == 200)
            #expect(!client.isReusable)
            #expect(throws: HTTPClientError.closed(address: .tcp(api.address))) { try client.get("/health/live", timeout: Self.patience) }
            #expect(throws: HTTPClientError.self) { try client.send("GET", "/a b", timeout: Self.patience) }
        }
    }
}
