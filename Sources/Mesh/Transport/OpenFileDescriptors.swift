import Glibc

/// How many file descriptors this process has open, for leak checks in tests and diagnostics.
enum OpenFileDescriptors {
    /// Counts the entries of /proc/self/fd (excluding the one used to read it); nil without /proc.
    public static func count() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var entries = 0
        while let entry = readdir(directory) {
            let isDotEntry = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDotEntry { entries += 1 }
        }
        // The directory stream itself holds one descriptor while we read.
        return entries - 1
    }
}
