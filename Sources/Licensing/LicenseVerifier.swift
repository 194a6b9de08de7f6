#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// Something worth telling the operator about a license that is nevertheless valid.
public enum LicenseWarning: Hashable, Sendable, CustomStringConvertible {
    /// Fewer than two license servers: when the only server stops, nobody can take over.
    case fewerThanTwoServers(servers: [MACAddress])

    public var description: String {
        switch self {
        case let .fewerThanTwoServers(servers):
            let listed = servers.map(\.description).joined(separator: ", ")
            return "the license lists \(servers.count) license server (\(listed)): failover is impossible, because when it stops "
                + "no other node may take over. Ask the vendor for a license with at least two servers."
        }
    }
}

/// Decides whether a signed license may be used on this node, now. Pure: the time and this node's
/// MAC are arguments.
public enum LicenseVerifier {
    /// Checks, in order: the vendor's signature (nothing else can be trusted before it), the validity
    /// window `notBefore <= now < expires`, and, when `ownMAC` is given, that this node is a listed host.
    /// Returns the warnings of a valid license, or throws the first reason it is not valid.
    public static func verify(_ signed: SignedLicense, vendorKey: Ed25519PublicKey, now: LicenseDate,
                              ownMAC: MACAddress?) throws(LicenseError) -> [LicenseWarning] {
        guard signed.hasValidSignature(vendorKey: vendorKey) else { throw .badSignature }
        let license = signed.license
        if let notBefore = license.notBefore, now < notBefore { throw .notYetValid(notBefore: notBefore, now: now) }
        guard now < license.expires else { throw .expired(expires: license.expires, now: now) }
        if let ownMAC, !license.allowsHost(ownMAC) { throw .macNotListed(mac: ownMAC, hosts: license.hosts) }
        return warnings(for: license)
    }

    public static func verify(_ signed: SignedLicense, vendorKey: Ed25519PublicKey, now: Date,
                              ownMAC: MACAddress?) throws(LicenseError) -> [LicenseWarning] {
        try verify(signed, vendorKey: vendorKey, now: LicenseDate(now), ownMAC: ownMAC)
    }

    /// Warnings that depend on the terms alone (also shown when issuing).
    public static func warnings(for license: License) -> [LicenseWarning] {
        license.servers.count < 2 ? [.fewerThanTwoServers(servers: license.servers)] : []
    }
}
