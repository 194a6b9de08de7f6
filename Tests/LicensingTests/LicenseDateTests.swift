import Foundation
import Testing
@testable import Licensing

@Suite struct LicenseDateTests {
    @Test func dateOnlyIsUTCMidnight() throws {
        #expect(try LicenseDate(parsing: "1970-01-01").secondsSince1970 == 0)
        #expect(try LicenseDate(parsing: "2027-01-31").rfc3339 == "2027-01-31T00:00:00Z")
        #expect(try LicenseDate(parsing: "2000-03-01").secondsSince1970 == 951_868_800)
    }

    @Test func rfc3339WithOffsetsAndFractions() throws {
        #expect(try LicenseDate(parsing: "2027-01-31T12:00:00Z").rfc3339 == "2027-01-31T12:00:00Z")
        #expect(try LicenseDate(parsing: "2027-01-31T12:00:00.999Z").rfc3339 == "2027-01-31T12:00:00Z")
        #expect(try LicenseDate(parsing: "2027-01-31T12:00:00+02:00").rfc3339 == "2027-01-31T10:00:00Z")
        #expect(try LicenseDate(parsing: "2027-01-01T01:00:00-03:30").rfc3339 == "2027-01-01T04:30:00Z")
        #expect(try LicenseDate(parsing: "2027-01-01t00:00:00z").rfc3339 == "2027-01-01T00:00:00Z")
    }

    @Test func leapYearsAndCalendarEdges() throws {
        #expect(try LicenseDate(parsing: "2024-02-29").rfc3339 == "2024-02-29T00:00:00Z")
        #expect(try LicenseDate(parsing: "2000-02-29").rfc3339 == "2000-02-29T00:00:00Z")
        #expect(throws: LicenseError.self) { try LicenseDate(parsing: "2023-02-29") }
        #expect(throws: LicenseError.self) { try LicenseDate(parsing: "2100-02-29") }
        #expect(try LicenseDate(parsing: "9999-12-31T23:59:59Z") == LicenseDate.latest)
    }

    @Test func formattingAgreesWithFoundationOverManyDays() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var seconds: Int64 = 0
        while seconds < 4_102_444_800 { // through 2100
            let ours = LicenseDate(secondsSince1970: seconds)
            #expect(ours.rfc3339 == formatter.string(from: ours.date))
            #expect(LicenseDate(rfc3339: ours.rfc3339) == ours)
            seconds += 86_400 * 37 + 3_671
        }
    }

    @Test(arguments: ["", "tomorrow", "2027-13-01", "2027-00-10", "2027-01-32", "27-01-01", "2027/01/01",
                      "2027-01-01T24:00:00Z", "2027-01-01T12:60:00Z", "2027-01-01T12:00:60Z", "2027-01-01T12:00:00",
                      "2027-01-01T12:00:00+2:00", "2027-01-01T12:00:00.Z", "1969-12-31", "2027-01-01T12:00:00Zjunk"])
    func badDatesAreRejected(text: String) {
        #expect(throws: LicenseError.invalidDate(text: text)) { try LicenseDate(parsing: text) }
    }

    @Test func canonicalAcceptsOnlyTheOneSpelling() {
        #expect(LicenseDate(canonical: "2027-01-31T00:00:00Z") != nil)
        #expect(LicenseDate(canonical: "2027-01-31T00:00:00.0Z") == nil)
        #expect(LicenseDate(canonical: "2027-01-31T00:00:00+00:00") == nil)
        #expect(LicenseDate(canonical: "2027-01-31t00:00:00Z") == nil)
        #expect(LicenseDate(canonical: "2027-01-31") == nil)
    }

    @Test func fromDateRoundsDown() {
        #expect(LicenseDate(Date(timeIntervalSince1970: 10.9)).secondsSince1970 == 10)
        #expect(LicenseDate(Date(timeIntervalSince1970: -0.5)).secondsSince1970 == -1)
        #expect(LicenseDate(Date(timeIntervalSince1970: 1e300)) > LicenseDate.latest)  // saturates, no trap
        #expect(LicenseDate(Date(timeIntervalSince1970: -1e300)) < LicenseDate.earliest)
        #expect(!LicenseDate(Date(timeIntervalSince1970: 1e300)).rfc3339.isEmpty)
    }
}
