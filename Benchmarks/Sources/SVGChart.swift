import Foundation
import AgentHarness

/// A small hand-written SVG line chart: axes with round ticks, labels, a legend, one polyline per
/// series (optionally as steps, for CDFs), and markers. Enough for the benchmark plots; no
/// dependencies, and the output is plain text a browser or a Markdown viewer shows as it is.
public struct SVGChart: Sendable {
    public enum Scale: Sendable { case linear, log10 }
    public enum Style: Sendable {
        /// Straight segments between points, with a marker at each.
        case line
        /// Horizontal then vertical segments: an empirical CDF.
        case steps
        /// Straight segments, dashed, no markers: a reference such as a paper's expectation.
        case dashed
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var style: Style
        public init(name: String, points: [(x: Double, y: Double)], style: Style = .line) {
            self.name = name; self.points = points; self.style = style
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: Scale = .linear
    public var series: [Series] = []
    /// Forced axis ranges; nil: from the data (linear axes start at 0).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    public var width = 800.0
    public var height = 460.0
    public var note: String?

    public init(title: String, xLabel: String, yLabel: String, xScale: Scale = .linear) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.xScale = xScale
    }

    /// The points of an empirical CDF of `values`: at each sorted value the fraction at or below it.
    public static func cdf(_ values: [Double]) -> [(x: Double, y: Double)] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        var points: [(x: Double, y: Double)] = [(sorted[0], 0)]
        for (i, value) in sorted.enumerated() { points.append((value, Double(i + 1) / Double(sorted.count))) }
        return points
    }

    private static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    private static let margin = (left: 70.0, right: 230.0, top: 44.0, bottom: 60.0)

    public func render() -> String {
        let plot = (x: Self.margin.left, y: Self.margin.top,
                    w: width - Self.margin.left - Self.margin.right, h: height - Self.margin.top - Self.margin.bottom)
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (xScale == .linear || $0.x > 0) }
        let xs = xRange ?? Self.range(all.map(\.x), scale: xScale)
        let ys = yRange ?? Self.range(all.map(\.y), scale: .linear)
        func project(_ value: Double, _ range: ClosedRange<Double>, _ scale: Scale) -> Double {
            let (v, low, high) = scale == .log10 ? (log10(value), log10(range.lowerBound), log10(range.upperBound))
                                                 : (value, range.lowerBound, range.upperBound)
            return high > low ? (v - low) / (high - low) : 0.5
        }
        func px(_ x: Double) -> Double { plot.x + plot.w * project(x, xs, xScale) }
        func py(_ y: Double) -> Double { plot.y + plot.h * (1 - project(y, ys, .linear)) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Self.n(width / 2))" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(Self.escape(title))</text>

        """
        // Grid and ticks.
        for tick in Self.ticks(xs, scale: xScale) {
            let x = px(tick)
            svg += "<line x1=\"\(Self.n(x))\" y1=\"\(Self.n(plot.y))\" x2=\"\(Self.n(x))\" y2=\"\(Self.n(plot.y + plot.h))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(Self.n(x))\" y=\"\(Self.n(plot.y + plot.h + 16))\" text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        for tick in Self.ticks(ys, scale: .linear) {
            let y = py(tick)
            svg += "<line x1=\"\(Self.n(plot.x))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(plot.x + plot.w))\" y2=\"\(Self.n(y))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(Self.n(plot.x - 6))\" y=\"\(Self.n(y + 4))\" text-anchor=\"end\">\(Self.label(tick))</text>\n"
        }
        // Axes and their labels.
        svg += "<rect x=\"\(Self.n(plot.x))\" y=\"\(Self.n(plot.y))\" width=\"\(Self.n(plot.w))\" height=\"\(Self.n(plot.h))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(Self.n(plot.x + plot.w / 2))\" y=\"\(Self.n(height - 18))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        let yMid = plot.y + plot.h / 2
        svg += "<text x=\"18\" y=\"\(Self.n(yMid))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(Self.n(yMid)))\">\(Self.escape(yLabel))</text>\n"
        if let note {
            svg += "<text x=\"\(Self.n(plot.x))\" y=\"\(Self.n(height - 4))\" font-size=\"10\" fill=\"#666\">\(Self.escape(note))</text>\n"
        }

        // Series, clipped to the plot area.
        svg += "<clipPath id=\"plot\"><rect x=\"\(Self.n(plot.x))\" y=\"\(Self.n(plot.y))\" width=\"\(Self.n(plot.w))\" height=\"\(Self.n(plot.h))\"/></clipPath>\n"
        for (index, one) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = one.points.filter { $0.x.isFinite && $0.y.isFinite && (xScale == .linear || $0.x > 0) }
            guard !points.isEmpty else { continue }
            var path: [String] = []
            for (i, point) in points.enumerated() {
                if one.style == .steps, i > 0 { path.append("\(Self.n(px(point.x))),\(Self.n(py(points[i - 1].y)))") }
                path.append("\(Self.n(px(point.x))),\(Self.n(py(point.y)))")
            }
            let dash = one.style == .dashed ? " stroke-dasharray=\"6 4\"" : ""
            // Curves that coincide (a CDF of equal values) stay visible: earlier ones are drawn wider.
            let strokeWidth = one.style == .steps ? max(1.5, 4 - Double(index) * 0.8) : 2
            svg += "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(Self.n(strokeWidth))\" stroke-opacity=\"0.85\"\(dash) points=\"\(path.joined(separator: " "))\"/>\n"
            if one.style == .line {
                for point in points {
                    svg += "<circle cx=\"\(Self.n(px(point.x)))\" cy=\"\(Self.n(py(point.y)))\" r=\"3.5\" fill=\"\(colour)\"/>\n"
                }
            }
            // Legend entry.
            let ly = plot.y + 10 + Double(index) * 20
            let lx = plot.x + plot.w + 14
            svg += "<line x1=\"\(Self.n(lx))\" y1=\"\(Self.n(ly))\" x2=\"\(Self.n(lx + 24))\" y2=\"\(Self.n(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            svg += "<text x=\"\(Self.n(lx + 30))\" y=\"\(Self.n(ly + 4))\">\(Self.escape(one.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    public func write(to path: String) throws {
        try render().write(toFile: path, atomically: true, encoding: .utf8)
    }

    // MARK: - Axes

    /// Data range, widened to round values; linear ranges include 0, log ranges whole decades.
    static func range(_ values: [Double], scale: Scale) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else { return scale == .log10 ? 1...10 : 0...1 }
        if scale == .log10 {
            let a = pow(10, floor(log10(low))), b = pow(10, ceil(log10(high)))
            return a < b ? a...b : a...(a * 10)
        }
        let top = high > 0 ? niceStep(high / 5) * ceil(high / niceStep(high / 5)) : 1
        let bottom = min(0, low)
        return bottom...max(top, bottom + 1e-9)
    }

    /// A step of 1, 2 or 5 times a power of ten near `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power
    }

    static func ticks(_ range: ClosedRange<Double>, scale: Scale) -> [Double] {
        if scale == .log10 {
            var ticks: [Double] = []
            var value = pow(10, floor(log10(range.lowerBound)))
            while value <= range.upperBound * 1.0001 { if value >= range.lowerBound * 0.9999 { ticks.append(value) }; value *= 10 }
            return ticks
        }
        let step = niceStep((range.upperBound - range.lowerBound) / 6)
        var ticks: [Double] = []
        var value = ceil(range.lowerBound / step) * step
        while value <= range.upperBound + step * 1e-6, ticks.count < 50 { ticks.append(value); value += step }
        return ticks
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        for decimals in 1...4 {
            let text = formatFixed(value, decimals)
            if abs((Double(text) ?? value) - value) < 1e-9 { return text }
        }
        return formatFixed(value, 4)
    }

    static func n(_ value: Double) -> String { formatFixed(value, 1) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
