@testable import Mesh
import Testing

/// The agent API's request bodies: `StrictJSONObject` and the 400 messages `AgentAPIRequestBody`
/// builds from it. Offsets in messages count bytes from 0.
@Suite struct StrictJSONTests {
    static let example = #"{"cores": 4, "timeoutMs": 5000}"#
    static let advice = "; send a JSON object such as " + example

    static func body(_ bytes: [UInt8]) throws(AgentAPIBadRequest) -> AgentAPIRequestBody {
        try AgentAPIRequestBody(parsing: bytes, allowedFields: ["cores", "timeoutMs", "feature"], example: example)
    }

    static func body(_ text: String) throws(AgentAPIBadRequest) -> AgentAPIRequestBody {
        try body(Array(text.utf8))
    }

    /// The 400 message for a body, or nil when it parses.
    static func refusal(_ bytes: [UInt8]) -> String? {
        do {
            _ = try body(bytes)
            return nil
        } catch {
            return error.message
        }
    }

    static func refusal(_ text: String) -> String? { refusal(Array(text.utf8)) }

    /// The 400 message for reading `field` as a core count.
    static func coresRefusal(_ text: String, field: String = "cores") -> String? {
        do {
            _ = try body(text).integer(field, in: 1...2_147_483_647, hintBelowRange: "; to give cores back, POST /v1/release")
            return nil
        } catch {
            return error.message
        }
    }

    static func featureRefusal(_ text: String) -> String? {
        do {
            _ = try body(text).string("feature", maximumLength: 64)
            return nil
        } catch {
            return error.message
        }
    }

    // MARK: - Valid bodies

    @Test func whitespaceAroundEverythingIsAllowed() throws {
        let body = try Self.body(" \r\n\t{ \"cores\" :\t4 ,\n\"timeoutMs\":5000\r\n}\n ")
        #expect(try body.integer("cores", in: 1...100) == 4)
        #expect(try body.integer("timeoutMs", in: 1...30_000) == 5000)
    }

    @Test(arguments: ["", " ", "\r\n\t ", "{}", " { } "])
    func blankBodiesAndEmptyObjectsHaveNoFields(text: String) throws {
        let body = try Self.body(text)
        #expect(try body.integer("cores", in: 1...100) == nil)
        #expect(try body.string("feature", maximumLength: 64) == nil)
    }

    @Test func nullMeansAbsent() throws {
        let body = try Self.body(#"{"cores": null, "feature": null}"#)
        #expect(try body.integer("cores", in: 1...100) == nil)
        #expect(try body.string("feature", maximumLength: 64) == nil)
    }

    @Test(arguments: [
        (#"{"feature": "a\"b\\c\/d\b\f\n\r\t"}"#, "a\"b\\c/d\u{8}\u{c}\n\r\t"),
        (#"{"feature": "caf\u00e9"}"#, "café"),
        (#"{"feature": "caf\u00E9"}"#, "café"),
        (#"{"feature": "café"}"#, "café"),
        (#"{"feature": "\ud83d\ude00 \uD83D\uDE00"}"#, "😀 😀"),
        (#"{"feature": "😀"}"#, "😀"),
        (#"{"feature": "\u0041\u00e9\u20ac"}"#, "Aé€"),
        (#"{"feature": "del \u007f and raw \#u{7F}"}"#, "del \u{7F} and raw \u{7F}"),
    ])
    func stringsDecodeEscapesAndUTF8(text: String, expected: String) throws {
        #expect(try Self.body(text).string("feature", maximumLength: 64) == expected)
    }

    @Test func integersAtTheEdgesOfIntAreRead() throws {
        #expect(try StrictJSONObject(parsing: Array(#"{"a": 9223372036854775807}"#.utf8))["a"] == .integer(Int.max))
        #expect(try StrictJSONObject(parsing: Array(#"{"a": -9223372036854775808}"#.utf8))["a"] == .integer(Int.min))
        #expect(try StrictJSONObject(parsing: Array(#"{"a": -0}"#.utf8))["a"] == .integer(0))
        #expect(try StrictJSONObject(parsing: Array(#"{"a": 9223372036854775808}"#.utf8))["a"] == .integerOutOfRange("9223372036854775808"))
        #expect(try StrictJSONObject(parsing: Array(#"{"a": -9223372036854775809}"#.utf8))["a"] == .integerOutOfRange("-9223372036854775809"))
        #expect(try StrictJSONObject(parsing: Array(#"{"a": 2.0, "b": -1.5e-3, "c": 0E+0}"#.utf8)).fields.map(\.value)
            == [.nonInteger("2.0"), .nonInteger("-1.5e-3"), .nonInteger("0E+0")])
    }

    @Test func fieldsKeepTheirOrderAndKinds() throws {
        let object = try StrictJSONObject(parsing: Array(#"{"z": true, "y": false, "x": [1, {"a": [null, "s", -2.5e3]}], "w": {}, "v": "t"}"#.utf8))
        #expect(object.fields.map(\.name) == ["z", "y", "x", "w", "v"])
        #expect(object.fields.map(\.value) == [.bool(true), .bool(false), .array, .object, .string("t")])
        #expect(object.fields.map(\.offset) == [1, 12, 24, 62, 71])
    }

    // MARK: - Counts are integers

    @Test(arguments: ["2.0", "2e0", "1E3", "2.5", "-1.5e-3", "4E+0"])
    func numbersWithAFractionOrExponentAreNotCounts(literal: String) {
        #expect(Self.coresRefusal(#"{"cores": \#(literal)}"#)
            == "field 'cores' must be a whole number (an integer without a fraction or exponent), got \(literal)")
    }

    @Test func integersBeyondIntAreRefusedWithoutTrapping() {
        #expect(Self.coresRefusal(#"{"cores": 99999999999999999999}"#)
            == "field 'cores' must be from 1 to 2147483647, got 99999999999999999999, which is beyond the 64-bit integer range")
        #expect(Self.coresRefusal(#"{"cores": -99999999999999999999}"#)
            == "field 'cores' must be from 1 to 2147483647, got -99999999999999999999, which is below the 64-bit integer range; to give cores back, POST /v1/release")
        let long = String(repeating: "9", count: 4000)
        #expect(Self.coresRefusal(#"{"cores": \#(long)}"#)
            == "field 'cores' must be from 1 to 2147483647, got \(String(repeating: "9", count: 40))..., which is beyond the 64-bit integer range")
    }

    @Test func rangeChecksStayAsBefore() {
        #expect(Self.coresRefusal(#"{"cores": -3}"#) == "field 'cores' must be from 1 to 2147483647, got -3; to give cores back, POST /v1/release")
        #expect(Self.coresRefusal(#"{"cores": 0}"#) == "field 'cores' must be from 1 to 2147483647, got 0; to give cores back, POST /v1/release")
        #expect(Self.coresRefusal(#"{"cores": "4"}"#) == "field 'cores' must be a whole number from 1 to 2147483647, got the string \"4\"")
        #expect(Self.coresRefusal(#"{"cores": true}"#) == "field 'cores' must be a whole number from 1 to 2147483647, got true")
        #expect(Self.coresRefusal(#"{"cores": [4]}"#) == "field 'cores' must be a whole number from 1 to 2147483647, got an array")
        #expect(Self.coresRefusal(#"{"cores": {"n": 4}}"#) == "field 'cores' must be a whole number from 1 to 2147483647, got an object")
        #expect(Self.featureRefusal(#"{"feature": 5}"#) == "field 'feature' must be a string, got 5")
        #expect(Self.featureRefusal(#"{"feature": 5.0}"#) == "field 'feature' must be a string, got 5.0")
        #expect(Self.featureRefusal(#"{"feature": ["solver"]}"#) == "field 'feature' must be a string, got an array")
        #expect(Self.featureRefusal(#"{"feature": {}}"#) == "field 'feature' must be a string, got an object")
        #expect(Self.featureRefusal(#"{"feature": ""}"#) == "field 'feature' is empty; leave it out instead")
        #expect(Self.refusal(#"{"core": 4}"#) == "unknown field 'core'; this endpoint accepts 'cores', 'timeoutMs', 'feature', e.g. \(Self.example)")
    }

    // MARK: - Each field once

    @Test func duplicateFieldsAreRefused() {
        #expect(Self.refusal(#"{"cores": 1, "cores": 2}"#)
            == "the field 'cores' appears twice (at byte 1 and at byte 13); send each field once, e.g. \(Self.example)")
        // The same name spelled with an escape is the same field.
        #expect(Self.refusal(#"{"cores": 1, "\u0063ores": 1}"#)?.hasPrefix("the field 'cores' appears twice (at byte 1 and at byte 13)") == true)
        // Even a null or an unknown field may not repeat.
        #expect(Self.refusal(#"{"x": null, "x": null}"#)?.hasPrefix("the field 'x' appears twice") == true)
        // A body that is not valid JSON after the repeat says so first.
        #expect(Self.refusal(#"{"cores": 1, "cores": 2,"#)?.hasPrefix("the body is not valid JSON: at byte 24,") == true)
    }

    // MARK: - Strings

    @Test(arguments: [
        (#"{"feature": "\ud800"}"#, #"\ud800 at byte 13 (a high surrogate must be followed by a low one, \udc00 to \udfff)"#),
        (#"{"feature": "\uD800x"}"#, #"\ud800 at byte 13 (a high surrogate must be followed by a low one, \udc00 to \udfff)"#),
        (#"{"feature": "\udc00"}"#, #"\udc00 at byte 13 (a low surrogate with no high one before it)"#),
        (#"{"feature": "\ude00\ud83d"}"#, #"\ude00 at byte 13 (a low surrogate with no high one before it)"#),
        (#"{"feature": "ab\ud800\u0041"}"#, #"\ud800 at byte 15 (followed by \u0041, not by a low surrogate \udc00 to \udfff)"#),
        (#"{"feature": "\ud83d\ud83d"}"#, #"\ud83d at byte 13 (followed by \ud83d, not by a low surrogate \udc00 to \udfff)"#),
    ])
    func unpairedSurrogatesAreRefused(text: String, detail: String) {
        #expect(Self.refusal(text) == "the body is not valid JSON: the string has an unpaired UTF-16 surrogate " + detail + Self.advice)
    }

    @Test func invalidEscapesAreRefused() {
        let allowed = #"JSON allows \" \\ \/ \b \f \n \r \t and \u followed by four hex digits"#
        #expect(Self.refusal(#"{"feature": "a\xb"}"#) == #"the body is not valid JSON: at byte 14, the string has the invalid escape '\x'; "# + allowed + Self.advice)
        #expect(Self.refusal(#"{"feature": "\U0041"}"#) == #"the body is not valid JSON: at byte 13, the string has the invalid escape '\U'; "# + allowed + Self.advice)
        #expect(Self.refusal(#"{"feature": "\'"}"#) == #"the body is not valid JSON: at byte 13, the string has the invalid escape '\''; "# + allowed + Self.advice)
        #expect(Self.refusal("{\"feature\": \"\\\n\"}") == "the body is not valid JSON: at byte 13, the string has a backslash followed by U+000A; " + allowed + Self.advice)
        #expect(Self.refusal(#"{"feature": "\u12"}"#) == #"the body is not valid JSON: at byte 17, the escape at byte 13 needs four hex digits after \u, found '"'"# + Self.advice)
        #expect(Self.refusal(#"{"feature": "\u00g1"}"#) == #"the body is not valid JSON: at byte 17, the escape at byte 13 needs four hex digits after \u, found 'g'"# + Self.advice)
        #expect(Self.refusal(#"{"feature": "\ud800\u12"}"#) == #"the body is not valid JSON: at byte 23, the escape at byte 19 needs four hex digits after \u, found '"'"# + Self.advice)
        #expect(Self.refusal(#"{"feature": "\"#) == #"the body is not valid JSON: at byte 14, the string that starts at byte 12 has no closing '"'"# + Self.advice)
    }

    @Test func controlCharactersMustBeEscaped() {
        #expect(Self.refusal("{\"feature\": \"a\nb\"}") == #"the body is not valid JSON: at byte 14, the string has the control character U+000A unescaped; write it escaped, as \n"# + Self.advice)
        #expect(Self.refusal("{\"feature\": \"\t\"}") == #"the body is not valid JSON: at byte 13, the string has the control character U+0009 unescaped; write it escaped, as \t"# + Self.advice)
        #expect(Self.refusal("{\"feature\": \"\u{1}\"}") == #"the body is not valid JSON: at byte 13, the string has the control character U+0001 unescaped; write it escaped, as \u0001"# + Self.advice)
        #expect(Self.refusal("{\"fea\u{0}ture\": 1}") == #"the body is not valid JSON: at byte 5, the string has the control character U+0000 unescaped; write it escaped, as \u0000"# + Self.advice)
    }

    @Test func unterminatedStringsNameWhereTheyStart() {
        #expect(Self.refusal(#"{"feature": "abc"#) == #"the body is not valid JSON: at byte 16, the string that starts at byte 12 has no closing '"'"# + Self.advice)
        #expect(Self.refusal(#"{"feat"#) == #"the body is not valid JSON: at byte 6, the string that starts at byte 1 has no closing '"'"# + Self.advice)
    }

    @Test func invalidUTF8IsRefusedWhereItIs() {
        let open = Array(#"{"feature": ""#.utf8)
        let close = Array(#""}"#.utf8)
        let cases: [([UInt8], String)] = [
            ([0xFF], "at byte 13, the byte 0xff is not valid UTF-8"),
            ([0x80], "at byte 13, the byte 0x80 is not valid UTF-8"),
            ([0xC0, 0xAF], "at byte 13, the byte 0xc0 is not valid UTF-8"),  // overlong "/"
            ([0xE0, 0x80, 0xAF], "at byte 13, the bytes 0xe0 0x80 are not valid UTF-8"),  // overlong
            ([0xED, 0xA0, 0x80], "at byte 13, the bytes 0xed 0xa0 are not valid UTF-8"),  // an encoded surrogate
            ([0xF4, 0x90, 0x80, 0x80], "at byte 13, the bytes 0xf4 0x90 are not valid UTF-8"),  // above U+10FFFF
            ([0x61, 0xC3, 0x28], "at byte 14, the bytes 0xc3 0x28 are not valid UTF-8"),
            ([0xE2, 0x82, 0x28], "at byte 13, the bytes 0xe2 0x82 0x28 are not valid UTF-8"),
        ]
        for (bytes, detail) in cases {
            #expect(Self.refusal(open + bytes + close) == "the body is not UTF-8 text: " + detail + Self.advice)
        }
        // Cut short by the end of the body.
        #expect(Self.refusal(open + [0xE2, 0x82]) == "the body is not UTF-8 text: at byte 13, the bytes 0xe2 0x82 are not valid UTF-8" + Self.advice)
        // Outside strings too.
        #expect(Self.refusal([0x7B, 0xFE, 0x7D]) == "the body is not UTF-8 text: at byte 1, the byte 0xfe is not valid UTF-8" + Self.advice)
    }

    // MARK: - Numbers

    @Test(arguments: [
        (#"{"cores": 01}"#, "at byte 10, a number has a leading zero, found '01'"),
        (#"{"cores": -007}"#, "at byte 11, a number has a leading zero, found '007'"),
        (#"{"cores": 00}"#, "at byte 10, a number has a leading zero, found '00'"),
        (#"{"cores": +4}"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found '+' (a JSON number has no '+' sign)"),
        (#"{"cores": .5}"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found '.'"),
        (#"{"cores": 1.}"#, "at byte 12, expected a digit after the decimal point, found '}'"),
        (#"{"cores": 1.e3}"#, "at byte 12, expected a digit after the decimal point, found 'e3'"),
        (#"{"cores": 1e}"#, "at byte 12, expected a digit in the exponent, found '}'"),
        (#"{"cores": 1e+}"#, "at byte 13, expected a digit in the exponent, found '}'"),
        (#"{"cores": -}"#, "at byte 11, expected a digit after '-', found '}'"),
        (#"{"cores": - 1}"#, "at byte 11, expected a digit after '-', found a space"),
        (#"{"cores": NaN}"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found 'NaN'"),
        (#"{"cores": Infinity}"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found 'Infinity'"),
        (#"{"cores": 0x10}"#, "at byte 11, expected ',' or '}' after the value of field 'cores', found 'x10'"),
        (#"{"cores": 4 5}"#, "at byte 12, expected ',' or '}' after the value of field 'cores', found '5'"),
    ])
    func numbersFollowTheGrammar(text: String, detail: String) {
        #expect(Self.refusal(text) == "the body is not valid JSON: " + detail + Self.advice)
    }

    // MARK: - Structure

    @Test(arguments: [
        (#"{"cores" 4}"#, "at byte 9, expected ':' after the field name, found '4'"),
        (#"{cores: 4}"#, "at byte 1, expected a field name in double quotes, found 'cores'"),
        (#"{'cores': 4}"#, "at byte 1, expected a field name in double quotes, found '''"),
        (#"{"cores": 4,}"#, "at byte 12, expected a field name in double quotes, found '}' (JSON allows no comma before a closing bracket)"),
        (#"{,}"#, "at byte 1, expected a field name in double quotes, found ','"),
        (#"{"cores": 4"#, "at byte 11, expected ',' or '}' after the value of field 'cores', found the end of the body"),
        (#"{"cores": }"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found '}'"),
        (#"{"cores": tru}"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found 'tru'"),
        (#"{"cores": True}"#, "at byte 10, expected a value (an object, array, string, number, true, false or null), found 'True'"),
        (#"{"cores": nulls}"#, "at byte 14, expected ',' or '}' after the value of field 'cores', found 's'"),
        (#"{"cores": 1} x"#, "at byte 13, expected the end of the body after the object, found 'x'"),
        (#"{}{}"#, "at byte 2, expected the end of the body after the object, found '{'"),
        (#"{"cores": 1}}"#, "at byte 12, expected the end of the body after the object, found '}'"),
        ("{\u{0C}}", "at byte 1, expected a field name in double quotes, found U+000C"),
        ("{\u{A0}}", "at byte 1, expected a field name in double quotes, found U+00A0"),
        ("\u{FEFF}{}", "at byte 0, expected a JSON object '{', found U+FEFF"),
        ("not json", "at byte 0, expected a JSON object '{', found 'not'"),
        ("[1, 2", "at byte 0, expected a JSON object '{', found '['"),
        ("[1, 2] x", "at byte 0, expected a JSON object '{', found '['"),
        ("{", "at byte 1, expected a field name in double quotes, found the end of the body"),
    ])
    func structureFollowsTheGrammar(text: String, detail: String) {
        #expect(Self.refusal(text) == "the body is not valid JSON: " + detail + Self.advice)
    }

    @Test(arguments: [
        ("[1, 2]", "an array"), (#" "cores" "#, "a string"), ("4", "a number"), ("-2.5e1", "a number"),
        ("true", "true"), ("null", "null"), ("[]", "an array"),
    ])
    func otherTopLevelValuesAreNotObjects(text: String, kind: String) {
        #expect(Self.refusal(text) == "the body is not a JSON object but \(kind)" + Self.advice)
    }

    // MARK: - Nested values

    @Test(arguments: [
        (#"{"feature": [1, 2,]}"#, "at byte 18, expected a value (an object, array, string, number, true, false or null), found ']' (JSON allows no comma before a closing bracket)"),
        (#"{"feature": {"a": 1,}}"#, "at byte 20, expected a field name in double quotes, found '}' (JSON allows no comma before a closing bracket)"),
        (#"{"feature": {"a" 1}}"#, "at byte 17, expected ':' after the field name, found '1'"),
        (#"{"feature": {a: 1}}"#, "at byte 13, expected a field name in double quotes, found 'a'"),
        (#"{"feature": [1 2]}"#, "at byte 15, expected ',' or ']', found '2'"),
        (#"{"feature": [1}"#, "at byte 14, expected ',' or ']', found '}'"),
        (#"{"feature": {"a": [}]}"#, "at byte 19, expected a value (an object, array, string, number, true, false or null), found '}'"),
        (#"{"feature": [01]}"#, "at byte 13, a number has a leading zero, found '01'"),
        (#"{"feature": ["\x"]}"#, #"at byte 14, the string has the invalid escape '\x'; JSON allows \" \\ \/ \b \f \n \r \t and \u followed by four hex digits"#),
        (#"{"feature": [nul]}"#, "at byte 13, expected a value (an object, array, string, number, true, false or null), found 'nul'"),
        (#"{"feature": ["#, "at byte 13, expected a value (an object, array, string, number, true, false or null), found the end of the body"),
    ])
    func nestedValuesAreCheckedToo(text: String, detail: String) {
        #expect(Self.refusal(text) == "the body is not valid JSON: " + detail + Self.advice)
    }

    @Test func nestedSurrogatesAreCheckedToo() {
        #expect(Self.refusal(#"{"feature": {"\udc00": 1}}"#)
            == #"the body is not valid JSON: the string has an unpaired UTF-16 surrogate \udc00 at byte 14 (a low surrogate with no high one before it)"# + Self.advice)
    }

    @Test func nestingIsBoundedWithoutRecursion() throws {
        // 32 levels with the top-level object: recognised as an array.
        let deepest = #"{"feature": "# + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + "}"
        #expect(try StrictJSONObject(parsing: Array(deepest.utf8))["feature"] == .array)
        let mixed = #"{"feature": "# + String(repeating: #"{"a": ["#, count: 15) + "0" + String(repeating: "]}", count: 15) + "}"
        #expect(try StrictJSONObject(parsing: Array(mixed.utf8))["feature"] == .object)
        // One more is refused where it opens.
        let tooDeep = #"{"feature": "# + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "}"
        #expect(Self.refusal(tooDeep) == "the body is not valid JSON: at byte 43, arrays and objects nest more than 32 deep" + Self.advice)
        // A body of nothing but brackets is refused quickly, not by running out of stack.
        let brackets = "[" + String(repeating: "{\"a\":[", count: 100_000)
        #expect(Self.refusal(brackets) == "the body is not valid JSON: at byte 0, expected a JSON object '{', found '['" + Self.advice)
        let inside = #"{"a": "# + String(repeating: "[", count: 100_000)
        #expect(Self.refusal(inside)?.hasPrefix("the body is not valid JSON: at byte 37, arrays and objects nest more than 32 deep") == true)
    }

    @Test func errorsCarryTheirKindAndOffset() {
        func error(_ text: String) -> StrictJSONError? {
            do {
                _ = try StrictJSONObject(parsing: Array(text.utf8))
                return nil
            } catch {
                return error
            }
        }
        #expect(error(#"{"a": 1, "a": 2}"#)?.kind == .duplicateField("a"))
        #expect(error(#"{"a": 1, "a": 2}"#)?.offset == 9)
        #expect(error("[]")?.kind == .notAnObject)
        #expect(error(#"{"a": 1,}"#)?.kind == .invalid)
        #expect(error(#"{"a": 1,}"#)?.offset == 8)
        #expect(error("")?.message == "the body is not valid JSON: at byte 0, expected a JSON object '{', found the end of the body")
        #expect(error("{\"a\": \"\u{FFFF}\"}") == nil, "noncharacters are valid UTF-8 and valid JSON")
    }
}
