import Foundation
import Testing
@testable import Licensing

@Suite struct LicensePayloadTests {
    @Test func canonicalPayloadHasFixedOrderSortedListsAndUTCDates() {
        let license = Fixture.license(id: "acme-2026")
        let text = String(decoding: license.canonicalPayload, as: UTF8.self)
        #expect(text == """
            format: 1
            id: acme-2026
            licensee: Acme Corp
            issued: 2026-01-01T00:00:00Z
            not-before: 2026-02-01T00:00:00Z
            expires: 2027-01-01T00:00:00Z
            max-cores: 64
            host: aa:bb:cc:00:00:01
            host: aa:bb:cc:00:00:02
            host: aa:bb:cc:00:00:03
            server: aa:bb:cc:00:00:01
            server: aa:bb:cc:00:00:02
            feature: export
            feature: reports

            """)
    }

    @Test func listsAreDeduplicatedAndOrderIndependent() throws {
        let a = try License(licensee: "X", issued: Fixture.issued, expires: Fixture.expires, maxCores: 4,
                            hosts: [Fixture.mac2, Fixture.mac1, Fixture.mac2], servers: [Fixture.mac2, Fixture.mac1],
                            features: ["b", "a", "b"])
        let b = try License(licensee: "X", issued: Fixture.issued, expires: Fixture.expires, maxCores: 4,
                            hosts: [Fixture.mac1, Fixture.mac2], servers: [Fixture.mac1, Fixture.mac2], features: ["a", "b"])
        #expect(a == b)
        #expect(a.canonicalPayload == b.canonicalPayload)
        #expect(a.hosts == [Fixture.mac1, Fixture.mac2])
        #expect(a.features == ["a", "b"])
    }

    @Test func roundTripsThroughDecode() throws {
        for license in [Fixture.license(), Fixture.license(servers: [Fixture.mac1], notBefore: nil, features: [])] {
            #expect(try LicensePayload.decode(license.canonicalPayload) == license)
        }
    }

    @Test func derivedIDIsFromTheSHA256AndDiffersBetweenLicenses() throws {
        let first = Fixture.license()
        let second = Fixture.license(features: ["reports"])
        #expect(first.id.count == 16)
        #expect(first.id.allSatisfy { $0.isHexDigit })
        #expect(first.id != second.id)
        #expect(Fixture.license().id == first.id) // deterministic for the same terms
        #expect(Fixture.license(id: "given-id").id == "given-id")
    }

    @Test func validationNamesTheField() {
        func field(_ make: () throws(LicenseError) -> License) -> String? {
            do { _ = try make(); return nil } catch {
                if case let .invalidField(field, _) = error { return field }
                return "other: \(error)"
            }
        }
        let (h, s, i, e) = ([Fixture.mac1, Fixture.mac2], [Fixture.mac1, Fixture.mac2], Fixture.issued, Fixture.expires)
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: 0, hosts: h, servers: s) } == "max-cores")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: -3, hosts: h, servers: s) } == "max-cores")
        #expect(field { () throws(LicenseError) in try License(licensee: "", issued: i, expires: e, maxCores: 1, hosts: h, servers: s) } == "licensee")
        #expect(field { () throws(LicenseError) in try License(licensee: "a\nb", issued: i, expires: e, maxCores: 1, hosts: h, servers: s) } == "licensee")
        #expect(field { () throws(LicenseError) in try License(licensee: " X", issued: i, expires: e, maxCores: 1, hosts: h, servers: s) } == "licensee")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: 1, hosts: [], servers: s) } == "host")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: 1, hosts: h, servers: []) } == "server")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: 1, hosts: [Fixture.mac1], servers: s) } == "server")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, notBefore: e, expires: e, maxCores: 1, hosts: h, servers: s) } == "expires")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: e, expires: i, maxCores: 1, hosts: h, servers: s) } == "expires")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: 1, hosts: h, servers: s, features: ["a b"]) } == "feature")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: e, maxCores: 1, hosts: h, servers: s, features: ["x,y"]) } == "feature")
        #expect(field { () throws(LicenseError) in try License(id: "has space", licensee: "X", issued: i, expires: e, maxCores: 1, hosts: h, servers: s) } == "id")
        #expect(field { () throws(LicenseError) in try License(licensee: "X", issued: i, expires: LicenseDate(secondsSince1970: .max), maxCores: 1, hosts: h, servers: s) } == "expires")
    }

    @Test func serversThatAreNotHostsAreListedInTheError() {
        #expect {
            try License(licensee: "X", issued: Fixture.issued, expires: Fixture.expires, maxCores: 1,
                        hosts: [Fixture.mac1], servers: [Fixture.mac1, Fixture.mac3])
        } throws: { error in
            (error as? LicenseError)?.description.contains("aa:bb:cc:00:00:03") == true
        }
    }

    @Test func nonCanonicalPayloadsAreRejected() {
        let canonical = String(decoding: Fixture.license().canonicalPayload, as: UTF8.self)
        let variants = [
            canonical.replacingFirst("host: aa:bb:cc:00:00:01\nhost: aa:bb:cc:00:00:02", with: "host: aa:bb:cc:00:00:02\nhost: aa:bb:cc:00:00:01"),
            canonical.replacingFirst("host: aa:bb:cc:00:00:01", with: "host: AA:BB:CC:00:00:01"),
            canonical.replacingFirst("max-cores: 64", with: "max-cores: 064"),
            canonical.replacingFirst("max-cores: 64", with: "max-cores: +64"),
            canonical.replacingFirst("feature: export\n", with: "feature: export\nfeature: export\n"),
            canonical.replacingFirst("expires: 2027-01-01T00:00:00Z", with: "expires: 2027-01-01T00:00:00+00:00"),
            canonical.replacingFirst("licensee: Acme Corp\n", with: ""),
            canonical.replacingFirst("format: 1\n", with: ""),
            canonical.replacingFirst("id: ", with: "id:"),
            canonical + "extra: field\n",
            String(canonical.dropLast()),
            canonical.replacingFirst("\n", with: "\r\n"),
            "",
        ]
        for variant in variants {
            #expect(variant != canonical)
            #expect(throws: LicenseError.self) { try LicensePayload.decode(Array(variant.utf8)) }
        }
    }

    @Test func newerFormatIsReportedAsSuch() {
        let payload = Array("format: 2\nanything: goes\n".utf8)
        #expect(throws: LicenseError.unsupportedFormat(version: 2)) { try LicensePayload.decode(payload) }
        #expect(LicenseError.unsupportedFormat(version: 2).description.contains("Upgrade licmesh"))
    }

    @Test func arbitraryBytesNeverCrash() {
        var generator = SplitMix(seed: 42)
        let canonical = Fixture.license().canonicalPayload
        for round in 0..<2_000 {
            var bytes = canonical
            if round % 3 == 0 {
                bytes = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                for _ in 0...Int(generator.next() % 4) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            if let license = try? LicensePayload.decode(bytes) {
                // Whatever decodes must be canonical: re-encoding gives the same bytes.
                #expect(license.canonicalPayload == bytes)
            }
        }
    }
}

/// A tiny deterministic generator for fuzz-style tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
