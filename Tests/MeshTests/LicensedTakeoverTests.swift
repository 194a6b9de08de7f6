import Licensing
@testable import Mesh
import SWIM
import Synchronization
import Testing

/// What a client of one agent saw while it validated and acquired in a loop.
final class ClientRecord: Sendable {
    struct Answer: Sendable { var at: Instant; var answer: RequestAnswer }
    private let state = Mutex<(validations: Int, failed: [String], answers: [Answer])>((0, [], []))

    func validated(_ answer: ValidationAnswer) {
        state.withLock { state in
            state.validations += 1
            if !answer.allowed { state.failed.append(answer.message) }
        }
    }

    func answered(_ answer: RequestAnswer, at instant: Instant) {
        state.withLock { $0.answers.append(Answer(at: instant, answer: answer)) }
    }

    var validations: Int { state.withLock { $0.validations } }
    var failedValidations: [String] { state.withLock { $0.failed } }
    var answers: [Answer] { state.withLock { $0.answers } }

    /// The first grant answered after `instant` while `authority` was the authority.
    func firstGrant(after instant: Instant, by authority: NodeID) -> Answer? {
        answers.first { $0.at > instant && $0.answer.outcome == .granted && $0.answer.authority == authority.description }
    }
}

extension TransportTests.LicensedTakeover {
    /// Issue 4's real-UDP test: five licensed agents, three license servers; the authority stops
    /// without leaving; the next lowest server takes over and serves acquires, and a client that
    /// validates throughout never sees a failure.
    @Test func theNextLowestServerTakesOverAndNoValidationFails() async throws {
        let fixture = LicensedFixture(cluster: "takeover")
        try fixture.writeLicense(hosts: [0, 1, 2, 3, 4], servers: [0, 1, 2], maxCores: 16)
        let agents = try fixture.startCluster(count: 5, cores: 2)
        let (authority, successor, client) = (agents[0], agents[1], agents[4])
        #expect(await LicensedTestSupport.eventually { LicensedTestSupport.converged(agents) })
        #expect(await LicensedTestSupport.eventually { await LicensedTestSupport.allLicensed(agents) }, "every agent holds its grant")
        #expect(await LicensedTestSupport.eventually {
            for agent in agents where await agent.status().authority != authority.id.description { return false }
            return true
        }, "the lowest server is the authority everywhere")
        #expect(await authority.status().isAuthority)

        // The client: validates continuously, and (separately, so that a slow acquire never pauses the
        // checks) acquires a different core count each time: a real ledger change, which needs the
        // authority and a quorum of the servers.
        let record = ClientRecord()
        let validator = Task {
            while !Task.isCancelled {
                record.validated(await client.validate(feature: nil))
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let acquirer = Task {
            var round = 0
            while !Task.isCancelled {
                let answer = await client.acquire(cores: round % 2 == 0 ? 1 : 2, timeout: .seconds(2))
                record.answered(answer, at: MonotonicClock.now())
                round += 1
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(await LicensedTestSupport.eventually { record.firstGrant(after: .zero, by: authority.id) != nil }, "the client is served before the crash")

        let crashedAt = MonotonicClock.now()
        await authority.stop()
        let survivors = Array(agents.dropFirst())
        #expect(await LicensedTestSupport.eventually { await successor.status().isAuthority }, "the next lowest server takes over")
        #expect(await LicensedTestSupport.eventually { record.firstGrant(after: crashedAt, by: successor.id) != nil },
                "the new authority serves acquires: \(record.answers.suffix(5).map { "\($0.answer.outcome) \($0.answer.authority ?? "-") \($0.answer.message)" })")
        // Keep the client going a while longer under the new authority.
        let servedAgain = record.answers.count, validatedAgain = record.validations
        #expect(await LicensedTestSupport.eventually { record.answers.count >= servedAgain + 10 && record.validations >= validatedAgain + 50 })
        validator.cancel()
        acquirer.cancel()
        await validator.value
        await acquirer.value

        if let first = record.firstGrant(after: crashedAt, by: successor.id) {
            print("LicensedTakeover: authority stopped; first acquire granted by the new authority \(formatSeconds((first.at - crashedAt).seconds)) later "
                + "(\(record.validations) validations, \(record.failedValidations.count) failed; \(record.answers.count) acquires answered)")
        }
        #expect(record.failedValidations.isEmpty, "validations failed: \(record.failedValidations.prefix(3))")
        #expect(record.validations >= 50)
        #expect(await LicensedTestSupport.allLicensed(survivors), "no live node lost its grant")
        for agent in survivors {
            #expect(await LicensedTestSupport.eventually { await agent.status().authority == successor.id.description })
        }

        // What operators see: the dead authority in the table and the detection latency in the metrics.
        #expect(await LicensedTestSupport.eventually {
            let status = await client.status()
            return status.members.first { $0.id == authority.id.description }?.state == "dead"
                && status.members.filter { $0.state == "alive" }.count == 4 && status.healthy
        })
        let metrics = await client.metrics()
        #expect(metrics.contains("licmesh_members{state=\"alive\"} 4"))
        // Some survivor saw the suspicion before the death (most see both; gossip may bring only the death).
        var latencies = 0
        for agent in survivors {
            let line = await agent.metrics().split(separator: "\n").first { $0.hasPrefix("licmesh_detection_latency_seconds_count ") }
            latencies += line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        #expect(latencies >= 1)
        #expect(metrics.contains("licmesh_cores_limit 16"))
        #expect(metrics.contains("licmesh_authority_epoch "))
        await LicensedTestSupport.stopAll(survivors)
    }
}
