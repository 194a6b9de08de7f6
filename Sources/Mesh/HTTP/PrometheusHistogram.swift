/// Observations counted into buckets, for a Prometheus histogram (e.g. failure-detection latency).
/// A value type: keep it under the owner's lock and copy it out to write an exposition.
struct PrometheusHistogram: Hashable, Sendable {
    /// Finite, ascending, without duplicates; the implicit last bucket is +Inf.
    public let upperBounds: [Double]
    /// Per bucket, not cumulative; one more entry than `upperBounds` (the +Inf bucket).
    public private(set) var bucketCounts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    /// Non-finite bounds are dropped (+Inf is always there), the rest sorted and de-duplicated.
    public init(upperBounds: [Double]) {
        self.upperBounds = Array(Set(upperBounds.filter(\.isFinite))).sorted()
        bucketCounts = Array(repeating: 0, count: self.upperBounds.count + 1)
    }

    /// `count` bounds from `start`, each `factor` times the previous: 0.01, 0.02, 0.04, ...
    public static func exponentialBounds(start: Double, factor: Double, count: Int) -> [Double] {
        guard start > 0, factor > 1, count > 0 else { return [] }
        var bounds: [Double] = []
        var bound = start
        for _ in 0..<min(count, 64) {
            bounds.append(bound)
            bound *= factor
        }
        return bounds
    }

    /// Counts `value` in the first bucket whose bound is >= it. NaN is ignored: it would poison the sum.
    public mutating func observe(_ value: Double) {
        guard !value.isNaN else { return }
        let index = upperBounds.firstIndex { value <= $0 } ?? upperBounds.count
        bucketCounts[index] &+= 1
        count &+= 1
        sum += value
    }

    /// What `_bucket{le=...}` reports: observations at or below each bound, ending with +Inf (= count).
    public var cumulativeBuckets: [(upperBound: Double, count: UInt64)] {
        var running: UInt64 = 0
        var result: [(upperBound: Double, count: UInt64)] = []
        for (index, bucket) in bucketCounts.enumerated() {
            running &+= bucket
            result.append((index < upperBounds.count ? upperBounds[index] : .infinity, running))
        }
        return result
    }
}
