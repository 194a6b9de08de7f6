import Foundation
import Testing
import Crypto
@testable import Licensing

@Suite struct LicenseVerifierTests {
    let vendor = Fixture.vendorKey.publicKey

    @Test func validLicenseOnAListedHostHasNoWarnings() throws {
        let warnings = try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: Fixture.midTerm, ownMAC: Fixture.mac3)
        #expect(warnings.isEmpty)
        // The Date overload agrees.
        #expect(try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: Fixture.midTerm.date, ownMAC: nil).isEmpty)
    }

    @Test func forgedSignatureIsRejected() throws {
        // Same terms signed by someone else's key, then presented as the vendor's.
        let forged = Fixture.signed(key: Fixture.otherVendorKey)
        #expect(throws: LicenseError.badSignature) {
            try LicenseVerifier.verify(forged, vendorKey: vendor, now: Fixture.midTerm, ownMAC: Fixture.mac1)
        }
        // A signature grafted from another license does not fit either.
        let other = Fixture.signed(Fixture.license(features: []))
        let grafted = Fixture.signed().armored.replacingFirst(Base64.encode(Fixture.signed().signature), with: Base64.encode(other.signature))
        #expect(throws: LicenseError.badSignature) {
            try LicenseVerifier.verify(try SignedLicense(armored: grafted), vendorKey: vendor, now: Fixture.midTerm, ownMAC: nil)
        }
    }

    @Test func editedCanonicalPayloadIsRejectedAsBadSignature() throws {
        // An edit that keeps the payload canonical (more cores) parses, and only the signature catches it.
        let edited = Fixture.signed().armored.replacingFirst("max-cores: 64", with: "max-cores: 65")
        let parsed = try SignedLicense(armored: edited)
        #expect(parsed.license.maxCores == 65)
        #expect(throws: LicenseError.badSignature) {
            try LicenseVerifier.verify(parsed, vendorKey: vendor, now: Fixture.midTerm, ownMAC: Fixture.mac1)
        }
    }

    @Test func wrongVendorKeyIsRejectedWithBothCausesNamed() {
        #expect(throws: LicenseError.badSignature) {
            try LicenseVerifier.verify(Fixture.signed(), vendorKey: Fixture.otherVendorKey.publicKey, now: Fixture.midTerm, ownMAC: nil)
        }
        let text = LicenseError.badSignature.description
        #expect(text.contains("edited") && text.contains("wrong vendor public key"))
    }

    @Test func expiredAtAndAfterTheExpiryInstant() {
        for now in [Fixture.expires, LicenseDate(secondsSince1970: Fixture.expires.secondsSince1970 + 86_400 * 400)] {
            #expect(throws: LicenseError.expired(expires: Fixture.expires, now: now)) {
                try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: now, ownMAC: Fixture.mac1)
            }
        }
        let oneSecondBefore = LicenseDate(secondsSince1970: Fixture.expires.secondsSince1970 - 1)
        #expect(throws: Never.self) {
            try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: oneSecondBefore, ownMAC: Fixture.mac1)
        }
        #expect(LicenseError.expired(expires: Fixture.expires, now: Fixture.expires).description.contains("expired on 2027-01-01T00:00:00Z"))
    }

    @Test func notYetValidBeforeNotBefore() {
        let early = LicenseDate(secondsSince1970: Fixture.notBefore.secondsSince1970 - 1)
        #expect(throws: LicenseError.notYetValid(notBefore: Fixture.notBefore, now: early)) {
            try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: early, ownMAC: Fixture.mac1)
        }
        #expect(throws: Never.self) {
            try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: Fixture.notBefore, ownMAC: Fixture.mac1)
        }
        #expect(LicenseError.notYetValid(notBefore: Fixture.notBefore, now: early).description.contains("starts on 2026-02-01T00:00:00Z"))
    }

    @Test func unlistedMACGivesTheExactMultiServerMessage() {
        #expect {
            try LicenseVerifier.verify(Fixture.signed(), vendorKey: vendor, now: Fixture.midTerm, ownMAC: Fixture.stranger)
        } throws: { error in
            guard let error = error as? LicenseError, case let .macNotListed(mac, _) = error, mac == Fixture.stranger else { return false }
            let text = error.description
            guard let sentence = text.range(of: "Invalid license for multi-server environment setup."),
                  let seen = text.range(of: "de:ad:be:ef:00:99") else { return false }
            return sentence.upperBound <= seen.lowerBound
                && text.contains("check the MAC ids given when the license was generated")
        }
    }

    @Test func fewerThanTwoServersIsAWarningNotAnError() throws {
        let single = Fixture.signed(Fixture.license(servers: [Fixture.mac1]))
        let warnings = try LicenseVerifier.verify(single, vendorKey: vendor, now: Fixture.midTerm, ownMAC: Fixture.mac2)
        #expect(warnings == [.fewerThanTwoServers(servers: [Fixture.mac1])])
        #expect(warnings[0].description.contains("failover is impossible"))
    }

    @Test func signatureIsCheckedBeforeDates() {
        // An expired forgery is reported as a forgery: nothing in an unsigned payload is worth reporting.
        #expect(throws: LicenseError.badSignature) {
            try LicenseVerifier.verify(Fixture.signed(key: Fixture.otherVendorKey), vendorKey: vendor,
                                       now: LicenseDate.latest, ownMAC: Fixture.stranger)
        }
    }
}
