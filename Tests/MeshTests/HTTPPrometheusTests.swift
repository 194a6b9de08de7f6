import Foundation
@testable import Mesh
import Testing

/// The Prometheus text exposition writer, checked against exact expected output and against the
/// format's rules (a small validator below).
@Suite struct HTTPPrometheusTests {
    @Test func countersAndGaugesWithLabelsMatchTheExpectedText() {
        var exposition = PrometheusExposition()
        exposition.counter("licmesh_probes_total", help: "Probes sent.", value: 42)
        exposition.gauge(
            "licmesh_members", help: "Members by state.",
            samples: [PrometheusSample([("state", "alive")], 4), PrometheusSample([("state", "suspect")], 1)])
        exposition.gauge("licmesh_lhm", help: "Local health multiplier.", value: 0.25)
        #expect(exposition.text == """
            # HELP licmesh_probes_total Probes sent.
            # TYPE licmesh_probes_total counter
            licmesh_probes_total 42
            # HELP licmesh_members Members by state.
            # TYPE licmesh_members gauge
            licmesh_members{state="alive"} 4
            licmesh_members{state="suspect"} 1
            # HELP licmesh_lhm Local health multiplier.
            # TYPE licmesh_lhm gauge
            licmesh_lhm 0.25

            """)
        #expect(Self.violations(exposition.text).isEmpty, "\(Self.violations(exposition.text))")
    }

    @Test func helpAndLabelValuesAreEscaped() {
        var exposition = PrometheusExposition()
        exposition.counter(
            "weird_total", help: "Back\\slash and\nnewline \"quotes\" stay.",
            samples: [PrometheusSample([("path", "C:\\dir\n\"x\""), ("empty", "")], 1)])
        let lines = exposition.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == #"# HELP weird_total Back\\slash and\nnewline "quotes" stay."#)
        #expect(lines[2] == #"weird_total{path="C:\\dir\n\"x\"",empty=""} 1"#)
        #expect(lines.count == 4 && lines[3].isEmpty, "one sample, and the text ends with a newline")
        #expect(Self.violations(exposition.text).isEmpty, "\(Self.violations(exposition.text))")
    }

    @Test func histogramBucketsAreCumulativeAndEndAtPlusInfEqualToCount() {
        var histogram = PrometheusHistogram(upperBounds: [0.5, 0.1, 1, .infinity, 0.1])
        #expect(histogram.upperBounds == [0.1, 0.5, 1])
        for value in [0.05, 0.1, 0.3, 0.7, 2.5, .nan] { histogram.observe(value) }
        var exposition = PrometheusExposition()
        exposition.histogram("licmesh_detection_seconds", help: "Time from crash to confirmed dead.", histogram)
        #expect(exposition.text == """
            # HELP licmesh_detection_seconds Time from crash to confirmed dead.
            # TYPE licmesh_detection_seconds histogram
            licmesh_detection_seconds_bucket{le="0.1"} 2
            licmesh_detection_seconds_bucket{le="0.5"} 3
            licmesh_detection_seconds_bucket{le="1"} 4
            licmesh_detection_seconds_bucket{le="+Inf"} 5
            licmesh_detection_seconds_sum 3.65
            licmesh_detection_seconds_count 5

            """)
        #expect(Self.violations(exposition.text).isEmpty, "\(Self.violations(exposition.text))")
    }

    @Test func labelledHistogramsShareOneFamily() {
        var fast = PrometheusHistogram(upperBounds: PrometheusHistogram.exponentialBounds(start: 0.001, factor: 10, count: 3))
        var slow = fast
        fast.observe(0.0005)
        slow.observe(5)
        var exposition = PrometheusExposition()
        exposition.histogram("rtt_seconds", help: "Round trips.", series: [([("kind", "ping")], fast), ([("kind", "le"), ("le", "x")], slow)])
        let text = exposition.text
        #expect(text.contains(#"rtt_seconds_bucket{kind="ping",le="0.001"} 1"#))
        #expect(text.contains(#"rtt_seconds_bucket{kind="le",le="+Inf"} 1"#))
        #expect(text.contains(#"rtt_seconds_bucket{kind="le",le="0.1"} 0"#))
        #expect(!text.contains(#"le="x""#), "a caller's own le label would make buckets ambiguous")
        #expect(text.components(separatedBy: "# TYPE").count == 2)
        #expect(Self.violations(text).isEmpty, "\(Self.violations(text))")
    }

    @Test func valuesUseThePrometheusSpellings() {
        var exposition = PrometheusExposition()
        exposition.gauge(
            "values", help: "Special values.",
            samples: [
                PrometheusSample([("v", "inf")], .infinity), PrometheusSample([("v", "-inf")], -.infinity),
                PrometheusSample([("v", "nan")], .nan), PrometheusSample([("v", "big")], 1e20),
                PrometheusSample([("v", "tiny")], 0.00001), PrometheusSample([("v", "neg")], -3),
            ])
        let text = exposition.text
        for expected in [#"{v="inf"} +Inf"#, #"{v="-inf"} -Inf"#, #"{v="nan"} NaN"#, #"{v="neg"} -3"#] {
            #expect(text.contains(expected), "missing \(expected) in\n\(text)")
        }
        #expect(Self.violations(text).isEmpty, "\(Self.violations(text))")
    }

    @Test func repeatedFamiliesMergeAndBadNamesAreSanitised() {
        var exposition = PrometheusExposition()
        exposition.counter("packets_total", help: "Packets.", samples: [PrometheusSample([("type", "ping")], 1)])
        exposition.gauge("other", help: "Other.", value: 1)
        exposition.counter("packets_total", help: "Ignored second help.", samples: [PrometheusSample([("type", "ack")], 2)])
        exposition.gauge("packets_total", help: "Conflicting type: dropped.", value: 9)
        exposition.counter("9bad-name.total", help: "Sanitised.", samples: [PrometheusSample([("bad-label", "x"), ("ok:no", "y")], 1)])
        let text = exposition.text
        #expect(text.components(separatedBy: "# HELP packets_total").count == 2)
        #expect(text.contains("packets_total{type=\"ping\"} 1\npackets_total{type=\"ack\"} 2\n# HELP other"))
        #expect(!text.contains(" 9\n"))
        #expect(text.contains(#"_9bad_name_total{bad_label="x",ok_no="y"} 1"#))
        #expect(Self.violations(text).isEmpty, "\(Self.violations(text))")
    }

    @Test func theServerMetricsFormatValidly() {
        var exposition = PrometheusExposition()
        HTTPServerMetrics().write(into: &exposition)
        #expect(exposition.text.contains(#"licmesh_http_responses_total{class="2xx"} 0"#))
        #expect(exposition.text.contains(#"licmesh_http_parse_errors_total{kind="body_too_large"} 0"#))
        #expect(Self.violations(exposition.text).isEmpty, "\(Self.violations(exposition.text))")
    }

    @Test func theValidatorCatchesBrokenExpositions() {
        // The validator must be able to fail, or the tests above prove nothing.
        #expect(!Self.violations("metric 1").isEmpty, "missing final newline")
        #expect(!Self.violations("# TYPE a counter\na{l=\"x\"\"} 1\n").isEmpty, "bad label escaping")
        #expect(!Self.violations("# TYPE a counter\nb 1\n").isEmpty, "sample outside its family")
        #expect(!Self.violations("# TYPE a counter\na 1\n# TYPE c gauge\nc 1\n# TYPE a counter\na 2\n").isEmpty, "family repeated")
        #expect(!Self.violations("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n").isEmpty, "not cumulative")
        #expect(!Self.violations("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n").isEmpty, "no +Inf bucket")
        #expect(!Self.violations("# TYPE a counter\na one\n").isEmpty, "bad value")
    }

    // MARK: - Format rules (text format 0.0.4)

    /// Every way `text` breaks the exposition format rules we rely on; empty when it is valid.
    static func violations(_ text: String) -> [String] {
        var problems: [String] = []
        guard text.isEmpty || text.hasSuffix("\n") else { return ["the exposition must end with a newline"] }
        let metricName = "[a-zA-Z_:][a-zA-Z0-9_:]*"
        let label = #"[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*""#
        let value = #"(?:[+-]?Inf|NaN|[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"#
        guard let help = try? Regex("# HELP (\(metricName)) (?:[^\\\\\\n]|\\\\[\\\\n])*"),
              let type = try? Regex("# TYPE (\(metricName)) (counter|gauge|histogram|summary|untyped)"),
              let sample = try? Regex("(\(metricName))(?:\\{(\(label)(?:,\(label))*)?\\})? (\(value))")
        else { return ["validator regex did not compile"] }

        var seenFamilies: Set<String> = []
        var family: (name: String, type: String)?
        var buckets: [(le: Double, count: Double)] = []

        /// One series ends with its `_count` line: check its buckets against it.
        func closeSeries(_ name: String, count: Double) {
            if buckets.last?.le != .infinity { problems.append("\(name): no le=\"+Inf\" bucket") }
            for (earlier, later) in zip(buckets, buckets.dropFirst()) where later.count < earlier.count || later.le <= earlier.le {
                problems.append("\(name): buckets not cumulative or not ascending")
            }
            if let last = buckets.last, last.count != count {
                problems.append("\(name): +Inf bucket \(last.count) != _count \(count)")
            }
            buckets = []
        }

        func closeHistogram() {
            guard let current = family, current.type == "histogram" else { return }
            if !buckets.isEmpty { problems.append("\(current.name): buckets without a _count") }
            buckets = []
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let line = String(line)
            if let match = line.wholeMatch(of: help) {
                let name = String(match.output[1].substring ?? "")
                if family?.name != name {
                    closeHistogram()
                    if seenFamilies.contains(name) { problems.append("\(name): family appears twice") }
                    seenFamilies.insert(name)
                    family = (name, "untyped")
                }
            } else if let match = line.wholeMatch(of: type) {
                let name = String(match.output[1].substring ?? "")
                if family?.name != name {
                    closeHistogram()
                    if seenFamilies.contains(name) { problems.append("\(name): family appears twice") }
                    seenFamilies.insert(name)
                }
                family = (name, String(match.output[2].substring ?? ""))
            } else if let match = line.wholeMatch(of: sample) {
                let name = String(match.output[1].substring ?? "")
                let number = String(match.output[match.output.count - 1].substring ?? "")
                guard let current = family else {
                    problems.append("sample before any TYPE: \(line)")
                    continue
                }
                let suffixes = current.type == "histogram" ? ["_bucket", "_sum", "_count"] : [""]
                guard suffixes.contains(where: { name == current.name + $0 }) else {
                    problems.append("sample \(name) outside its family \(current.name)")
                    continue
                }
                let parsed = Self.parseValue(number)
                if name == current.name + "_bucket" {
                    guard let leRange = line.range(of: #"le=""#), let end = line[leRange.upperBound...].firstIndex(of: "\"") else {
                        problems.append("bucket without le: \(line)")
                        continue
                    }
                    buckets.append((Self.parseValue(String(line[leRange.upperBound..<end])), parsed))
                } else if name == current.name + "_count" {
                    closeSeries(current.name, count: parsed)
                }
            } else if !line.isEmpty {
                problems.append("not a valid line: \(line)")
            }
        }
        closeHistogram()
        return problems
    }

    static func parseValue(_ text: String) -> Double {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text) ?? .nan
        }
    }
}
