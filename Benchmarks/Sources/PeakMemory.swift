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
        if let status = procText("/proc/self/status"),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Int(line.dropFirst(6).filter(\.isNumber)) {
            return kilobytes * 1024
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
