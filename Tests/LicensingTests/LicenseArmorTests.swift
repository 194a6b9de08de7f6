import Foundation
import Testing
@testable import Licensing
import LicenseTools

@Suite struct LicenseArmorTests {
    let temporaryDirectories = TemporaryDirectories()

    let signed = Fixture.signed()

    @Test func armoredFileRoundTrips() throws {
        let text = signed.armored
        #expect(text.contains("-----BEGIN LICENSEMESH LICENSE-----\nformat: 1\n"))
        #expect(text.contains("-----BEGIN LICENSEMESH SIGNATURE-----\n"))
        let parsed = try SignedLicense(armored: text)
        #expect(parsed == signed)
        #expect(parsed.hasValidSignature(vendorKey: Fixture.vendorKey.publicKey))
    }

    @Test func everyEditedByteOfPayloadOrSignatureBreaksVerification() {
        let bytes = Array(signed.armored.utf8)
        let payloadStart = bytes.firstRange(of: Array("-----BEGIN LICENSEMESH LICENSE-----\n".utf8))!.upperBound
        let signedEnd = bytes.firstRange(of: Array("-----END LICENSEMESH SIGNATURE-----".utf8))!.lowerBound
        var checked = 0
        // Every byte from the first payload byte to the end of the signature block, each with two different edits.
        for index in payloadStart..<signedEnd {
            for flip: UInt8 in [0x01, 0x20] {
                var edited = bytes
                edited[index] ^= flip
                let accepted = (try? SignedLicense(armored: edited))?.hasValidSignature(vendorKey: Fixture.vendorKey.publicKey) ?? false
                #expect(!accepted, "edit at byte \(index) was accepted")
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func signatureBlockMustBeCanonicalBase64() throws {
        // The last data character before "==" carries 2 signature bits and 4 unused bits. Lenient base64
        // decoders ignore the unused ones, so 15 other characters would decode to the same signature:
        // each of those edits must still be refused.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let line = Base64.encode(signed.signature)
        #expect(line.count == 88 && line.hasSuffix("=="))
        let original = Array(line)[85]
        let value = try #require(alphabet.firstIndex(of: original))
        var refused = 0
        for sibling in (value & 0b110000)..<((value & 0b110000) + 16) where alphabet[sibling] != original {
            let edited = signed.armored.replacingFirst(line, with: String(line.prefix(85)) + String(alphabet[sibling]) + "==")
            #expect(throws: LicenseError.malformedFile(reason: "the signature block is not valid base64")) {
                try SignedLicense(armored: edited)
            }
            refused += 1
        }
        #expect(refused == 15)
    }

    @Test func commentLinesAreIgnored() throws {
        let text = "# a note from the operator\n\n" + signed.armored + "\n# trailing note\n"
        #expect(try SignedLicense(armored: text) == signed)
    }

    @Test func missingFinalNewlineIsAccepted() throws {
        #expect(try SignedLicense(armored: String(signed.armored.dropLast())) == signed)
    }

    @Test func malformedFilesGiveTypedErrors() {
        let good = signed.armored
        let signatureLine = good.split(separator: "\n").first { $0.count == 88 }.map(String.init)!
        let cases: [(String, String)] = [
            ("", "empty"),
            ("hello world\n", "unexpected text"),
            ("# only a comment\n", "no '-----BEGIN LICENSEMESH LICENSE-----' line"),
            (good.replacingFirst("-----END LICENSEMESH LICENSE-----\n", with: ""), "inside the license block"),
            (good.split(separator: "\n").prefix(8).joined(separator: "\n") + "\n", "cut short"),
            (good.replacingFirst("-----BEGIN LICENSEMESH SIGNATURE-----\n", with: ""), "unexpected text"),
            (good.replacingFirst("-----END LICENSEMESH SIGNATURE-----\n", with: ""), "cut short"),
            (good.replacingFirst(signatureLine, with: "not base64 at all!"), "not valid base64"),
            (good.replacingFirst(signatureLine, with: String(signatureLine.dropLast(4))), "63 bytes"),
            (good.replacingFirst(signatureLine, with: "AAAA"), "3 bytes"),
            (good.replacingFirst("\n", with: "\r\n"), "CR LF"),
            (good + good, "where nothing more was expected"),
            (good + "stray text\n", "unexpected text outside"),
            (String(repeating: "#", count: 70_000), "at most 65536 bytes"),
        ]
        for (text, expected) in cases {
            #expect {
                try SignedLicense(armored: text)
            } throws: { error in
                guard let error = error as? LicenseError, case .malformedFile = error else { return false }
                return error.description.contains(expected)
            }
        }
    }

    @Test func payloadErrorsNameTheLine() {
        let edited = signed.armored.replacingFirst("max-cores: 64", with: "max-cores: lots")
        #expect(throws: LicenseError.malformedPayload(line: 7, reason: "max-cores 'lots' is not a number")) {
            try SignedLicense(armored: edited)
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SplitMix(seed: 7)
        let base = Array(signed.armored.utf8)
        for round in 0..<1_500 {
            var bytes = base
            if round % 2 == 0 {
                let cut = Int(generator.next() % UInt64(bytes.count))
                bytes = Array(bytes[..<cut])
            }
            for _ in 0..<Int(generator.next() % 5) where !bytes.isEmpty {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? SignedLicense(armored: bytes)
        }
    }

    @Test func loadReadsFilesAndReportsMissingOnes() throws {
        let directory = temporaryDirectories.make()
        let path = directory + "/acme.lic"
        Fixture.write(signed.armored, to: path)
        #expect(try SignedLicense.load(path: path) == signed)
        #expect {
            try SignedLicense.load(path: directory + "/missing.lic")
        } throws: { error in
            (error as? LicenseError)?.description.contains("missing.lic: cannot open license file: No such file") == true
        }
        #expect(throws: LicenseError.self) { try SignedLicense.load(path: directory) }
    }
}
