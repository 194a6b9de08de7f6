import Foundation
import Licensing
@testable import Mesh
import SWIM
import Testing

/// The agent's HTTP API over real loopback sockets, against `FakeAgentControl`. Inside the serialized
/// transport suite: the descriptor-leak tests there count the whole process's descriptors.
extension TransportTests {
    @Suite struct APIEndpointTests {
        static let patience = TransportTestSupport.patience

        /// An API on a free loopback port. `answerTimeout` is short only where a test waits for it.
        static func start(
            _ control: FakeAgentControl, answerTimeout: Duration = .seconds(10), maximumOutstandingCalls: Int = 64
        ) throws -> AgentHTTPAPI {
            try AgentHTTPAPI(
                control: control,
                configuration: AgentAPIConfiguration(
                    address: .loopbackV4(port: 0), answerTimeout: answerTimeout, maximumOutstandingCalls: maximumOutstandingCalls))
        }

        static func get(_ api: AgentHTTPAPI, _ path: String) throws -> HTTPClientResponse {
            try HTTPClientConnection.request("GET", path, to: api.address, timeout: patience)
        }

        static func post(_ api: AgentHTTPAPI, _ path: String, _ body: String?) throws -> HTTPClientResponse {
            try HTTPClientConnection.request("POST", path, to: api.address, body: body.map { Array($0.utf8) }, timeout: patience)
        }

        static func decode<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse) throws -> T {
            try JSONDecoder().decode(type, from: Data(response.body))
        }

        struct ErrorBody: Decodable, Equatable {
            var error: String
            var status: Int
        }

        static func error(_ response: HTTPClientResponse) throws -> ErrorBody { try decode(ErrorBody.self, response) }

        // MARK: - Read-only endpoints

        @Test func statusAnswersTheWholeStatus() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            #expect(api.address.ip == .loopbackV4)
            let response = try Self.get(api, "/v1/status")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(try Self.decode(AgentStatus.self, response) == APIFixtures.healthyStatus())
        }

        @Test func subsetEndpointsCarryTheirPartOfTheStatus() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            let status = APIFixtures.healthyStatus()

            let members = try Self.decode(MembersReport.self, try Self.get(api, "/v1/members"))
            #expect(members.members == status.members)
            #expect(members.node == "00000000000000a1" && members.cluster == "prod" && members.epoch == "3")
            #expect(members.coresInUse == 6 && members.maxCores == 16)

            let ledger = try Self.decode(LedgerReport.self, try Self.get(api, "/v1/ledger"))
            #expect(ledger.ledger == status.ledger)
            #expect(ledger.authority == "00000000000000a1" && ledger.coresInUse == 6 && ledger.maxCores == 16)

            let license = try Self.decode(LicenseReport.self, try Self.get(api, "/v1/license"))
            #expect(license.license == APIFixtures.license)
            #expect(license.licensed && license.coresHeld == 2)

            let authority = try Self.decode(AuthorityReport.self, try Self.get(api, "/v1/authority"))
            #expect(authority == AuthorityReport(status))
            #expect(authority.address == "10.0.0.1:7946" && authority.isAuthority && authority.policy == "majority")

            control.set { $0.status.license = nil }
            let unlicensed = try Self.get(api, "/v1/license")
            #expect(unlicensed.status == 200)
            #expect(unlicensed.text.contains(#""license":null"#), "a missing license is an answer, spelled null")
        }

        // MARK: - Validate, acquire, release

        @Test func validateAnswers200EvenWhenDenied() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }

            let allowed = try Self.post(api, "/v1/validate", #"{"feature": "solver"}"#)
            #expect(allowed.status == 200)
            #expect(try Self.decode(ValidationAnswer.self, allowed) == ValidationAnswer(allowed: true, cores: 2, message: ""))

            let denial = "Feature 'export' is not in license LIC-2025-0042; ask the vendor for a license that includes it"
            control.set { $0.validation = ValidationAnswer(allowed: false, cores: 0, message: denial) }
            let denied = try Self.post(api, "/v1/validate", #"{"feature": "export"}"#)
            #expect(denied.status == 200, "a denial is an answer to the question, not a failure of the API")
            #expect(try Self.decode(ValidationAnswer.self, denied) == ValidationAnswer(allowed: false, cores: 0, message: denial))

            _ = try Self.post(api, "/v1/validate", nil)
            _ = try Self.post(api, "/v1/validate", "{}")
            #expect(control.calls.map(\.feature) == ["solver", "export", nil, nil])
        }

        @Test func acquireAndReleasePassTheirFieldsAndAnswer200() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }

            let granted = try Self.post(api, "/v1/acquire", #"{"cores": 4, "timeoutMs": 1500}"#)
            #expect(granted.status == 200)
            #expect(try Self.decode(RequestAnswer.self, granted).outcome == .granted)
            let defaults = try Self.post(api, "/v1/acquire", nil)
            #expect(defaults.status == 200)

            let released = try Self.post(api, "/v1/release", #"{"timeoutMs": 250}"#)
            #expect(released.status == 200)
            #expect(try Self.decode(RequestAnswer.self, released) == RequestAnswer(outcome: .released, cores: 0, authority: "00000000000000a1", message: ""))

            let defaultTimeout = AgentAPIConfiguration().defaultRequestTimeout
            #expect(control.calls == [
                FakeAgentControl.Call(name: "acquire", cores: 4, timeout: .milliseconds(1500)),
                FakeAgentControl.Call(name: "acquire", cores: nil, timeout: defaultTimeout),
                FakeAgentControl.Call(name: "release", timeout: .milliseconds(250)),
            ])
        }

        @Test func refusalsCarryTheLibrarysMessages() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }

            let exhausted = "\(LicensingMessages.cpuLimitExhausted) 14 of 16 cores are allocated and 4 were asked for."
            control.set { $0.acquire = RequestAnswer(outcome: .exhausted, cores: 0, authority: "00000000000000a1", message: exhausted) }
            let conflict = try Self.post(api, "/v1/acquire", #"{"cores": 4}"#)
            #expect(conflict.status == 409)
            #expect(try Self.error(conflict) == ErrorBody(error: exhausted, status: 409))

            // Without a message of its own, the answer still carries the field message word for word.
            control.set { $0.acquire.message = "" }
            #expect(try Self.error(try Self.post(api, "/v1/acquire", nil)) == ErrorBody(error: LicensingMessages.cpuLimitExhausted, status: 409))

            let refusal = "\(LicensingMessages.invalidMultiServerLicense) MAC 02:00:00:00:00:b7 is not listed in license LIC-2025-0042."
            control.set { $0.acquire = RequestAnswer(outcome: .refused, cores: 0, authority: "00000000000000a1", message: refusal) }
            let forbidden = try Self.post(api, "/v1/acquire", nil)
            #expect(forbidden.status == 403)
            #expect(try Self.error(forbidden) == ErrorBody(error: refusal, status: 403))

            control.set { $0.release = RequestAnswer(outcome: .unavailable, cores: 2, authority: nil, message: "no authority answered within 5.000s") }
            let unavailable = try Self.post(api, "/v1/release", nil)
            #expect(unavailable.status == 503)
            #expect(try Self.error(unavailable) == ErrorBody(error: "no authority answered within 5.000s", status: 503))
        }

        // MARK: - Client errors

        @Test(arguments: [
            ("/v1/acquire", "not json", "is not valid JSON"),
            ("/v1/acquire", "[1, 2]", "is not a JSON object"),
            ("/v1/acquire", #"{"cores": "four"}"#, "field 'cores' must be a whole number"),
            ("/v1/acquire", #"{"cores": 2.5}"#, "field 'cores' must be a whole number"),
            ("/v1/acquire", #"{"cores": true}"#, "field 'cores' must be a whole number"),
            ("/v1/acquire", #"{"cores": 0}"#, "field 'cores' must be from 1 to 2147483647, got 0; to give cores back, POST /v1/release"),
            ("/v1/acquire", #"{"cores": 3000000000}"#, "field 'cores' must be from 1 to 2147483647, got 3000000000"),
            ("/v1/acquire", #"{"core": 4}"#, "unknown field 'core'"),
            ("/v1/acquire", #"{"timeoutMs": -5}"#, "field 'timeoutMs' must be from 1"),
            ("/v1/acquire", #"{"timeoutMs": 3600000}"#, "field 'timeoutMs' must be from 1 to 30000"),
            ("/v1/release", #"{"cores": 2}"#, "unknown field 'cores'"),
            ("/v1/validate", #"{"feature": 5}"#, "field 'feature' must be a string"),
            ("/v1/validate", #"{"feature": ""}"#, "field 'feature' is empty"),
            ("/v1/validate", "{\"feature\": \"\(String(repeating: "x", count: 65))\"}", "at most 64"),
        ])
        func malformedBodiesAre400WithTheReason(path: String, body: String, reason: String) throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            let response = try Self.post(api, path, body)
            #expect(response.status == 400)
            let error = try Self.error(response)
            #expect(error.status == 400)
            #expect(error.error.contains(reason), "\(error.error)")
            #expect(control.calls.isEmpty, "a bad request never reaches the agent")
        }

        @Test func unknownPathsAre404AndWrongMethods405WithAllow() throws {
            let api = try Self.start(FakeAgentControl())
            defer { api.stop() }

            let missing = try Self.get(api, "/v1/nodes")
            #expect(missing.status == 404)
            #expect(try Self.error(missing).error.contains("/v1/nodes"))

            let postToStatus = try Self.post(api, "/v1/status", "{}")
            #expect(postToStatus.status == 405)
            #expect(postToStatus.headers["Allow"] == "GET, HEAD")

            let getAcquire = try Self.get(api, "/v1/acquire")
            #expect(getAcquire.status == 405)
            #expect(getAcquire.headers["Allow"] == "POST")
            #expect(try Self.error(getAcquire).status == 405)
        }

        @Test func oversizedBodiesAre413BeforeTheyAreRead() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            let client = try HTTPTestClient(api.address)
            defer { client.close() }
            // Only the head is sent: the limit applies to the declared length.
            client.send("POST /v1/acquire HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.text.contains(#""status":413"#))
            #expect(control.calls.isEmpty)
        }

        // MARK: - Health and metrics

        @Test func healthIsReadinessAndLiveIsLiveness() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }

            let ready = try Self.get(api, "/health")
            #expect(ready.status == 200)
            #expect(ready.text.contains(#""status":"ok""#) && ready.text.contains(#""warnings":[]"#))

            // Healthy with something to say: a renewal rolled out halfway is not a fault, but it is told.
            let mix = "license servers hold different versions of this license (a renewal in progress?): ..."
            let twice = "MAC 02:00:00:00:00:09 is advertised by 0000000000000009 and 000000000000000a: each host needs its own MAC"
            control.set { $0.status.license?.problems = [mix]; $0.status.problems = [twice] }
            struct Healthy: Decodable { var status: String; var warnings: [String] }
            let warned = try Self.get(api, "/health")
            #expect(warned.status == 200)
            #expect(try Self.decode(Healthy.self, warned).warnings == [twice, mix])

            control.set { $0.status = APIFixtures.unlicensedStatus() }
            let unready = try Self.get(api, "/health")
            #expect(unready.status == 503)
            struct Unhealthy: Decodable { var error: String; var status: Int; var problems: [String]; var licensed: Bool }
            let body = try Self.decode(Unhealthy.self, unready)
            #expect(body.status == 503 && !body.licensed)
            #expect(body.problems == APIFixtures.unlicensedStatus().problems)
            #expect(body.error.contains(LicensingMessages.invalidMultiServerLicense))

            // Flags saying unhealthy without a reason still give the operator one.
            control.set { $0.status = APIFixtures.healthyStatus(); $0.status.joined = false }
            let notJoined = try Self.decode(Unhealthy.self, try Self.get(api, "/health"))
            #expect(notJoined.problems.count == 1 && notJoined.problems[0].hasPrefix("not joined"))

            let live = try Self.get(api, "/health/live")
            #expect(live.status == 200, "an unlicensed agent is alive: a liveness probe must not restart it")
            #expect(live.text.contains(#""status":"ok""#))
        }

        @Test func metricsAreServedAsPrometheusText() throws {
            let api = try Self.start(FakeAgentControl())
            defer { api.stop() }
            let response = try Self.get(api, "/metrics")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(response.text.hasPrefix("# HELP licmesh_members Members by state.\n"))
            #expect(response.text.contains("licmesh_members{state=\"alive\"} 3\n"))
            #expect(response.text.contains("# TYPE licmesh_http_requests_total counter\n"), "the HTTP server's own counters follow")
        }

        // MARK: - A stuck agent

        @Test func aStuckAgentGets503AndLivenessStillAnswers() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control, answerTimeout: .milliseconds(200))
            defer {
                control.releaseHung()
                api.stop()
            }
            control.set { $0.hang = true }

            let status = try Self.get(api, "/v1/status")
            #expect(status.status == 503)
            #expect(try Self.error(status).error.contains("did not answer for its status within 0.200s"))
            #expect(try Self.get(api, "/health").status == 503)
            #expect(try Self.get(api, "/metrics").status == 503)
            let acquire = try Self.post(api, "/v1/acquire", #"{"timeoutMs": 100}"#)
            #expect(acquire.status == 503, "acquire waits its own timeout plus the answer bound, then gives up")
            #expect(try Self.error(acquire).error.contains("did not answer for cores"))
            #expect(try Self.get(api, "/health/live").status == 200)

            // Once the agent answers again, so does the API.
            control.releaseHung()
            #expect(try Self.get(api, "/v1/status").status == 200)
        }

        @Test func abandonedCallsAreBoundedSoAStuckAgentCannotPileUpTasks() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control, answerTimeout: .milliseconds(100), maximumOutstandingCalls: 2)
            defer {
                control.releaseHung()
                api.stop()
            }
            control.set { $0.hang = true }
            for _ in 0..<2 { #expect(try Self.get(api, "/v1/status").status == 503) }
            #expect(api.outstandingAgentCalls == 2)
            let refused = try Self.get(api, "/v1/status")
            #expect(refused.status == 503)
            #expect(try Self.error(refused).error.contains("2 earlier API calls still unanswered"))
            #expect(control.calls.count == 2, "the third call was refused without asking the agent")

            control.releaseHung()
            let deadline = MonotonicClock.now() + Self.patience
            while api.outstandingAgentCalls > 0, MonotonicClock.now() < deadline { usleep(5_000) }
            #expect(api.outstandingAgentCalls == 0)
            #expect(try Self.get(api, "/v1/status").status == 200)
        }

        // MARK: - Keep-alive

        @Test func oneConnectionServesSeveralEndpoints() throws {
            let control = FakeAgentControl()
            let api = try Self.start(control)
            defer { api.stop() }
            let client = try HTTPClientConnection(connectingTo: api.address, timeout: Self.patience)
            defer { client.close() }

            #expect(try client.get("/v1/status", timeout: Self.patience).status == 200)
            #expect(try client.get("/v1/members", timeout: Self.patience).status == 200)
            #expect(try client.post("/v1/validate", json: #"{"feature": "solver"}"#, timeout: Self.patience).status == 200)
            #expect(try client.get("/v1/nodes", timeout: Self.patience).status == 404, "an error answer keeps the connection too")
            #expect(try client.post("/v1/acquire", json: #"{"cores": 1}"#, timeout: Self.patience).status == 200)
            #expect(try client.get("/metrics", timeout: Self.patience).status == 200)
            #expect(try client.send("HEAD", "/health", timeout: Self.patience).status == 200)
            #expect(try client.get("/health", timeout: Self.patience).status == 200)
            #expect(client.isReusable)
            let snapshot = api.serverMetrics.snapshot()
            #expect(snapshot.connectionsAccepted == 1)
            #expect(snapshot.requestsServed == 8)
        }
    }
}
