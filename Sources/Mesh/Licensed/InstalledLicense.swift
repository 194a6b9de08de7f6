import Crypto
import Licensing
import SWIM

/// The license file as this node judged it: verified against the vendor's key, the validity window
/// and this node's MAC. An invalid license does not stop the agent: it runs unlicensed, replicates
/// the ledger, and says why in its status and log, so that a fix (SIGHUP with a good file) needs no
/// restart.
public struct InstalledLicense: Sendable {
    public var signed: SignedLicense
    /// The terms the licensing layer enforces; nil when the signature is bad (nothing in the file can
    /// be trusted then, not even its server list).
    public var terms: LicenseTerms?
    public var isValid: Bool
    /// Why it is not valid, as `LicenseError.description` words it (the unlisted-MAC case starts with
    /// `Invalid license for multi-server environment setup.`).
    public var problem: String?
    public var warnings: [String]

    /// Verifies `signed` for the node with `mac`, at `unixTime`.
    public init(_ signed: SignedLicense, vendorKey: Ed25519PublicKey, mac: MACAddress, unixTime: Int64) {
        self.signed = signed
        do {
            let warnings = try LicenseVerifier.verify(signed, vendorKey: vendorKey, now: LicenseDate(secondsSince1970: unixTime), ownMAC: mac)
            self.terms = LicenseTerms(signed.license)
            self.isValid = true
            self.problem = nil
            self.warnings = warnings.map(\.description)
        } catch {
            // Expired, not yet valid or another host's: the terms are the vendor's (the signature held),
            // so the node still knows the servers and can follow the authority as a replica.
            if case .badSignature = error { self.terms = nil } else { self.terms = LicenseTerms(signed.license) }
            self.isValid = false
            self.problem = error.description
            self.warnings = []
        }
    }

    public var id: String { signed.license.id }
}
