import Crypto
import Licensing
import Wire
import SmallFiles

/// The key material an agent runs with: gossip keys, the license and the vendor's public key. Read
/// at startup and again on SIGHUP (`ResolvedAgentConfig.reloadSecrets()`), so that a renewed license
/// or a rotated gossip key takes effect without a restart. Decoded here, not verified: signature,
/// dates and this host's MAC are checked by the licensing layer, which reports them as events.
public struct AgentSecrets: Sendable {
    public var security: GossipSecurity
    public var license: SignedLicense
    public var vendorKey: Ed25519PublicKey

    /// Reads every file; the error names the config field of the first file that cannot be used.
    static func load(gossipKeyFiles: [String], insecurePlaintext: Bool, licenseFile: String, vendorPublicKeyFile: String,
                     sources: (String) -> ConfigSource) throws(ConfigError) -> AgentSecrets {
        var security = GossipSecurity.plain
        if !insecurePlaintext {
            var keys: [SymmetricKey] = []
            for (index, path) in gossipKeyFiles.enumerated() {
                let field = "gossipKeyFiles[\(index)]"
                let bytes = try readNamedFile(path, field: field, limit: 1024, source: sources("gossipKeyFiles"),
                                              createHint: "make a key with 'licmesh keygen-gossip --out \(path)' and copy it to every agent")
                do {
                    keys.append(try GossipKeyFile.parse(bytes, path: path))
                } catch {
                    throw ConfigError(.badValue, field: field, value: quoted(path), problem: "is not a gossip key file: it \(error.problem)",
                                      fix: "make a key with 'licmesh keygen-gossip --out FILE' and use the same key file on every agent",
                                      source: sources("gossipKeyFiles"))
                }
            }
            if let primary = keys.first {
                security = .encrypted(Keyring(primary: primary, alsoAccepting: Array(keys.dropFirst())))
            }
        }

        let licenseBytes = try readNamedFile(licenseFile, field: "licenseFile", limit: LicenseArmor.maximumFileSize,
                                             source: sources("licenseFile"), createHint: "put the license file your vendor sent there, or fix the path")
        let license: SignedLicense
        do {
            license = try SignedLicense(armored: licenseBytes)
        } catch {
            throw ConfigError(.badValue, field: "licenseFile", value: quoted(licenseFile), problem: "is not a usable license file (\(error))",
                              fix: "use the license file exactly as the vendor sent it", source: sources("licenseFile"))
        }

        let keyBytes = try readNamedFile(vendorPublicKeyFile, field: "vendorPublicKeyFile", limit: LicenseKeyFile.maximumFileSize,
                                         source: sources("vendorPublicKeyFile"), createHint: "put the vendor's public key (vendor.pub) there, or fix the path")
        let vendorKey: Ed25519PublicKey
        do {
            vendorKey = try LicenseKeyFile.decodePublicKey(keyBytes, path: vendorPublicKeyFile)
        } catch {
            throw ConfigError(.badValue, field: "vendorPublicKeyFile", value: quoted(vendorPublicKeyFile), problem: "is not a vendor public key (\(error))",
                              fix: "use the vendor.pub file that came with the license", source: sources("vendorPublicKeyFile"))
        }
        return AgentSecrets(security: security, license: license, vendorKey: vendorKey)
    }

    /// A file named by a config field: missing and unreadable are told apart, since their fixes differ.
    static func readNamedFile(_ path: String, field: String, limit: Int, source: ConfigSource, createHint: String) throws(ConfigError) -> [UInt8] {
        do {
            return try SmallFile.read(path: path, limit: limit)
        } catch {
            if error.isMissing {
                throw ConfigError(.missingFile, field: field, value: quoted(path), problem: "does not exist", fix: createHint, source: source)
            }
            let fix = error.isPermissionProblem
                ? "make it readable by the agent's user (e.g. chgrp licmesh FILE; chmod 640 FILE)"
                : "check that the path names the right file"
            throw ConfigError(.unreadableFile, field: field, value: quoted(path), problem: "cannot be read: \(error.reason)", fix: fix, source: source)
        }
    }

    private static func quoted(_ text: String) -> String { "'\(quotedConfigText(text, limit: 200))'" }
}
