import Foundation
import Licensing
import SWIM
import Simulation

/// The scenario catalogue (`ScenarioCatalogue`) over many seeds: every run checked for safety after
/// every event and for liveness once its faults healed. Prints a line per scenario, every failing
/// seed with what it violated, and writes the counts and the time from the last fault to the first
/// passing liveness check. Runs the scenarios on every core.
public enum CatalogueBenchmark {
    public struct Results: Codable, Sendable {
        public var benchmark = "catalogue"
        public var date: String
        public var hostile: Bool
        public var seedsPerScenario: Int
        public var firstSeed: UInt64
        public var scenarios: [ScenarioRow]
        public var runs: Int
        public var failedRuns: Int
        public var failures: [String]
        public var wallSeconds: Double
    }

    public struct ScenarioRow: Codable, Sendable {
        public var scenario: String
        public var runs: Int
        public var failed: Int
        public var livenessChecks: Int
        public var safetyViolations: Int
        public var livenessViolations: Int
        /// The longest a client's acquire waited for its answer, over the runs (seconds).
        public var longestClientWait: Double
    }

    public static func run(seeds: Int, firstSeed: UInt64 = 1, only: [ScenarioCatalogue.Kind] = ScenarioCatalogue.Kind.allCases,
                           hostile: Bool = false, resultsDirectory: String?, print log: @escaping @Sendable (String) -> Void) throws -> Results {
        let started = Date()
        let kinds = only
        // One job per (scenario, seed), shared out over the cores; each result goes into its own slot.
        let jobs = kinds.flatMap { kind in (0..<seeds).map { (kind, firstSeed + UInt64($0)) } }
        let slots = ResultSlots(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: ProcessInfo.processInfo.activeProcessorCount) { worker in
            var index = worker
            while index < jobs.count {
                let (kind, seed) = jobs[index]
                slots.set(index, Result { () throws(ScenarioError) in try ScenarioCatalogue.run(kind, seed: seed, hostile: hostile) })
                index += ProcessInfo.processInfo.activeProcessorCount
            }
        }
        var rows: [ScenarioRow] = []
        var failures: [String] = []
        for kind in kinds {
            var row = ScenarioRow(scenario: kind.rawValue, runs: 0, failed: 0, livenessChecks: 0, safetyViolations: 0,
                                  livenessViolations: 0, longestClientWait: 0)
            for (index, job) in jobs.enumerated() where job.0 == kind {
                row.runs += 1
                switch slots.get(index) {
                case .success(let result)?:
                    let report = result.report
                    row.livenessChecks += report.livenessChecks
                    row.safetyViolations += report.overLimitSteps + report.lostGrants + report.reactionLimitHits
                    row.livenessViolations += report.livenessViolations
                    row.longestClientWait = max(row.longestClientWait, report.longestClientWait)
                    if !result.passed {
                        row.failed += 1
                        failures.append(result.failureReport)
                    }
                case .failure(let error)?:
                    row.failed += 1
                    failures.append("scenario \(kind.rawValue) seed \(job.1): \(error)")
                case nil:
                    row.failed += 1
                    failures.append("scenario \(kind.rawValue) seed \(job.1): did not run")
                }
            }
            log("\(kind.rawValue.padding(toLength: 30, withPad: " ", startingAt: 0)) \(row.runs) runs, \(row.failed) failed, "
                + "\(row.livenessChecks) liveness checks, \(row.safetyViolations) safety and \(row.livenessViolations) liveness violations, "
                + "longest client wait \(formatSeconds(row.longestClientWait))")
            rows.append(row)
        }
        for failure in failures.prefix(50) { log(failure) }
        if failures.count > 50 { log("... and \(failures.count - 50) more failing runs") }
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), hostile: hostile, seedsPerScenario: seeds, firstSeed: firstSeed,
                              scenarios: rows, runs: jobs.count, failedRuns: failures.count, failures: failures,
                              wallSeconds: Date().timeIntervalSince(started))
        log("\(results.runs) runs, \(results.failedRuns) failed, in \(formatSeconds(results.wallSeconds))")
        if let resultsDirectory {
            let path = try BenchmarkResults.write(results, name: hostile ? "bench-catalogue-hostile.json" : "bench-catalogue.json",
                                                  directory: resultsDirectory)
            log("wrote \(path)")
        }
        return results
    }
}

/// Results written by worker threads, each into its own slot.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [Result<ScenarioCatalogue.Result, ScenarioError>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<ScenarioCatalogue.Result, ScenarioError>) { lock.withLock { slots[index] = value } }
    func get(_ index: Int) -> Result<ScenarioCatalogue.Result, ScenarioError>? { lock.withLock { slots[index] } }
}
