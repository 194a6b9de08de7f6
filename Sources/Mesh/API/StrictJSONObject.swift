/// A JSON object read strictly by the RFC 8259 grammar, for the agent API's request bodies: a flat
/// object of scalar fields such as `{"cores": 4, "timeoutMs": 5000}`.
///
/// Strict where a general decoder is lenient, because these bodies ask for cores: numbers keep
/// whether they were written as integers (`2.0` and `2e0` are not counts), a field may appear only
/// once, strings must be valid UTF-8 with valid escapes and paired UTF-16 surrogates, and nothing
/// may follow the object. Nested arrays and objects are checked against the grammar and then only
/// recognised (`.array`, `.object`), never built, and nest at most `maximumDepth` deep; the reader
/// does not recurse, so its work is linear in the body whatever the body holds.
///
/// Errors name the byte offset (counted from 0) and what was expected there.
struct StrictJSONObject: Sendable {
    /// One field's value, only as deep as the checks need.
    enum Value: Equatable, Sendable {
        case null
        case bool(Bool)
        /// A number written as an integer (no fraction, no exponent) that fits in `Int`.
        case integer(Int)
        /// A number written as an integer that does not fit in `Int`, as sent.
        case integerOutOfRange(String)
        /// A number with a fraction or an exponent (`2.0`, `2e0`, `1E3`), as sent.
        case nonInteger(String)
        case string(String)
        case array
        case object
    }

    struct Field: Equatable, Sendable {
        var name: String
        var value: Value
        /// Where the field's name starts in the body.
        var offset: Int
    }

    /// Nesting limit, the top-level object included.
    static let maximumDepth = 32

    /// The fields in the order sent, each name once.
    let fields: [Field]

    init(parsing body: [UInt8]) throws(StrictJSONError) {
        try StrictJSONReader.checkUTF8(body)
        var reader = StrictJSONReader(body)
        fields = try reader.readDocument()
    }

    subscript(name: String) -> Value? {
        fields.first { $0.name == name }?.value
    }
}

/// Why a body is not a strict JSON object, in a sentence for the client.
struct StrictJSONError: Error, Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// Some bytes are not UTF-8.
        case notUTF8
        /// The grammar is broken (including nesting beyond the limit).
        case invalid
        /// Valid JSON, but the top level is not an object.
        case notAnObject
        /// A field name appears more than once.
        case duplicateField(String)
    }

    var kind: Kind
    /// The byte the problem is at.
    var offset: Int
    /// What is wrong, e.g. `the body is not valid JSON: at byte 9, expected ':' after the field name, found '4'`.
    var message: String
    /// The message without its subject ("the body is ..."), e.g. `at byte 9, expected ':' after the
    /// field name, found '4'`: what the configuration file's errors say about a file.
    var detail: String

    init(kind: Kind, offset: Int, message: String, detail: String? = nil) {
        self.kind = kind; self.offset = offset; self.message = message; self.detail = detail ?? message
    }
}

/// The reader behind `StrictJSONObject`: one pass over the bytes, no recursion.
private struct StrictJSONReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    // MARK: - Document and top-level object

    mutating func readDocument() throws(StrictJSONError) -> [StrictJSONObject.Field] {
        skipWhitespace()
        let start = position
        guard current == ascii("{") else { throw notAnObject(at: start) }
        position += 1

        var fields: [StrictJSONObject.Field] = []
        var offsets: [String: Int] = [:]
        var duplicate: StrictJSONError?
        skipWhitespace()
        if current == ascii("}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                let nameOffset = position
                guard current == ascii("\"") else {
                    throw expected("a field name in double quotes", at: position, hint: fields.isEmpty ? "" : Self.trailingCommaHint(current))
                }
                let name = try readString(building: true)
                skipWhitespace()
                guard current == ascii(":") else { throw expected("':' after the field name", at: position) }
                position += 1
                skipWhitespace()
                let value = try readValue(depth: 1)
                if let first = offsets[name] {
                    // Reported once the whole body is known to be valid JSON.
                    if duplicate == nil {
                        duplicate = StrictJSONError(
                            kind: .duplicateField(name), offset: nameOffset,
                            message: "the field '\(AgentAPIBadRequest.printable(name))' appears twice (at byte \(first) and at byte \(nameOffset)); send each field once")
                    }
                } else {
                    offsets[name] = nameOffset
                    fields.append(StrictJSONObject.Field(name: name, value: value, offset: nameOffset))
                }
                skipWhitespace()
                if current == ascii(",") { position += 1; continue }
                if current == ascii("}") { position += 1; break }
                throw expected("',' or '}' after the value of field '\(AgentAPIBadRequest.printable(name))'", at: position)
            }
        }
        skipWhitespace()
        guard current == nil else { throw expected("the end of the body after the object", at: position) }
        if let duplicate { throw duplicate }
        return fields
    }

    /// The top level does not open an object: "not a JSON object but an array" when it is another
    /// JSON value, so the client learns which of the two mistakes it made; else not JSON at all.
    private mutating func notAnObject(at start: Int) -> StrictJSONError {
        let value = try? readValue(depth: 0)
        skipWhitespace()
        guard let value, current == nil else { return expected("a JSON object '{'", at: start) }
        return StrictJSONError(kind: .notAnObject, offset: start, message: "the body is not a JSON object but \(Self.kindName(value))")
    }

    // MARK: - Values

    /// One value at `position`; `depth` is how many arrays and objects enclose it.
    private mutating func readValue(depth: Int) throws(StrictJSONError) -> StrictJSONObject.Value {
        guard let byte = current else { throw expected(Self.aValue, at: position) }
        switch byte {
        case ascii("\""):
            return .string(try readString(building: true))
        case ascii("{"), ascii("["):
            try skipComposite(depth: depth)
            return byte == ascii("{") ? .object : .array
        case ascii("-"), ascii("0")...ascii("9"):
            return try readNumber()
        case ascii("t"):
            try readLiteral("true")
            return .bool(true)
        case ascii("f"):
            try readLiteral("false")
            return .bool(false)
        case ascii("n"):
            try readLiteral("null")
            return .null
        default:
            throw expected(Self.aValue, at: position, hint: byte == ascii("+") ? " (a JSON number has no '+' sign)" : "")
        }
    }

    /// Checks the array or object at `position`, nested ones included, without building anything:
    /// a stack of the brackets still open instead of recursion.
    private mutating func skipComposite(depth enclosing: Int) throws(StrictJSONError) {
        var closers: [UInt8] = []
        var expectingValue = true
        var afterComma = false
        while true {
            if expectingValue {
                skipWhitespace()
                guard let byte = current else { throw expected(Self.aValue, at: position) }
                if byte == ascii("{") || byte == ascii("[") {
                    guard enclosing + closers.count < StrictJSONObject.maximumDepth else {
                        throw invalid(at: position, "at byte \(position), arrays and objects nest more than \(StrictJSONObject.maximumDepth) deep")
                    }
                    let closer = byte == ascii("{") ? ascii("}") : ascii("]")
                    closers.append(closer)
                    position += 1
                    skipWhitespace()
                    if current == closer {
                        position += 1
                        closers.removeLast()
                        expectingValue = false
                    } else if closer == ascii("}") {
                        try skipFieldName(afterComma: false)
                    }
                } else {
                    switch byte {
                    case ascii("\""): _ = try readString(building: false)
                    case ascii("-"), ascii("0")...ascii("9"): _ = try readNumber()
                    case ascii("t"): try readLiteral("true")
                    case ascii("f"): try readLiteral("false")
                    case ascii("n"): try readLiteral("null")
                    default:
                        let hint = afterComma ? Self.trailingCommaHint(byte) : byte == ascii("+") ? " (a JSON number has no '+' sign)" : ""
                        throw expected(Self.aValue, at: position, hint: hint)
                    }
                    expectingValue = false
                }
                afterComma = false
            } else {
                guard let closer = closers.last else { return }
                skipWhitespace()
                if current == ascii(",") {
                    position += 1
                    if closer == ascii("}") { try skipFieldName(afterComma: true) }
                    expectingValue = true
                    afterComma = true
                } else if current == closer {
                    position += 1
                    closers.removeLast()
                } else {
                    throw expected("',' or '\(Character(Unicode.Scalar(closer)))'", at: position)
                }
            }
        }
    }

    /// `"name" :` inside a nested object.
    private mutating func skipFieldName(afterComma: Bool) throws(StrictJSONError) {
        skipWhitespace()
        guard current == ascii("\"") else {
            throw expected("a field name in double quotes", at: position, hint: afterComma ? Self.trailingCommaHint(current) : "")
        }
        _ = try readString(building: false)
        skipWhitespace()
        guard current == ascii(":") else { throw expected("':' after the field name", at: position) }
        position += 1
    }

    private mutating func readLiteral(_ word: StaticString) throws(StrictJSONError) {
        let start = position
        let expectedBytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for byte in expectedBytes {
            guard current == byte else { throw expected(Self.aValue, at: start) }
            position += 1
        }
    }

    // MARK: - Numbers

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func readNumber() throws(StrictJSONError) -> StrictJSONObject.Value {
        let start = position
        let negative = current == ascii("-")
        if negative { position += 1 }
        guard let first = current, Self.isDigit(first) else { throw expected("a digit after '-'", at: position) }
        let digitsStart = position
        position += 1
        if first == ascii("0") {
            if let next = current, Self.isDigit(next) {
                while let byte = current, Self.isDigit(byte) { position += 1 }
                let written = String(decoding: bytes[digitsStart..<position], as: UTF8.self)
                throw invalid(at: digitsStart, "at byte \(digitsStart), a number has a leading zero, found '\(AgentAPIBadRequest.printable(written))'")
            }
        } else {
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        let digitsEnd = position
        var isInteger = true
        if current == ascii(".") {
            isInteger = false
            position += 1
            guard let byte = current, Self.isDigit(byte) else { throw expected("a digit after the decimal point", at: position) }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        if current == ascii("e") || current == ascii("E") {
            isInteger = false
            position += 1
            if current == ascii("+") || current == ascii("-") { position += 1 }
            guard let byte = current, Self.isDigit(byte) else { throw expected("a digit in the exponent", at: position) }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        let literal = String(decoding: bytes[start..<position], as: UTF8.self)
        guard isInteger else { return .nonInteger(literal) }
        var value = 0
        for byte in bytes[digitsStart..<digitsEnd] {
            let digit = Int(byte &- ascii("0"))
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowAdd) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if overflowShift || overflowAdd { return .integerOutOfRange(literal) }
            value = next
        }
        return .integer(value)
    }

    // MARK: - Strings

    /// The string at `position` (its opening quote); its text when `building`, else "" once checked.
    /// The body is already known to be UTF-8.
    private mutating func readString(building: Bool) throws(StrictJSONError) -> String {
        let start = position
        position += 1
        var text: [UInt8] = []
        while true {
            guard let byte = current else {
                throw invalid(at: position, "at byte \(position), the string that starts at byte \(start) has no closing '\"'")
            }
            switch byte {
            case ascii("\""):
                position += 1
                return building ? String(decoding: text, as: UTF8.self) : ""
            case ascii("\\"):
                try readEscape(into: &text, building: building, stringStart: start)
            case 0x00..<0x20:
                let short = Self.shortEscape(byte).map { ", as \\\($0)" } ?? ", as \\u00\(Self.hex(byte))"
                throw invalid(at: position, "at byte \(position), the string has the control character \(Self.codePoint(UInt32(byte))) unescaped; write it escaped\(short)")
            default:
                if building { text.append(byte) }
                position += 1
            }
        }
    }

    private mutating func readEscape(into text: inout [UInt8], building: Bool, stringStart: Int) throws(StrictJSONError) {
        let escapeStart = position
        position += 1
        guard let letter = current else {
            throw invalid(at: position, "at byte \(position), the string that starts at byte \(stringStart) has no closing '\"'")
        }
        let simple: UInt8?
        switch letter {
        case ascii("\""), ascii("\\"), ascii("/"): simple = letter
        case ascii("b"): simple = 0x08
        case ascii("f"): simple = 0x0C
        case ascii("n"): simple = 0x0A
        case ascii("r"): simple = 0x0D
        case ascii("t"): simple = 0x09
        case ascii("u"): simple = nil
        default:
            let written = letter > 0x20 && letter < 0x7F
                ? "the invalid escape '\\\(Character(Unicode.Scalar(letter)))'"
                : "a backslash followed by \(Self.describeCharacter(in: bytes, at: position))"
            throw invalid(
                at: escapeStart,
                "at byte \(escapeStart), the string has \(written); " + #"JSON allows \" \\ \/ \b \f \n \r \t and \u followed by four hex digits"#)
        }
        if let simple {
            position += 1
            if building { text.append(simple) }
            return
        }
        position += 1
        let unit = try readHex4(escapeStart: escapeStart)
        var scalar = unit
        if (0xDC00...0xDFFF).contains(unit) {
            throw invalid(at: escapeStart, "the string has an unpaired UTF-16 surrogate \\u\(Self.hex4(unit)) at byte \(escapeStart) (a low surrogate with no high one before it)")
        }
        if (0xD800...0xDBFF).contains(unit) {
            guard current == ascii("\\"), position + 1 < bytes.count, bytes[position + 1] == ascii("u") else {
                throw invalid(at: escapeStart, "the string has an unpaired UTF-16 surrogate \\u\(Self.hex4(unit)) at byte \(escapeStart) (a high surrogate must be followed by a low one, \\udc00 to \\udfff)")
            }
            let lowStart = position
            position += 2
            let low = try readHex4(escapeStart: lowStart)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw invalid(at: escapeStart, "the string has an unpaired UTF-16 surrogate \\u\(Self.hex4(unit)) at byte \(escapeStart) (followed by \\u\(Self.hex4(low)), not by a low surrogate \\udc00 to \\udfff)")
            }
            scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        }
        if building { Self.appendUTF8(scalar, to: &text) }
    }

    /// The four hex digits after `\u`.
    private mutating func readHex4(escapeStart: Int) throws(StrictJSONError) -> UInt32 {
        var unit: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = Self.hexValue(byte) else {
                throw invalid(at: position, "at byte \(position), the escape at byte \(escapeStart) needs four hex digits after \\u, found \(Self.describeCharacter(in: bytes, at: position))")
            }
            unit = unit << 4 | digit
            position += 1
        }
        return unit
    }

    // MARK: - UTF-8

    /// Throws at the first byte sequence that is not UTF-8 (RFC 3629: no overlong forms, no
    /// surrogates, nothing above U+10FFFF).
    static func checkUTF8(_ bytes: [UInt8]) throws(StrictJSONError) {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 { index += 1; continue }
            let (length, valid) = utf8Sequence(bytes, at: index)
            guard valid else {
                let shown = bytes[index..<min(bytes.count, index + max(1, length))].map { "0x" + hex($0) }
                let what = shown.count == 1 ? "the byte \(shown[0]) is" : "the bytes \(shown.joined(separator: " ")) are"
                throw StrictJSONError(kind: .notUTF8, offset: index, message: "the body is not UTF-8 text: at byte \(index), \(what) not valid UTF-8",
                                      detail: "at byte \(index), \(what) not valid UTF-8")
            }
            index += length
        }
    }

    /// The sequence's length by its lead byte, and whether it is complete and valid.
    private static func utf8Sequence(_ bytes: [UInt8], at index: Int) -> (length: Int, valid: Bool) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        case 0xF1...0xF3: length = 4
        default: return (1, false)
        }
        guard index + length <= bytes.count else { return (bytes.count - index, false) }
        guard secondRange.contains(bytes[index + 1]) else { return (2, false) }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
            return (offset + 1, false)
        }
        return (length, true)
    }

    private static func appendUTF8(_ scalar: UInt32, to text: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            text.append(UInt8(scalar))
        case 0x80..<0x800:
            text.append(UInt8(0xC0 | scalar >> 6))
            text.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            text.append(UInt8(0xE0 | scalar >> 12))
            text.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        default:
            text.append(UInt8(0xF0 | scalar >> 18))
            text.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            text.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: - Errors

    private static let aValue = "a value (an object, array, string, number, true, false or null)"

    private func invalid(at offset: Int, _ detail: String) -> StrictJSONError {
        StrictJSONError(kind: .invalid, offset: offset, message: "the body is not valid JSON: \(detail)", detail: detail)
    }

    /// `at byte N, expected WHAT, found WHAT-IS-THERE`.
    private func expected(_ what: String, at offset: Int, hint: String = "") -> StrictJSONError {
        invalid(at: offset, "at byte \(offset), expected \(what), found \(Self.describeFound(in: bytes, at: offset))\(hint)")
    }

    private static func trailingCommaHint(_ byte: UInt8?) -> String {
        byte == ascii("}") || byte == ascii("]") ? " (JSON allows no comma before a closing bracket)" : ""
    }

    private static func kindName(_ value: StrictJSONObject.Value) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .integer, .integerOutOfRange, .nonInteger: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// What is at `offset`, for "found ...": a word of letters and digits (`'nul'`, `'NaN'`), a
    /// visible character, a named invisible one, or the end of the body.
    private static func describeFound(in bytes: [UInt8], at offset: Int) -> String {
        guard offset < bytes.count else { return "the end of the body" }
        guard isWordByte(bytes[offset]) else { return describeCharacter(in: bytes, at: offset) }
        var end = offset
        while end < bytes.count, end - offset < 20, isWordByte(bytes[end]) { end += 1 }
        let more = end < bytes.count && isWordByte(bytes[end]) ? "..." : ""
        return "'" + String(decoding: bytes[offset..<end], as: UTF8.self) + more + "'"
    }

    /// One character: `'x'`, `a space`, `U+000A`, `U+00E9`; the body is UTF-8.
    private static func describeCharacter(in bytes: [UInt8], at offset: Int) -> String {
        guard offset < bytes.count else { return "the end of the body" }
        let byte = bytes[offset]
        if byte == 0x20 { return "a space" }
        if byte > 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        guard byte >= 0x80 else { return codePoint(UInt32(byte)) }
        var scalar = UInt32(byte)
        let (length, _) = utf8Sequence(bytes, at: offset)
        scalar &= length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07
        for index in offset + 1..<min(bytes.count, offset + length) { scalar = scalar << 6 | UInt32(bytes[index] & 0x3F) }
        return codePoint(scalar)
    }

    // MARK: - Characters

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= ascii("0") && byte <= ascii("9") }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= ascii("a") && byte <= ascii("z")) || (byte >= ascii("A") && byte <= ascii("Z")) || byte == ascii("_")
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case ascii("0")...ascii("9"): UInt32(byte - ascii("0"))
        case ascii("a")...ascii("f"): UInt32(byte - ascii("a") + 10)
        case ascii("A")...ascii("F"): UInt32(byte - ascii("A") + 10)
        default: nil
        }
    }

    private static func shortEscape(_ byte: UInt8) -> String? {
        switch byte {
        case 0x08: "b"
        case 0x09: "t"
        case 0x0A: "n"
        case 0x0C: "f"
        case 0x0D: "r"
        default: nil
        }
    }

    /// Two lowercase hex digits.
    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }

    /// Four lowercase hex digits.
    private static func hex4(_ unit: UInt32) -> String {
        let digits = String(unit, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `U+000A`, `U+1F600`.
    private static func codePoint(_ scalar: UInt32) -> String {
        "U+" + hex4(scalar).uppercased()
    }
}

private func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(character.value) }
