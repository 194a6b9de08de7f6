import Foundation
import Testing
@testable import Licensing
import LicenseTools

/// The `licmesh license` subcommands, through the functions the command file calls.
@Suite struct LicenseToolTests {
    let temporaryDirectories = TemporaryDirectories()

    let now = Fixture.date("2026-03-01")

    func request(hosts: [String] = ["AA:BB:CC:00:00:01", "aa-bb-cc-00-00-02", "aa:bb:cc:00:00:03"],
                 servers: [String] = ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"], maxCores: String = "64",
                 expires: String = "2027-01-01", notBefore: String? = nil) -> LicenseIssueRequest {
        LicenseIssueRequest(licensee: "Acme Corp", maxCores: maxCores, hosts: hosts, servers: servers,
                            expires: expires, notBefore: notBefore, features: ["reports"])
    }

    /// keygen into a fresh directory; returns (directory, key path, pub path).
    func keys() -> (String, String, String) {
        let directory = temporaryDirectories.make() + "/keys"
        let result = LicenseTool.keygen(directory: directory)
        #expect(result.status == 0, "\(result.errors)")
        return (directory, directory + "/vendor.key", directory + "/vendor.pub")
    }

    @Test func keygenWritesAPrivateKeyOnlyTheOwnerCanRead() throws {
        let (_, keyPath, pubPath) = keys()
        let keyMode = try #require(FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int)
        #expect(keyMode == 0o600)
        let privateKey = try LicenseKeyFile.loadPrivateKey(path: keyPath)
        #expect(try LicenseKeyFile.loadPublicKey(path: pubPath) == privateKey.publicKey)
    }

    @Test func keygenRefusesToOverwriteAndNamesTheFile() throws {
        let (directory, keyPath, pubPath) = keys()
        let before = try String(contentsOfFile: keyPath, encoding: .utf8)
        let again = LicenseTool.keygen(directory: directory)
        #expect(again.status != 0)
        #expect(again.errors.contains(keyPath) && again.errors.contains("refusing to overwrite"))
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == before)
        // Only the public key left behind: still refused, and that file is named.
        try FileManager.default.removeItem(atPath: keyPath)
        let third = LicenseTool.keygen(directory: directory)
        #expect(third.status != 0 && third.errors.contains(pubPath))
        #expect(!FileManager.default.fileExists(atPath: keyPath))
    }

    @Test func issueThenVerifyThenInspect() throws {
        let (directory, keyPath, pubPath) = keys()
        let out = directory + "/acme.lic"
        let issued = LicenseTool.issue(request(), keyPath: keyPath, outPath: out, now: now)
        #expect(issued.status == 0, "\(issued.errors)")
        #expect(issued.errors.isEmpty)
        #expect(issued.output.contains("wrote license"))

        let license = try SignedLicense.load(path: out).license
        #expect(license.issued == now)
        #expect(license.hosts.map(\.description) == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"])

        let verified = LicenseTool.verify(licensePath: out, publicKeyPath: pubPath, mac: "aa:bb:cc:00:00:02", now: Fixture.date("2026-06-01"))
        #expect(verified.status == 0)
        #expect(verified.output.hasPrefix("valid\n"))
        #expect(verified.output.contains("aa:bb:cc:00:00:02 is a listed host and license server"))

        let inspected = LicenseTool.inspect(licensePath: out)
        #expect(inspected.status == 0)
        #expect(inspected.output.contains("licensee:    Acme Corp"))
        #expect(inspected.output.contains("max cores:   64"))
        #expect(inspected.output.contains("NOT CHECKED"))
    }

    @Test func issueRefusesAnExistingOutputUnlessForced() throws {
        let (directory, keyPath, _) = keys()
        let out = directory + "/acme.lic"
        #expect(LicenseTool.issue(request(), keyPath: keyPath, outPath: out, now: now).status == 0)
        let again = LicenseTool.issue(request(), keyPath: keyPath, outPath: out, now: now)
        #expect(again.status != 0 && again.errors.contains("already exists"))
        #expect(LicenseTool.issue(request(), keyPath: keyPath, outPath: out, now: now, overwrite: true).status == 0)
    }

    @Test func issueValidatesItsInputWithFlagNames() {
        let (directory, keyPath, _) = keys()
        let cases: [(LicenseIssueRequest, String)] = [
            (request(servers: ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:09"]), "invalid --server: every server must also be listed as a host; not hosts: aa:bb:cc:00:00:09"),
            (request(hosts: [], servers: []), "invalid --host: a license needs at least one host"),
            (request(maxCores: "0"), "invalid --max-cores: must be greater than 0"),
            (request(maxCores: "many"), "invalid --max-cores: 'many' is not a whole number"),
            (request(hosts: ["aa:bb:cc:00:00:01", "nonsense"], servers: ["aa:bb:cc:00:00:01"]), "invalid --host: invalid MAC address 'nonsense'"),
            (request(expires: "2026-02-01", notBefore: "2026-06-01"), "invalid --expires: 2026-02-01T00:00:00Z is not after not-before 2026-06-01T00:00:00Z"),
            (request(expires: "2026-02-01"), "is not after the issue date"),
            (request(expires: "next year"), "invalid --expires: invalid date 'next year'"),
            (request(notBefore: "soon"), "invalid --not-before: invalid date 'soon'"),
        ]
        for (index, (bad, expected)) in cases.enumerated() {
            let out = directory + "/bad\(index).lic"
            let result = LicenseTool.issue(bad, keyPath: keyPath, outPath: out, now: now)
            #expect(result.status != 0)
            #expect(result.errors.contains(expected), "\(result.errors)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test func issueWarnsWhenFewerThanTwoServers() {
        let (directory, keyPath, _) = keys()
        let result = LicenseTool.issue(request(servers: ["aa:bb:cc:00:00:01"]), keyPath: keyPath, outPath: directory + "/one.lic", now: now)
        #expect(result.status == 0)
        #expect(result.errors.contains("warning:") && result.errors.contains("failover is impossible"))
    }

    @Test func issueWithAMissingOrWrongKindOfKeyFails() {
        let (directory, _, pubPath) = keys()
        let missing = LicenseTool.issue(request(), keyPath: directory + "/nope.key", outPath: directory + "/x.lic", now: now)
        #expect(missing.status != 0 && missing.errors.contains("nope.key: cannot open vendor private key file"))
        let swapped = LicenseTool.issue(request(), keyPath: pubPath, outPath: directory + "/x.lic", now: now)
        #expect(swapped.status != 0 && swapped.errors.contains("this is the vendor PUBLIC key"))
    }

    @Test func verifyFailuresExitNonZeroWithTheReason() throws {
        let (directory, keyPath, pubPath) = keys()
        let out = directory + "/acme.lic"
        #expect(LicenseTool.issue(request(notBefore: "2026-04-01"), keyPath: keyPath, outPath: out, now: now).status == 0)
        let valid = Fixture.date("2026-06-01")

        let expired = LicenseTool.verify(licensePath: out, publicKeyPath: pubPath, mac: nil, now: Fixture.date("2027-02-01"))
        #expect(expired.status == 1 && expired.errors.contains("license expired on 2027-01-01T00:00:00Z"))

        let early = LicenseTool.verify(licensePath: out, publicKeyPath: pubPath, mac: nil, now: Fixture.date("2026-03-15"))
        #expect(early.status == 1 && early.errors.contains("not valid yet: it starts on 2026-04-01T00:00:00Z"))

        let stranger = LicenseTool.verify(licensePath: out, publicKeyPath: pubPath, mac: "DE:AD:BE:EF:00:99", now: valid)
        #expect(stranger.status == 1 && stranger.errors.contains("Invalid license for multi-server environment setup. The MAC address seen on this node is de:ad:be:ef:00:99"))

        let badMAC = LicenseTool.verify(licensePath: out, publicKeyPath: pubPath, mac: "what", now: valid)
        #expect(badMAC.status != 0 && badMAC.errors.contains("--mac: invalid MAC address 'what'"))

        let (_, _, otherPub) = keys()
        let wrongKey = LicenseTool.verify(licensePath: out, publicKeyPath: otherPub, mac: nil, now: valid)
        #expect(wrongKey.status == 1 && wrongKey.errors.contains("signature is not valid"))

        let edited = directory + "/edited.lic"
        let text = try String(contentsOfFile: out, encoding: .utf8)
        Fixture.write(text.replacingFirst("max-cores: 64", with: "max-cores: 640"), to: edited)
        let tampered = LicenseTool.verify(licensePath: edited, publicKeyPath: pubPath, mac: nil, now: valid)
        #expect(tampered.status == 1 && tampered.errors.contains("signature is not valid"))

        let noFile = LicenseTool.verify(licensePath: directory + "/none.lic", publicKeyPath: pubPath, mac: nil, now: valid)
        #expect(noFile.status == 1 && noFile.errors.contains("none.lic: cannot open license file"))
    }

    @Test func inspectOfGarbageFailsClearly() {
        let directory = temporaryDirectories.make()
        Fixture.write("this is not a license\n", to: directory + "/junk.lic")
        let result = LicenseTool.inspect(licensePath: directory + "/junk.lic")
        #expect(result.status == 1)
        #expect(result.errors.contains("not a usable license file"))
    }
}
