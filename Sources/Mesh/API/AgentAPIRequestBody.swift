import Foundation

/// A POST body of the agent API: an optional JSON object whose fields are checked one by one, so that
/// a 400 names the field, what it got and what it wants. Unknown fields are refused too: a typo such
/// as `{"core": 4}` must not silently acquire the default count.
struct AgentAPIRequestBody {
    private var fields: [String: JSONFieldValue]

    /// An empty body (or only whitespace) is an empty object: every field of these bodies is optional,
    /// so `curl -X POST .../v1/acquire` works.
    init(parsing body: [UInt8], allowedFields: [String], example: String) throws(AgentAPIBadRequest) {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard !isBlank else {
            fields = [:]
            return
        }
        guard String(validating: body, as: UTF8.self) != nil else {
            throw AgentAPIBadRequest("the body is not UTF-8 text; send a JSON object such as \(example)")
        }
        do {
            fields = try JSONDecoder().decode([String: JSONFieldValue].self, from: Data(body))
        } catch {
            let reason = Self.isTypeMismatch(error) ? "is not a JSON object" : "is not valid JSON"
            throw AgentAPIBadRequest("the body \(reason); send a JSON object such as \(example)")
        }
        for name in fields.keys.sorted() where !allowedFields.contains(name) {
            let known = allowedFields.map { "'\($0)'" }.joined(separator: ", ")
            throw AgentAPIBadRequest("unknown field '\(AgentAPIBadRequest.printable(name))'; this endpoint accepts \(known.isEmpty ? "no fields" : known), e.g. \(example)")
        }
    }

    /// An integer field in `range`, nil when absent or null. `hintBelowRange` follows the reason when
    /// the number is too small (where the client probably meant another endpoint).
    func integer(_ name: String, in range: ClosedRange<Int>, hintBelowRange: String = "") throws(AgentAPIBadRequest) -> Int? {
        guard let value = fields[name] else { return nil }
        switch value {
        case .null:
            return nil
        case .integer(let number):
            guard range.contains(number) else {
                throw AgentAPIBadRequest("field '\(name)' must be from \(range.lowerBound) to \(range.upperBound), got \(number)\(number < range.lowerBound ? hintBelowRange : "")")
            }
            return number
        default:
            throw AgentAPIBadRequest("field '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value.kindDescription)")
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
            throw AgentAPIBadRequest("field '\(name)' must be a string, got \(value.kindDescription)")
        }
    }

    private static func isTypeMismatch(_ error: Error) -> Bool {
        if case DecodingError.typeMismatch = error { return true }
        return false
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

/// One top-level field's value, only as deep as the checks need: nested arrays and objects are
/// recognised but not decoded, so no field can make us build a large structure.
enum JSONFieldValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case fraction(Double)
    case string(String)
    case composite

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .fraction(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .composite
        }
    }

    var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return "\(value)"
        case .integer(let value): return "\(value)"
        case .fraction(let value): return "\(value)"
        case .string(let text): return "the string \"\(AgentAPIBadRequest.printable(text))\""
        case .composite: return "an array or object"
        }
    }
}
