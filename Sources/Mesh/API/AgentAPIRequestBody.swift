/// A POST body of the agent API: an optional JSON object whose fields are checked one by one, so that
/// a 400 names the field, what it got and what it wants. Unknown fields are refused too: a typo such
/// as `{"core": 4}` must not silently acquire the default count. The body is read by
/// `StrictJSONObject`: `2.0` is not a count, and a field sent twice is refused rather than guessed.
struct AgentAPIRequestBody {
    private var fields: [String: StrictJSONObject.Value] = [:]

    /// An empty body (or only whitespace) is an empty object: every field of these bodies is optional,
    /// so `curl -X POST .../v1/acquire` works.
    init(parsing body: [UInt8], allowedFields: [String], example: String) throws(AgentAPIBadRequest) {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard !isBlank else { return }
        let object: StrictJSONObject
        do {
            object = try StrictJSONObject(parsing: body)
        } catch {
            switch error.kind {
            case .duplicateField: throw AgentAPIBadRequest("\(error.message), e.g. \(example)")
            case .notUTF8, .invalid, .notAnObject: throw AgentAPIBadRequest("\(error.message); send a JSON object such as \(example)")
            }
        }
        for field in object.fields { fields[field.name] = field.value }
        for name in fields.keys.sorted() where !allowedFields.contains(name) {
            let known = allowedFields.map { "'\($0)'" }.joined(separator: ", ")
            throw AgentAPIBadRequest("unknown field '\(AgentAPIBadRequest.printable(name))'; this endpoint accepts \(known.isEmpty ? "no fields" : known), e.g. \(example)")
        }
    }

    /// An integer field in `range`, nil when absent or null. `hintBelowRange` follows the reason when
    /// the number is too small (where the client probably meant another endpoint). Only numbers
    /// written as integers count: `2.0` and `2e0` are refused, not rounded.
    func integer(_ name: String, in range: ClosedRange<Int>, hintBelowRange: String = "") throws(AgentAPIBadRequest) -> Int? {
        guard let value = fields[name] else { return nil }
        let bounds = "from \(range.lowerBound) to \(range.upperBound)"
        switch value {
        case .null:
            return nil
        case .integer(let number):
            guard range.contains(number) else {
                throw AgentAPIBadRequest("field '\(name)' must be \(bounds), got \(number)\(number < range.lowerBound ? hintBelowRange : "")")
            }
            return number
        case .integerOutOfRange(let literal):
            let negative = literal.hasPrefix("-")
            throw AgentAPIBadRequest(
                "field '\(name)' must be \(bounds), got \(AgentAPIBadRequest.printable(literal)), "
                    + "which is \(negative ? "below" : "beyond") the 64-bit integer range\(negative ? hintBelowRange : "")")
        case .nonInteger(let literal):
            throw AgentAPIBadRequest(
                "field '\(name)' must be a whole number (an integer without a fraction or exponent), got \(AgentAPIBadRequest.printable(literal))")
        case .bool, .string, .array, .object:
            throw AgentAPIBadRequest("field '\(name)' must be a whole number \(bounds), got \(Self.describe(value))")
        }
    }

    /// A string field of 1...`maximumLength` UTF-8 bytes, nil when absent or null.
    func string(_ name: String, maximumLength: Int) throws(AgentAPIBadRequest) -> String? {
        guard let value = fields[name] else { return nil }
        switch value {
        case .null:
            return nil
        case .string(let text):
            guard !text.isEmpty else { throw AgentAPIBadRequest("field '\(name)' is empty; leave it out instead") }
            guard text.utf8.count <= maximumLength else {
                throw AgentAPIBadRequest("field '\(name)' is \(text.utf8.count) bytes long; at most \(maximumLength) are allowed")
            }
            return text
        default:
            throw AgentAPIBadRequest("field '\(name)' must be a string, got \(Self.describe(value))")
        }
    }

    /// A value as quoted back in a message.
    private static func describe(_ value: StrictJSONObject.Value) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .integer(let number): "\(number)"
        case .integerOutOfRange(let literal), .nonInteger(let literal): AgentAPIBadRequest.printable(literal)
        case .string(let text): "the string \"\(AgentAPIBadRequest.printable(text))\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A 400 with its reason.
struct AgentAPIBadRequest: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }

    /// At most 40 characters of a client's text, for quoting it back.
    static func printable(_ text: String) -> String {
        text.count > 40 ? String(text.prefix(40)) + "..." : text
    }
}
