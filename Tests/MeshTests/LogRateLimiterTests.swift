@testable import Mesh
import Testing

@Suite struct LogRateLimiterTests {
    @Test func aBurstPassesPerWindowAndTheNextLineSaysHowManyWereSuppressed() async throws {
        let limiter = LogRateLimiter(interval: .milliseconds(50))
        let first = (0..<8).map { _ in limiter.admit("refused", burst: 3) }
        #expect(first == [0, 0, 0, nil, nil, nil, nil, nil])
        #expect(limiter.admit("other") == 0, "keys are limited apart")
        try await Task.sleep(for: .milliseconds(80))
        #expect(limiter.admit("refused", burst: 3) == 5, "the first line of the next window carries the count")
        #expect(limiter.admit("refused", burst: 3) == 0)
    }
}
