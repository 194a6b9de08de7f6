/// Why a license, a license file or a vendor key file was refused.
///
/// Each description names the cause and the fix, because it is what an operator reads in the log
/// or on the terminal when a node refuses to run.
public enum LicenseError: Error, Equatable, CustomStringConvertible {
    /// The signature does not match the payload under the given vendor key.
    case badSignature
    /// `now` is at or after the expiry date.
    case expired(expires: LicenseDate, now: LicenseDate)
    /// `now` is before the license's not-before date.
    case notYetValid(notBefore: LicenseDate, now: LicenseDate)
    /// This node's MAC address is not among the license's hosts.
    case macNotListed(mac: MACAddress, hosts: [MACAddress])
    /// The payload declares a format this build does not understand.
    case unsupportedFormat(version: Int)
    /// The file is not a well-formed armored license (missing or misplaced BEGIN/END lines, bad base64, too large).
    case malformedFile(reason: String)
    /// The payload block is not a canonical license payload; `line` counts from 1 inside the block.
    case malformedPayload(line: Int, reason: String)
    /// A license field is out of range or inconsistent (what `license issue` and `License.init` reject).
    case invalidField(field: String, reason: String)
    /// A date that is neither `YYYY-MM-DD` nor RFC 3339, or outside 1970...9999.
    case invalidDate(text: String)
    /// A vendor key file that cannot be used.
    case malformedKeyFile(path: String, reason: String)
    /// Reading or writing a file failed.
    case fileError(path: String, reason: String)
    /// A file we were asked to create already exists; we never overwrite keys or licenses silently.
    case fileExists(path: String)
    /// License servers report different licenses.
    case serversHoldDifferentLicenses(LicenseMismatch)
    /// libcrypto could not sign (should not happen with a key that loaded).
    case signingFailed(reason: String)

    /// The sentence the multi-server check must print word for word (operators search for it).
    public static let multiServerSetupMessage = "Invalid license for multi-server environment setup."

    public var description: String {
        switch self {
        case .badSignature:
            return "license signature is not valid: the license file was edited after it was issued, or it is being "
                + "checked with the wrong vendor public key. Use the license file exactly as the vendor sent it, and the "
                + "vendor's public key (vendor.pub) that belongs to the key it was signed with."
        case let .expired(expires, now):
            return "license expired on \(expires) (it is now \(now)). Ask the vendor for a renewed license and install it on every license server."
        case let .notYetValid(notBefore, now):
            return "license is not valid yet: it starts on \(notBefore) (it is now \(now)). Wait until then, or check this machine's clock."
        case let .macNotListed(mac, hosts):
            let listed = hosts.isEmpty ? "none" : hosts.map(\.description).joined(separator: ", ")
            return "\(Self.multiServerSetupMessage) The MAC address seen on this node is \(mac), and the license does not list it "
                + "(hosts in the license: \(listed)). Please check the MAC ids given when the license was generated; "
                + "if this node picked the wrong network interface, set its MAC in the agent configuration."
        case let .unsupportedFormat(version):
            return "license format \(version) is not supported by this build (it understands format \(License.currentFormatVersion)). Upgrade licmesh, or ask the vendor for a format \(License.currentFormatVersion) license."
        case let .malformedFile(reason):
            return "not a usable license file: \(reason). Use the license file exactly as the vendor sent it."
        case let .malformedPayload(line, reason):
            return "license payload line \(line): \(reason). The license file was damaged or edited; use the file exactly as the vendor sent it."
        case let .invalidField(field, reason):
            return "invalid \(field): \(reason)"
        case let .invalidDate(text):
            return "invalid date '\(printable(text))': expected YYYY-MM-DD (UTC midnight) or RFC 3339 such as 2027-01-31T12:00:00Z, between 1970 and 9999"
        case let .malformedKeyFile(path, reason):
            return "cannot use key file \(path): \(reason)"
        case let .fileError(path, reason):
            return "\(path): \(reason)"
        case let .fileExists(path):
            return "\(path) already exists; refusing to overwrite it. Move it away or choose another path."
        case let .serversHoldDifferentLicenses(mismatch):
            return mismatch.description
        case let .signingFailed(reason):
            return "signing the license failed: \(reason). Check the vendor private key file."
        }
    }
}
