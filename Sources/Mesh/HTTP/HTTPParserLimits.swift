/// Bounds on what one request may make us buffer. Defaults suit a local control API whose largest
/// request is a small JSON document.
public struct HTTPParserLimits: Hashable, Sendable {
    /// Request line plus header lines, CRLFs included: over it, 431.
    public var maxHeadBytes: Int
    /// The request line alone: over it, 414 (a long target is the usual cause).
    public var maxRequestLineBytes: Int
    /// Header lines: over it, 431.
    public var maxHeaderCount: Int
    /// A body's declared Content-Length: over it, 413, before any of the body is read.
    public var maxBodyBytes: Int

    public init(maxHeadBytes: Int = 8 * 1024, maxRequestLineBytes: Int = 4 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 64 * 1024) {
        self.maxHeadBytes = max(16, maxHeadBytes)
        self.maxRequestLineBytes = max(16, maxRequestLineBytes)
        self.maxHeaderCount = max(1, maxHeaderCount)
        self.maxBodyBytes = max(0, maxBodyBytes)
    }

    /// Longer methods than any registered one are refused as malformed, not buffered.
    static let maxMethodBytes = 32
    /// Content-Length digits: 18 fit in an Int64 without overflow.
    static let maxContentLengthDigits = 18
}
