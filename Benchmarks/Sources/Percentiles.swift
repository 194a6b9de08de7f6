import AgentHarness
/// Nearest-rank percentiles of a sample, for benchmark tables.
public struct Percentiles: Codable, Sendable, Hashable {
    public var count: Int
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?
    public var max: Double?

    public init(_ values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        func rank(_ q: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let index = Swift.max(1, Int((q * Double(sorted.count)).rounded(.up))) - 1
            return sorted[Swift.min(index, sorted.count - 1)]
        }
        p50 = rank(0.5); p90 = rank(0.9); p99 = rank(0.99); max = sorted.last
    }

    /// "p50 0.512 s, p90 ..., p99 ..., max ..." with `unit` scaling (e.g. 1 for seconds).
    public func summary(decimals: Int = 3, unit: String = "s") -> String {
        func f(_ v: Double?) -> String { v.map { formatFixed($0, decimals) + " " + unit } ?? "-" }
        return "p50 \(f(p50)), p90 \(f(p90)), p99 \(f(p99)), max \(f(max)) (n=\(count))"
    }
}
