@testable import Mesh
import SWIM
import Testing

/// The escaping of logfmt values, JSON string literals and Prometheus HELP text and label values,
/// checked against exact expected text (raw string literals: what is shown is what is written).
@Suite struct TextEscapingTests {
    /// Plain text, a quote, a backslash, a newline, \r and \t, other controls, DEL, non-ASCII.
    static let samples = [
        "plain", "say \"hi\"", #"C:\dir"#, "two\nlines", "cr\rtab\t", "nul\u{0}bel\u{7}esc\u{1B}us\u{1F}", "del\u{7F}",
        "café ☕ 😀 e\u{301}", "nbsp\u{A0}nel\u{85}", "ls\u{2028}ps\u{2029}", "",
    ]

    @Test func logfmtValuesAreQuotedOnlyWhenNeeded() {
        #expect(TextEscaping.logfmtValue("plain") == "plain")
        #expect(TextEscaping.logfmtValue("127.0.0.1:7947") == "127.0.0.1:7947")
        #expect(TextEscaping.logfmtValue("café☕") == "café☕", "non-ASCII needs no quotes")
        #expect(TextEscaping.logfmtValue("ls\u{2028}ps") == "ls\u{2028}ps")
        #expect(TextEscaping.logfmtValue("") == #""""#)
        #expect(TextEscaping.logfmtValue("a b") == #""a b""#)
        #expect(TextEscaping.logfmtValue("k=v") == #""k=v""#)
    }

    @Test func logfmtValuesEscapeQuotesBackslashesAndControls() {
        #expect(TextEscaping.logfmtValue("say \"hi\"") == #""say \"hi\"""#)
        #expect(TextEscaping.logfmtValue(#"C:\dir"#) == #""C:\\dir""#)
        #expect(TextEscaping.logfmtValue("two\nlines") == #""two\nlines""#)
        #expect(TextEscaping.logfmtValue("cr\rtab\t") == #""cr\rtab\t""#)
        #expect(TextEscaping.logfmtValue("nul\u{0}bel\u{7}esc\u{1B}us\u{1F}") == #""nul\u0000bel\u0007esc\u001bus\u001f""#)
        #expect(TextEscaping.logfmtValue("del\u{7F}") == #""del\u007f""#)
        #expect(TextEscaping.logfmtValue("é \"x\"\n") == #""é \"x\"\n""#, "non-ASCII kept as is inside quotes")
        #expect(TextEscaping.logfmtValue("\u{85}\u{A0}") == "\u{85}\u{A0}", "C1 controls and NBSP are not escaped")
    }

    @Test func jsonStringsAreAlwaysQuotedLiterals() {
        #expect(TextEscaping.jsonString("plain") == #""plain""#)
        #expect(TextEscaping.jsonString("") == #""""#)
        #expect(TextEscaping.jsonString("a b=c") == #""a b=c""#)
        #expect(TextEscaping.jsonString("say \"hi\"") == #""say \"hi\"""#)
        #expect(TextEscaping.jsonString(#"C:\dir"#) == #""C:\\dir""#)
        #expect(TextEscaping.jsonString("two\nlines") == #""two\nlines""#)
        #expect(TextEscaping.jsonString("cr\rtab\t") == #""cr\rtab\t""#)
        #expect(TextEscaping.jsonString("nul\u{0}bel\u{7}bs\u{8}ff\u{C}us\u{1F}") == #""nul\u0000bel\u0007bs\u0008ff\u000cus\u001f""#)
        #expect(TextEscaping.jsonString("del\u{7F}") == #""del\u007f""#)
        #expect(TextEscaping.jsonString("ls\u{2028}ps\u{2029}") == #""ls\u2028ps\u2029""#)
        #expect(TextEscaping.jsonString("café ☕ 😀 e\u{301}") == "\"café ☕ 😀 e\u{301}\"")
        #expect(TextEscaping.jsonString("/") == #""/""#, "the solidus needs no escape")
    }

    @Test(arguments: samples)
    func jsonStringsReadBackAsTheSameText(text: String) throws {
        let object = try StrictJSONObject(parsing: Array("{\"v\": \(TextEscaping.jsonString(text))}".utf8))
        #expect(object["v"] == .string(text))
    }

    @Test func prometheusHelpEscapesOnlyBackslashAndNewline() {
        #expect(TextEscaping.prometheusHelp("Probes sent.") == "Probes sent.")
        #expect(TextEscaping.prometheusHelp(#"C:\dir"#) == #"C:\\dir"#)
        #expect(TextEscaping.prometheusHelp("two\nlines") == #"two\nlines"#)
        #expect(TextEscaping.prometheusHelp("say \"hi\"") == "say \"hi\"", "quotes stay in HELP")
        #expect(TextEscaping.prometheusHelp("cr\rtab\t\u{1}\u{7F}") == "cr\rtab\t\u{1}\u{7F}", "other controls and DEL stay")
        #expect(TextEscaping.prometheusHelp("café ☕\u{2028}") == "café ☕\u{2028}")
        #expect(TextEscaping.prometheusHelp("") == "")
    }

    @Test func prometheusLabelValuesEscapeBackslashQuoteAndNewline() {
        #expect(TextEscaping.prometheusLabelValue("alive") == "alive")
        #expect(TextEscaping.prometheusLabelValue(#"C:\dir"#) == #"C:\\dir"#)
        #expect(TextEscaping.prometheusLabelValue("say \"hi\"") == #"say \"hi\""#)
        #expect(TextEscaping.prometheusLabelValue("two\nlines") == #"two\nlines"#)
        #expect(TextEscaping.prometheusLabelValue("cr\rtab\t\u{1}\u{7F}") == "cr\rtab\t\u{1}\u{7F}", "other controls and DEL stay")
        #expect(TextEscaping.prometheusLabelValue("café ☕\u{2028}") == "café ☕\u{2028}")
        #expect(TextEscaping.prometheusLabelValue("") == "")
    }

    @Test(arguments: samples)
    func noFormatLeavesANewlineOrALoneBackslash(text: String) {
        let formats: [(String, Set<Unicode.Scalar>)] = [
            (TextEscaping.logfmtValue(text), ["\"", "\\", "n", "r", "t", "u"]),
            (TextEscaping.jsonString(text), ["\"", "\\", "n", "r", "t", "u"]),
            (TextEscaping.prometheusHelp(text), ["\\", "n"]),
            (TextEscaping.prometheusLabelValue(text), ["\"", "\\", "n"]),
        ]
        for (escaped, escapes) in formats {
            #expect(!escaped.unicodeScalars.contains("\n"), "one record, one line")
            // Every backslash starts one of the format's escapes.
            var scalars = escaped.unicodeScalars.makeIterator()
            while let scalar = scalars.next() {
                guard scalar == "\\" else { continue }
                let next = scalars.next()
                #expect(next.map { escapes.contains($0) } == true, "\(escaped.debugDescription)")
            }
        }
    }

    @Test func logfmtValuesReadBackThroughTheEventParser() {
        let value = "a \"quoted\"\nline=1 C:\\dir\ttab\rcr é"
        let line = EventLine.format(name: "x", node: NodeID(1), fields: [LogField("v", value)], at: .zero)
        #expect(EventLine.parse(line[...])?["v"] == value)
    }
}
