import Crypto
import Licensing

/// What a `licmesh license ...` command prints and its exit status. The logic of the vendor tooling
/// lives here, as functions from arguments to output, so tests run it without spawning a process;
/// `Sources/licmesh/LicenseCommand.swift` only parses flags, reads the clock and prints.
public struct LicenseToolOutput: Equatable, Sendable {
    public var status: Int32
    /// For standard output.
    public var output: String
    /// For standard error: warnings and errors.
    public var errors: String

    public static func success(_ output: String, warnings: [LicenseWarning] = []) -> LicenseToolOutput {
        LicenseToolOutput(status: 0, output: output, errors: warnings.map { "warning: \($0)\n" }.joined())
    }

    public static func failure(_ message: String) -> LicenseToolOutput {
        LicenseToolOutput(status: 1, output: "", errors: message.hasSuffix("\n") ? message : message + "\n")
    }
}

/// The options of `licmesh license issue`, as typed on the command line.
public struct LicenseIssueRequest: Sendable {
    public var licensee: String
    public var maxCores: String
    public var hosts: [String]
    public var servers: [String]
    public var expires: String
    public var notBefore: String?
    public var features: [String]
    public var id: String?

    public init(licensee: String, maxCores: String, hosts: [String], servers: [String], expires: String,
                notBefore: String? = nil, features: [String] = [], id: String? = nil) {
        self.licensee = licensee
        self.maxCores = maxCores
        self.hosts = hosts
        self.servers = servers
        self.expires = expires
        self.notBefore = notBefore
        self.features = features
        self.id = id
    }

    /// The license these options describe, issued at `issued`. Errors name the offending flag.
    public func makeLicense(issued: LicenseDate) throws(LicenseError) -> License {
        let text = maxCores.trimmingASCIIWhitespace()
        guard text.utf8.count <= 12, let cores = Int(text) else {
            throw .invalidField(field: "--max-cores", reason: "'\(printable(maxCores))' is not a whole number")
        }
        let hostMACs = try Self.macs(hosts, flag: "--host")
        let serverMACs = try Self.macs(servers, flag: "--server")
        let expiresDate: LicenseDate
        let notBeforeDate: LicenseDate?
        do {
            expiresDate = try LicenseDate(parsing: expires)
            notBeforeDate = try notBefore.map { (text) throws(LicenseError) in try LicenseDate(parsing: text) }
        } catch {
            throw .invalidField(field: expiresOrNotBefore(error), reason: error.description)
        }
        do {
            return try License(id: id, licensee: licensee, issued: issued, notBefore: notBeforeDate, expires: expiresDate,
                               maxCores: cores, hosts: hostMACs, servers: serverMACs, features: features)
        } catch {
            if case let .invalidField(field, reason) = error { throw .invalidField(field: "--" + field, reason: reason) }
            throw error
        }
    }

    private func expiresOrNotBefore(_ error: LicenseError) -> String {
        if case let .invalidDate(text) = error, text == notBefore, text != expires { return "--not-before" }
        return "--expires"
    }

    private static func macs(_ texts: [String], flag: String) throws(LicenseError) -> [MACAddress] {
        var result: [MACAddress] = []
        for text in texts {
            do {
                result.append(try MACAddress(parsing: text))
            } catch {
                throw .invalidField(field: flag, reason: error.description)
            }
        }
        return result
    }
}

public enum LicenseTool {
    public static let privateKeyFileName = "vendor.key"
    public static let publicKeyFileName = "vendor.pub"

    /// `license keygen --out DIR`: a new vendor key pair, `vendor.key` (mode 0600) and `vendor.pub`
    /// (mode 0644). Refuses to touch either file if one already exists.
    public static func keygen(directory: String) -> LicenseToolOutput {
        let privatePath = join(directory, privateKeyFileName)
        let publicPath = join(directory, publicKeyFileName)
        for path in [privatePath, publicPath] where LicenseFiles.exists(path) {
            return .failure("error: \(LicenseError.fileExists(path: path)) Generating a new vendor key would make "
                + "every license signed with the old one unverifiable with the new public key.")
        }
        let key = Ed25519PrivateKey.generate()
        do {
            try LicenseFiles.makeDirectory(directory)
            try LicenseFiles.write(path: privatePath, contents: Array(LicenseKeyFile.encode(privateKey: key).utf8), mode: 0o600)
            try LicenseFiles.write(path: publicPath, contents: Array(LicenseKeyFile.encode(publicKey: key.publicKey).utf8), mode: 0o644)
        } catch {
            return .failure("error: \(error)")
        }
        return .success("""
            wrote \(privatePath) (vendor private key, mode 0600: keep it secret, it signs licenses)
            wrote \(publicPath) (vendor public key: ship it with the product, it verifies licenses)

            """)
    }

    /// `license issue`: validates the request, signs it with the key at `keyPath` and writes the
    /// armored license to `outPath` (refusing to overwrite it unless `overwrite`).
    public static func issue(_ request: LicenseIssueRequest, keyPath: String, outPath: String, now: LicenseDate,
                             overwrite: Bool = false) -> LicenseToolOutput {
        do {
            let license = try request.makeLicense(issued: now)
            if !overwrite, LicenseFiles.exists(outPath) {
                throw LicenseError.fileExists(path: outPath)
            }
            let key = try LicenseKeyFile.loadPrivateKey(path: keyPath)
            let signed = try SignedLicense.sign(license, with: key)
            // Read back what we are about to write: the file must parse and verify as issued.
            let reread = try SignedLicense(armored: signed.armored)
            guard reread == signed, reread.hasValidSignature(vendorKey: key.publicKey) else {
                return .failure("error: internal check failed: the license does not read back as it was signed; nothing was written")
            }
            try LicenseFiles.write(path: outPath, contents: Array(signed.armored.utf8), mode: 0o644, overwrite: overwrite)
            return .success("wrote license \(license.id) to \(outPath)\n\n" + describe(license),
                            warnings: LicenseVerifier.warnings(for: license))
        } catch {
            return .failure("error: \(error)")
        }
    }

    /// `license verify`: exit 0 and "valid" (warnings on standard error), or exit 1 with the reason.
    /// With `mac`, also checks that this MAC is one of the license's hosts.
    public static func verify(licensePath: String, publicKeyPath: String, mac: String?, now: LicenseDate) -> LicenseToolOutput {
        do {
            let ownMAC: MACAddress?
            do {
                ownMAC = try mac.map { (text) throws(MACAddressError) in try MACAddress(parsing: text) }
            } catch {
                return .failure("error: --mac: \(error)")
            }
            let vendorKey = try LicenseKeyFile.loadPublicKey(path: publicKeyPath)
            let signed = try SignedLicense.load(path: licensePath)
            let warnings = try LicenseVerifier.verify(signed, vendorKey: vendorKey, now: now, ownMAC: ownMAC)
            let license = signed.license
            let hostCheck = ownMAC.map { "\($0) is a listed host" + (license.allowsServer($0) ? " and license server" : "") }
                ?? "not checked (pass --mac MAC to check a node)"
            return .success("""
                valid
                  license:    \(license.id) for \(license.licensee)
                  valid from: \(license.notBefore ?? license.issued)
                  expires:    \(license.expires)
                  host:       \(hostCheck)

                """, warnings: warnings)
        } catch {
            return .failure("invalid: \(error)")
        }
    }

    /// `license inspect`: the fields in readable form. Does not need the vendor key and says so.
    public static func inspect(licensePath: String) -> LicenseToolOutput {
        do {
            let signed = try SignedLicense.load(path: licensePath)
            return .success(describe(signed.license)
                + "  signature:   NOT CHECKED (inspect only reads the file; run 'licmesh license verify FILE --pubkey vendor.pub')\n",
                warnings: LicenseVerifier.warnings(for: signed.license))
        } catch {
            return .failure("error: \(error)")
        }
    }

    /// The license's fields, one per line.
    public static func describe(_ license: License) -> String {
        func list(_ items: [String]) -> String { items.isEmpty ? "(none)" : items.joined(separator: ", ") }
        return """
            license \(license.id) (format \(license.formatVersion))
              licensee:    \(license.licensee)
              issued:      \(license.issued)
              not before:  \(license.notBefore.map(\.description) ?? "(none: valid from issue)")
              expires:     \(license.expires)
              max cores:   \(license.maxCores) (cluster-wide)
              hosts (\(license.hosts.count)):   \(list(license.hosts.map(\.description)))
              servers (\(license.servers.count)): \(list(license.servers.map(\.description)))
              features:    \(list(license.features))

            """
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
