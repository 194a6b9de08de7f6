#if canImport(Glibc)
import Glibc
#endif

/// Peak resident memory of this process, from /proc (Linux), with a way to restart the measurement so
/// that each benchmark case reports its own peak rather than the largest so far.
enum PeakMemory {
    /// Resets the kernel's high-water mark (VmHWM) to the current RSS; false where unsupported.
    @discardableResult
    static func reset() -> Bool {
        guard let file = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(file) }
        return fputs("5", file) >= 0
    }

    /// VmHWM in bytes, or the lifetime maximum from getrusage when /proc is not there.
    static func peakBytes() -> Int {
        if let file = fopen("/proc/self/status", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 256)
            while fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard text.hasPrefix("VmHWM:") else { continue }
                let digits = text.dropFirst(6).filter(\.isNumber)
                if let kilobytes = Int(digits) { return kilobytes * 1024 }
            }
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
