@testable import Mesh
import SWIM
import Testing

@Suite struct ConfigDurationTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("1.5s", .milliseconds(1500)), ("2m", .seconds(120)), ("1h", .seconds(3600)),
        ("1m30s", .seconds(90)), ("0", .zero), ("0s", .zero), ("100us", .microseconds(100)), ("100µs", .microseconds(100)),
        ("10ns", .nanoseconds(10)), ("1.25ms", .microseconds(1250)), ("0.5h", .seconds(1800)), (".5s", .milliseconds(500)),
        ("1h2m3s4ms5us6ns", .nanoseconds(3_723_004_005_006)), ("1.0000000001s", .seconds(1)), ("007s", .seconds(7)),
    ])
    func parses(text: String, expected: Duration) throws {
        #expect(try DurationText.parse(text) == expected)
    }

    @Test(arguments: ["", "5", "-1s", "+1s", "1x", "s", "1.s", "1..5s", "5 s", " 5s", "1e3s", "1s5", "3000000h", "1sec",
                      "9999999999999999999999s", String(repeating: "1", count: 65) + "s"])
    func rejects(text: String) {
        #expect(throws: DurationTextError.self, "\(text)") { try DurationText.parse(text) }
    }

    @Test func errorMessagesSayWhatIsWrongAndShowTheForm() {
        func message(_ text: String) -> String {
            do { _ = try DurationText.parse(text); return "" } catch { return error.description }
        }
        #expect(message("5") == "'5' is not a duration: the number needs a unit (ns, us, ms, s, m or h); write e.g. \"500ms\", \"2s\", \"1.5m\" or \"1h\"")
        #expect(message("5sec").contains("'sec' is not a unit"))
        #expect(message("-1s").contains("it is negative"))
        #expect(message("3000000h").contains("too long"))
        #expect(message("1\u{7}s").contains("\\u{07}"), "control characters are escaped")
    }

    @Test(arguments: [
        (Duration.milliseconds(250), "250ms"), (.milliseconds(1500), "1.5s"), (.seconds(120), "2m"), (.seconds(90), "90s"),
        (.seconds(3600), "1h"), (.seconds(5400), "90m"), (.zero, "0s"), (.microseconds(1500), "1.5ms"), (.nanoseconds(7), "7ns"),
        (.nanoseconds(1_000_000_001), "1.000000001s"), (.microseconds(20), "20us"), (.nanoseconds(1_500), "1.5us"),
    ])
    func formats(duration: Duration, expected: String) {
        #expect(DurationText.format(duration) == expected)
    }

    @Test func formatThenParseIsTheIdentityToTheNanosecond() throws {
        var random = SeededGenerator(seed: 0xD0_4A71)
        for round in 0..<3_000 {
            // Spread over magnitudes, nanoseconds to a century; every third a whole number of milliseconds.
            let whole = round % 3 == 0
            let magnitude = UInt64(1) << (random.next() % (whole ? 40 : 62))
            let nanoseconds = Int64(random.next() % magnitude) * (whole ? 1_000_000 : 1)
            let duration = Duration.nanoseconds(nanoseconds)
            let text = DurationText.format(duration)
            #expect(try DurationText.parse(text) == duration, "\(nanoseconds) ns -> \(text)")
        }
    }
}
