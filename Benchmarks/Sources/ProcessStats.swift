#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SmallFiles
import AgentHarness

/// CPU time and memory of another process, from /proc (Linux only).
struct ProcessStats: Codable, Sendable {
    /// User plus system CPU seconds since the process started.
    var cpuSeconds: Double
    /// Resident set size now, and its high-water mark, in bytes.
    var rssBytes: Int
    var peakRSSBytes: Int
    /// RSS split: private memory (heap, stacks) and pages of mapped files (the binary and shared
    /// libraries, shared with every other agent on the host).
    var anonymousRSSBytes: Int
    var fileRSSBytes: Int

    /// Nil when /proc has no such process (it exited) or its files are not in the expected form.
    static func read(pid: pid_t) -> ProcessStats? {
        guard let stat = procText("/proc/\(pid)/stat"),
              let status = procText("/proc/\(pid)/status") else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ')': state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func kilobytes(_ key: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
            return Int(line.dropFirst(key.count + 1).filter(\.isNumber))
        }
        guard let rss = kilobytes("VmRSS"), ticks > 0 else { return nil }
        return ProcessStats(cpuSeconds: (user + system) / ticks, rssBytes: rss * 1024, peakRSSBytes: (kilobytes("VmHWM") ?? rss) * 1024,
                            anonymousRSSBytes: (kilobytes("RssAnon") ?? 0) * 1024, fileRSSBytes: (kilobytes("RssFile") ?? 0) * 1024)
    }
}

/// A /proc file's text (through the bounded small-file reader); nil if it cannot be read.
func procText(_ path: String) -> String? {
    (try? SmallFile.read(path: path, limit: 4 << 20)).map { String(decoding: $0, as: UTF8.self) }
}

/// The machine a benchmark ran on, recorded beside its figures.
struct MachineDescription: Codable, Sendable {
    var cpuModel: String
    var onlineCores: Int
    var memoryGiB: Double
    var loadAverageAtStart: String
    var build: String

    static func current() -> MachineDescription {
        let cpuinfo = procText("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let load = (procText("/proc/loadavg") ?? "")
            .split(separator: " ").prefix(3).joined(separator: " ")
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return MachineDescription(cpuModel: model, onlineCores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                                  memoryGiB: Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30),
                                  loadAverageAtStart: load, build: build)
    }

    var summary: String {
        "\(cpuModel), \(onlineCores) cores (shared with other work), \(TextFormat.fixed(memoryGiB, 1)) GiB, load \(loadAverageAtStart), \(build) build"
    }
}

/// Formatting helpers shared by the benchmark tables.
enum TextFormat {
    static func fixed(_ value: Double, _ decimals: Int) -> String { formatFixed(value, decimals) }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }

    /// Rows of cells as aligned columns: the first column left-aligned, the others right-aligned.
    static func table(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            "  " + row.enumerated().map { i, cell in pad(cell, widths[i], right: i > 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
