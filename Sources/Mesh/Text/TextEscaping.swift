/// Escaping for the text formats the agent writes: logfmt values (log lines, `--events`), JSON
/// string literals (JSON log lines) and the Prometheus text exposition (`GET /metrics`).
///
/// Every format escapes a backslash as `\\` and a newline as `\n`, so that one record stays one
/// line; the formats differ only in what else they escape, which `Rules` says, and one scalar loop
/// applies them. Everything not escaped, non-ASCII included, is written as is.
enum TextEscaping {
    /// A logfmt value: as is when it needs no quotes, else in double quotes with `"`, `\`, newlines
    /// and other control characters (and DEL) escaped: `\n`, `\r`, `\t`, else `\u00XX`. Empty
    /// values and values with a space or `=` are quoted too.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || Rules.logfmt.escape($0) != nil }
        guard needsQuotes else { return value }
        return "\"" + escaped(value, .logfmt) + "\""
    }

    /// A JSON string literal, quotes included (RFC 8259): `"`, `\` and control characters escaped
    /// (`\n`, `\r`, `\t`, else `\u00XX`), and DEL, U+2028 and U+2029 as `\u` escapes too, so that
    /// the line is also safe where it is read as JavaScript.
    static func jsonString(_ text: String) -> String {
        "\"" + escaped(text, .json) + "\""
    }

    /// Prometheus `# HELP` text (exposition format 0.0.4): backslash and newline escaped.
    static func prometheusHelp(_ text: String) -> String {
        escaped(text, .prometheusHelp)
    }

    /// A Prometheus label value, without its quotes: backslash, double quote and newline escaped.
    static func prometheusLabelValue(_ text: String) -> String {
        escaped(text, .prometheusLabelValue)
    }

    /// What a format escapes besides backslash and newline.
    private struct Rules {
        /// `"` as `\"`.
        var quote: Bool
        /// `\r`, `\t`, the other C0 controls and DEL (as `\u00XX`).
        var controls: Bool
        /// U+2028 and U+2029 as `\u2028` and `\u2029`.
        var lineSeparators: Bool

        static let logfmt = Rules(quote: true, controls: true, lineSeparators: false)
        static let json = Rules(quote: true, controls: true, lineSeparators: true)
        static let prometheusHelp = Rules(quote: false, controls: false, lineSeparators: false)
        static let prometheusLabelValue = Rules(quote: true, controls: false, lineSeparators: false)

        /// The escape for `scalar`, nil when it is written as is.
        func escape(_ scalar: Unicode.Scalar) -> String? {
            switch scalar.value {
            case 0x5C: return "\\\\"
            case 0x0A: return "\\n"
            case 0x22: return quote ? "\\\"" : nil
            case 0x0D: return controls ? "\\r" : nil
            case 0x09: return controls ? "\\t" : nil
            case 0x00..<0x20, 0x7F: return controls ? Self.unicodeEscape(scalar.value) : nil
            case 0x2028, 0x2029: return lineSeparators ? Self.unicodeEscape(scalar.value) : nil
            default: return nil
            }
        }

        /// `\u` and four lowercase hex digits.
        private static func unicodeEscape(_ value: UInt32) -> String {
            let hex = String(value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    /// The one loop: `text` with each scalar the rules escape replaced by its escape. Text that
    /// needs none is returned as is.
    private static func escaped(_ text: String, _ rules: Rules) -> String {
        guard text.unicodeScalars.contains(where: { rules.escape($0) != nil }) else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if let escape = rules.escape(scalar) {
                output.append(contentsOf: escape.unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }
}
