import Glibc
import Licensing
@testable import Mesh
import Synchronization
import Testing

/// A fake `AgentControl` with settable answers, for the API tests: it records what it was asked, and
/// can be told to hang (until `releaseHung()`) to play a stuck agent.
final class FakeAgentControl: AgentControl {
    struct Answers {
        var status: AgentStatus = APIFixtures.healthyStatus()
        var validation = ValidationAnswer(allowed: true, cores: 2, message: "")
        var acquire = RequestAnswer(outcome: .granted, cores: 4, authority: "00000000000000a1", message: "")
        var release = RequestAnswer(outcome: .released, cores: 0, authority: "00000000000000a1", message: "")
        var metrics = "# HELP licmesh_members Members by state.\n# TYPE licmesh_members gauge\nlicmesh_members{state=\"alive\"} 3\n"
        /// Every call waits on the gate while this is set.
        var hang = false
        /// Only acquires wait on the gate (an authority that does not answer).
        var hangAcquires = false
    }

    struct Call: Equatable {
        var name: String
        var feature: String?
        var cores: Int?
        var timeout: Duration?
    }

    private let answers = Mutex(Answers())
    private let recorded = Mutex<[Call]>([])
    private let gate = Gate()

    func set(_ change: (inout Answers) -> Void) { answers.withLock { change(&$0) } }
    var calls: [Call] { recorded.withLock { $0 } }

    /// Lets every hung call return, so no task outlives its test.
    func releaseHung() {
        set {
            $0.hang = false
            $0.hangAcquires = false
        }
        gate.open()
    }

    /// Blocks a test thread until `count` calls named `name` have been made; false after 10 s.
    func waitForCalls(_ name: String, count: Int) -> Bool {
        for _ in 0..<1000 {
            if calls.filter({ $0.name == name }).count >= count { return true }
            usleep(10_000)
        }
        return false
    }

    private func answer<Value>(_ call: Call, _ pick: (Answers) -> Value) async -> Value {
        recorded.withLock { $0.append(call) }
        if answers.withLock({ $0.hang || ($0.hangAcquires && call.name == "acquire") }) { await gate.wait() }
        return answers.withLock { pick($0) }
    }

    func status() async -> AgentStatus { await answer(Call(name: "status")) { $0.status } }
    func validate(feature: String?) async -> ValidationAnswer {
        await answer(Call(name: "validate", feature: feature)) { $0.validation }
    }
    func acquire(cores: Int?, timeout: Duration) async -> RequestAnswer {
        await answer(Call(name: "acquire", cores: cores, timeout: timeout)) { $0.acquire }
    }
    func release(timeout: Duration) async -> RequestAnswer {
        await answer(Call(name: "release", timeout: timeout)) { $0.release }
    }
    func metrics() async -> String { await answer(Call(name: "metrics")) { $0.metrics } }
}

/// Suspends callers until opened; opening resumes them all, and later waits return at once.
final class Gate: Sendable {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var arrived = 0
    }

    private let state = Mutex(State())

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                state.arrived += 1
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Blocks (a test thread, not the pool) until `count` callers have arrived; false after 10 s.
    func waitForWaiters(_ count: Int) -> Bool {
        for _ in 0..<1000 {
            if state.withLock({ $0.arrived >= count }) { return true }
            usleep(10_000)
        }
        return false
    }
}

enum APIFixtures {
    static let license = LicenseStatus(
        id: "LIC-2025-0042", licensee: "Acme Corp", maxCores: 16, expires: "2027-01-01T00:00:00Z", notBefore: nil,
        servers: ["02:00:00:00:00:a1", "02:00:00:00:00:a2", "02:00:00:00:00:a3"], hosts: 5, features: ["solver"],
        valid: true, problems: [], policy: "majority")

    /// Three members out of order (the table sorts them by ID: 0f, a1, a2): a1 is this node and the
    /// authority, a2 is suspect, 0f is dead.
    static let members = [
        MemberStatus(id: "00000000000000a2", address: "10.0.0.2:7946", state: "suspect", incarnation: 3, mac: "02:00:00:00:00:a2",
                     licenseID: "LIC-2025-0042", cores: 4, isAuthority: false, isSelf: false),
        MemberStatus(id: "000000000000000f", address: "10.0.0.15:7946", state: "dead", incarnation: 12, mac: nil,
                     licenseID: nil, cores: 0, isAuthority: false, isSelf: false),
        MemberStatus(id: "00000000000000a1", address: "10.0.0.1:7946", state: "alive", incarnation: 0, mac: "02:00:00:00:00:a1",
                     licenseID: "LIC-2025-0042", cores: 2, isAuthority: true, isSelf: true),
    ]

    static let ledger = [
        GrantStatus(node: "00000000000000a2", cores: 4, stamp: "3/9"),
        GrantStatus(node: "00000000000000a1", cores: 2, stamp: "3/7"),
    ]

    static func healthyStatus() -> AgentStatus {
        AgentStatus(
            node: "00000000000000a1", address: "10.0.0.1:7946", cluster: "prod", mac: "02:00:00:00:00:a1", joined: true,
            licensed: true, healthy: true, problems: [], authority: "00000000000000a1", epoch: "3", isAuthority: true,
            license: license, coresHeld: 2, coresInUse: 6, members: members, ledger: ledger, localHealth: 0,
            uptimeSeconds: 12.5)
    }

    static func unlicensedStatus() -> AgentStatus {
        var status = healthyStatus()
        status.licensed = false
        status.healthy = false
        status.problems = ["not licensed: \(LicensingMessages.invalidMultiServerLicense) This server's MAC 02:00:00:00:00:a1 is not in the license; ask the vendor for a license listing it"]
        return status
    }
}
