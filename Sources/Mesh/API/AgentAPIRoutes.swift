import Licensing
import SWIM

/// The endpoints of the agent's local API, as an `HTTPRouter` over an `AgentControl`.
///
/// Status codes:
/// - 200 for answers, including a validation that says no: `POST /v1/validate` asks a question
///   ("may this node run feature X now?") and `{"allowed": false, "message": ...}` is a complete,
///   correct answer to it. A client that treats non-2xx as "the API is broken" must not confuse
///   "the license says no" with "the agent is down". Acquire and release, which ask for a change,
///   use error codes when the change does not happen.
/// - 400 malformed body, 403 refused by the authority (the MAC is not in the license...), 409 the
///   license's cores are all allocated, 503 not ready, no authority answered, or the agent itself did
///   not answer in time. 404, 405 (with `Allow`), 413 and the other framing errors come from the
///   router and the server.
/// Every error body is `{"error": "...", "status": N}`, the message the library would print.
///
/// Every request passes `APIAccessCheck` first (401, 403, 415 as it says); acquire and release are
/// the changes, everything else reads.
struct AgentAPIRoutes: Sendable {
    let control: any AgentControl
    let configuration: AgentAPIConfiguration
    /// Snapshot calls (status, validate, metrics) and authority requests (acquire, release) are bounded
    /// apart, so that requests waiting for the authority never crowd out a validate.
    let snapshots: AgentCallBound
    let requests: AgentCallBound
    let access: APIAccessCheck
    /// The serving server's own counters, appended to `/metrics` (nil until the server exists).
    let serverMetrics: @Sendable () -> HTTPServerMetrics?

    static let validateExample = #"{"feature": "solver"}"#
    static let acquireExample = #"{"cores": 4, "timeoutMs": 5000}"#
    static let releaseExample = #"{"timeoutMs": 5000}"#

    /// The routes behind the access check.
    var handler: HTTPHandler {
        let router = self.router
        let access = self.access
        return { request in
            let kind: APIAccessCheck.Kind = Self.changingPaths.contains(request.path) ? .change : .read
            if let refusal = access.refusal(for: request, kind: kind) { return refusal }
            return await router.handle(request)
        }
    }

    static let changingPaths: Set<String> = ["/v1/acquire", "/v1/release"]

    var router: HTTPRouter {
        var router = HTTPRouter()
        router.get("/v1/status") { _ in await self.withStatus { .json($0) } }
        router.get("/v1/members") { _ in await self.withStatus { .json(MembersReport($0)) } }
        router.get("/v1/license") { _ in await self.withStatus { .json(LicenseReport($0)) } }
        router.get("/v1/ledger") { _ in await self.withStatus { .json(LedgerReport($0)) } }
        router.get("/v1/authority") { _ in await self.withStatus { .json(AuthorityReport($0)) } }
        router.post("/v1/validate") { await self.validate($0) }
        router.post("/v1/acquire") { await self.acquire($0) }
        router.post("/v1/release") { await self.release($0) }
        router.get("/health") { _ in await self.health() }
        router.get("/health/live") { _ in .json(["status": "ok"]) }
        router.get("/metrics") { _ in await self.metrics() }
        return router
    }

    // MARK: - Endpoints

    private func withStatus(_ answer: (AgentStatus) -> HTTPResponse) async -> HTTPResponse {
        let control = self.control
        switch await snapshots.call(timeout: configuration.answerTimeout, { await control.status() }) {
        case .success(let status): return answer(status)
        case .failure(let failure): return Self.agentDidNotAnswer(failure, asking: "for its status")
        }
    }

    /// Readiness for Kubernetes: joined and licensed. Liveness is `/health/live`, which never asks the
    /// agent, so that a probe restarting unready pods cannot restart an agent that is only unlicensed.
    private func health() async -> HTTPResponse {
        await withStatus { status in
            if status.isReady {
                // Ready with problems is possible: a MAC claimed twice that blocks no service, say.
                return .json(HealthReport(status: "ok", node: status.node, warnings: status.problems + (status.license?.problems ?? [])))
            }
            let problems = status.readinessProblems
            return .json(
                UnhealthyReport(
                    error: "not ready: " + problems.joined(separator: "; "), status: HTTPStatus.serviceUnavailable.code,
                    node: status.node, joined: status.joined, licensed: status.licensed, problems: problems),
                status: .serviceUnavailable)
        }
    }

    private func validate(_ request: HTTPRequest) async -> HTTPResponse {
        let feature: String?
        do {
            let body = try AgentAPIRequestBody(parsing: request.body, allowedFields: ["feature"], example: Self.validateExample)
            feature = try body.string("feature", maximumLength: License.maximumFeatureLength)
        } catch {
            return .error(.badRequest, error.message)
        }
        let control = self.control
        switch await snapshots.call(timeout: configuration.answerTimeout, { await control.validate(feature: feature) }) {
        case .success(let answer): return .json(answer)
        case .failure(let failure): return Self.agentDidNotAnswer(failure, asking: "to validate")
        }
    }

    private func acquire(_ request: HTTPRequest) async -> HTTPResponse {
        let cores: Int?
        let timeout: Duration
        do {
            let body = try AgentAPIRequestBody(
                parsing: request.body, allowedFields: ["cores", "timeoutMs"], example: Self.acquireExample)
            cores = try body.integer(
                "cores", in: 1...License.maximumCores, hintBelowRange: "; to give cores back, POST /v1/release")
            timeout = try requestTimeout(body)
        } catch {
            return .error(.badRequest, error.message)
        }
        let control = self.control
        return await askAuthority(timeout: timeout, asking: "for cores") { await control.acquire(cores: cores, timeout: timeout) }
    }

    private func release(_ request: HTTPRequest) async -> HTTPResponse {
        let timeout: Duration
        do {
            let body = try AgentAPIRequestBody(parsing: request.body, allowedFields: ["timeoutMs"], example: Self.releaseExample)
            timeout = try requestTimeout(body)
        } catch {
            return .error(.badRequest, error.message)
        }
        let control = self.control
        return await askAuthority(timeout: timeout, asking: "to release its cores") { await control.release(timeout: timeout) }
    }

    private func metrics() async -> HTTPResponse {
        let control = self.control
        switch await snapshots.call(timeout: configuration.answerTimeout, { await control.metrics() }) {
        case .success(var text):
            if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
            var exposition = PrometheusExposition()
            serverMetrics()?.write(into: &exposition)
            access.counters.write(into: &exposition)
            text += exposition.text
            return HTTPResponse(status: .ok, headers: ["Content-Type": PrometheusExposition.contentType], body: Array(text.utf8))
        case .failure(let failure):
            return Self.agentDidNotAnswer(failure, asking: "for its metrics")
        }
    }

    // MARK: - Shared

    private func requestTimeout(_ body: AgentAPIRequestBody) throws(AgentAPIBadRequest) -> Duration {
        let maximum = Int(clamping: configuration.maximumRequestTimeout.nanoseconds / 1_000_000)
        guard let millis = try body.integer("timeoutMs", in: 1...max(1, maximum)) else { return configuration.defaultRequestTimeout }
        return .milliseconds(millis)
    }

    /// Acquire and release: the agent waits up to `timeout` for the authority, so the handler waits
    /// that long plus the answer bound before calling the agent stuck.
    private func askAuthority(timeout: Duration, asking what: String, _ call: @escaping @Sendable () async -> RequestAnswer) async -> HTTPResponse {
        switch await requests.call(timeout: timeout + configuration.answerTimeout, call) {
        case .success(let answer): return Self.response(for: answer, timeout: timeout)
        case .failure(let failure): return Self.agentDidNotAnswer(failure, asking: what)
        }
    }

    static func response(for answer: RequestAnswer, timeout: Duration) -> HTTPResponse {
        switch answer.outcome {
        case .granted, .released:
            return .json(answer)
        case .exhausted:
            return .error(.conflict, answer.message.isEmpty ? LicensingMessages.cpuLimitExhausted : answer.message)
        case .refused:
            return .error(.forbidden, answer.message.isEmpty ? "the license authority refused the request" : answer.message)
        case .unavailable:
            let fallback = "no license authority answered within \(formatSeconds(timeout.seconds)); "
                + "check 'licmesh status' for an authority and retry"
            return .error(.serviceUnavailable, answer.message.isEmpty ? fallback : answer.message)
        }
    }

    static func agentDidNotAnswer(_ failure: AgentCallBound.Failure, asking what: String) -> HTTPResponse {
        switch failure {
        case .timedOut(let timeout):
            return .error(
                .serviceUnavailable,
                "the agent did not answer \(what) within \(formatSeconds(timeout.seconds)); it may be overloaded or stuck: "
                    + "check its log, and restart it if this persists")
        case .saturated(let outstanding):
            return .error(
                .serviceUnavailable,
                "the agent has \(outstanding) earlier API calls still unanswered; it may be overloaded or stuck: "
                    + "check its log, and restart it if this persists")
        }
    }
}
