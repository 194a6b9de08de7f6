/// One sample of a metric family: its labels (without the family name) and value.
public struct PrometheusSample: Sendable {
    public var labels: [(name: String, value: String)]
    public var value: Double

    public init(_ labels: [(String, String)] = [], _ value: Double) {
        self.labels = labels.map { (name: $0.0, value: $0.1) }
        self.value = value
    }
}

/// Writes the Prometheus text exposition format (version 0.0.4), which `GET /metrics` serves:
///
/// ```
/// # HELP licmesh_http_requests_total HTTP responses sent, by status class.
/// # TYPE licmesh_http_requests_total counter
/// licmesh_http_requests_total{class="2xx"} 12
/// ```
///
/// Families keep the order they were first written in; writing a family name again adds its samples
/// to the first one (a family's lines must be contiguous, with one HELP and one TYPE), unless the type
/// differs, in which case the later samples are dropped. Names that are not valid metric or label
/// names have the offending characters replaced by `_`, so the output always parses.
public struct PrometheusExposition: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum MetricType: String, Sendable {
        case counter, gauge, histogram, untyped
    }

    private struct Family: Sendable {
        var name: String
        var type: MetricType
        var help: String
        var lines: [String]
    }

    private var families: [Family] = []
    private var indexByName: [String: Int] = [:]

    public init() {}

    public mutating func counter(_ name: String, help: String, value: Double) {
        counter(name, help: help, samples: [PrometheusSample([], value)])
    }

    public mutating func counter(_ name: String, help: String, samples: [PrometheusSample]) {
        add(name, .counter, help: help, lines: samples.map { Self.sampleLine(Self.metricName(name), $0.labels, $0.value) })
    }

    public mutating func gauge(_ name: String, help: String, value: Double) {
        gauge(name, help: help, samples: [PrometheusSample([], value)])
    }

    public mutating func gauge(_ name: String, help: String, samples: [PrometheusSample]) {
        add(name, .gauge, help: help, lines: samples.map { Self.sampleLine(Self.metricName(name), $0.labels, $0.value) })
    }

    mutating func histogram(_ name: String, help: String, _ histogram: PrometheusHistogram, labels: [(String, String)] = []) {
        self.histogram(name, help: help, series: [(labels, histogram)])
    }

    /// Several labelled histograms of one family, e.g. one per message type.
    mutating func histogram(_ name: String, help: String, series: [([(String, String)], PrometheusHistogram)]) {
        let base = Self.metricName(name)
        var lines: [String] = []
        for (rawLabels, histogram) in series {
            // `le` belongs to the bucket lines; a caller's own `le` would make them ambiguous.
            let labels = rawLabels.map { (name: $0.0, value: $0.1) }.filter { Self.labelName($0.name) != "le" }
            for bucket in histogram.cumulativeBuckets {
                lines.append(Self.sampleLine(base + "_bucket", labels + [(name: "le", value: Self.formatValue(bucket.upperBound))], Double(bucket.count)))
            }
            lines.append(Self.sampleLine(base + "_sum", labels, histogram.sum))
            lines.append(Self.sampleLine(base + "_count", labels, Double(histogram.count)))
        }
        add(name, .histogram, help: help, lines: lines)
    }

    /// The exposition, each line ending in a newline.
    public var text: String {
        var output = ""
        for family in families {
            output += "# HELP \(family.name) \(TextEscaping.prometheusHelp(family.help))\n"
            output += "# TYPE \(family.name) \(family.type.rawValue)\n"
            for line in family.lines { output += line + "\n" }
        }
        return output
    }

    private mutating func add(_ rawName: String, _ type: MetricType, help: String, lines: [String]) {
        let name = Self.metricName(rawName)
        if let index = indexByName[name] {
            guard families[index].type == type else { return }
            families[index].lines += lines
            return
        }
        indexByName[name] = families.count
        families.append(Family(name: name, type: type, help: help, lines: lines))
    }

    // MARK: - Format rules

    static func sampleLine(_ name: String, _ labels: [(name: String, value: String)], _ value: Double) -> String {
        guard !labels.isEmpty else { return "\(name) \(formatValue(value))" }
        let pairs = labels.map { "\(labelName($0.name))=\"\(TextEscaping.prometheusLabelValue($0.value))\"" }
        return "\(name){\(pairs.joined(separator: ","))} \(formatValue(value))"
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`; anything else becomes `_`.
    static func metricName(_ name: String) -> String { sanitize(name, allowColon: true) }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`; anything else becomes `_`.
    static func labelName(_ name: String) -> String { sanitize(name, allowColon: false) }

    private static func sanitize(_ name: String, allowColon: Bool) -> String {
        var bytes = Array(name.utf8).map { byte -> UInt8 in
            let ok = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "_") || (allowColon && byte == UInt8(ascii: ":"))
            return ok ? byte : UInt8(ascii: "_")
        }
        if bytes.isEmpty || (bytes[0] >= 0x30 && bytes[0] <= 0x39) { bytes.insert(UInt8(ascii: "_"), at: 0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Integers without a fraction, `+Inf`, `-Inf`, `NaN`, other values in Swift's shortest
    /// round-tripping form (which Prometheus's float parser reads, exponent included).
    static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), value.magnitude < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
