/// The protocol versions we accept. Anything else is answered with 505.
enum HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    case http10
    case http11

    public var description: String { self == .http10 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// One header line as received (or to be sent): the name keeps its case, lookups ignore it.
struct HTTPField: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Header fields in the order they came, with case-insensitive lookup (RFC 9110 section 5.1).
struct HTTPHeaders: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [HTTPField] = []

    public init() {}

    public init(_ fields: [HTTPField]) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[HTTPField]> { fields.makeIterator() }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        fields.first { HTTPCharacters.equalIgnoringASCIICase($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { HTTPCharacters.equalIgnoringASCIICase($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public mutating func append(_ name: String, _ value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// Replaces every field called `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        append(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { HTTPCharacters.equalIgnoringASCIICase($0.name, name) }
    }

    /// The comma-separated elements of every `name` field, trimmed and lowercased, empty ones dropped:
    /// `Connection: keep-alive, Upgrade` gives ["keep-alive", "upgrade"].
    func lowercasedListElements(_ name: String) -> [String] {
        values(name).flatMap { value in
            value.split(separator: ",").map { element in
                HTTPCharacters.asciiLowercased(String(element).trimmingOptionalWhitespace())
            }
        }.filter { !$0.isEmpty }
    }
}

extension String {
    /// Drops spaces and tabs at both ends (HTTP's OWS); other whitespace is data.
    func trimmingOptionalWhitespace() -> String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == HTTPCharacters.space || bytes[start] == HTTPCharacters.tab { start += 1 }
        while end > start, bytes[end - 1] == HTTPCharacters.space || bytes[end - 1] == HTTPCharacters.tab { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
