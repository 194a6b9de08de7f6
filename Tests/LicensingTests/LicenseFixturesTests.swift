import Foundation
import Testing
import Crypto
@testable import Licensing

/// Shared fixtures for the licensing tests: a fixed vendor key, fixed dates and MACs, temp directories.
enum Fixture {
    /// RFC 8032 test 1 seed: deterministic, so failures reproduce byte for byte.
    static let vendorKey = try! Ed25519PrivateKey(rawRepresentation: [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60])
    static let otherVendorKey = try! Ed25519PrivateKey(rawRepresentation: Array(repeating: 7, count: 32))

    static let issued = date("2026-01-01")
    static let notBefore = date("2026-02-01")
    static let expires = date("2027-01-01")
    static let midTerm = date("2026-06-15")

    static let mac1 = mac("aa:bb:cc:00:00:01")
    static let mac2 = mac("aa:bb:cc:00:00:02")
    static let mac3 = mac("aa:bb:cc:00:00:03")
    static let stranger = mac("de:ad:be:ef:00:99")

    static func date(_ text: String) -> LicenseDate { try! LicenseDate(parsing: text) }
    static func mac(_ text: String) -> MACAddress { try! MACAddress(parsing: text) }

    static func license(servers: [MACAddress] = [mac1, mac2], notBefore: LicenseDate? = notBefore,
                        id: String? = nil, features: [String] = ["reports", "export"]) -> License {
        try! License(id: id, licensee: "Acme Corp", issued: issued, notBefore: notBefore, expires: expires,
                     maxCores: 64, hosts: [mac3, mac2, mac1], servers: servers, features: features)
    }

    static func signed(_ license: License = license(), key: Ed25519PrivateKey = vendorKey) -> SignedLicense {
        try! SignedLicense.sign(license, with: key)
    }

    static func write(_ text: String, to path: String) {
        precondition(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "cannot write \(path)")
    }
}

/// Fresh empty directories under the system temp directory, removed when this value goes away.
/// A suite holds one as a property: Swift Testing makes a suite instance per test, so each
/// test's directories are removed when it ends.
final class TemporaryDirectories {
    private var made: [String] = []

    func make() -> String {
        var template = Array((NSTemporaryDirectory() + "/licensing-tests-XXXXXX").utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        made.append(path)
        return path
    }

    deinit {
        for path in made { try? FileManager.default.removeItem(atPath: path) }
    }
}

@Suite struct LicenseFixturesTests {
    @Test func fixtureKeyIsTheRFC8032Key() {
        #expect(Fixture.vendorKey.publicKey.rawRepresentation.prefix(4) == [0xd7, 0x5a, 0x98, 0x01])
    }

    @Test func temporaryDirectoriesAreFreshEmptyAndRemovedWithTheirOwner() throws {
        var first = ""
        do {
            let directories = TemporaryDirectories()
            first = directories.make()
            let second = directories.make()
            #expect(first != second)
            #expect(try FileManager.default.contentsOfDirectory(atPath: first).isEmpty)
            Fixture.write("x", to: first + "/file")
        }
        #expect(!FileManager.default.fileExists(atPath: first), "removed with its owner")
    }
}
