import SWIM

/// What each agent tells the cluster about itself through its SWIM member metadata: its MAC id and
/// which license it holds. The authority is chosen from these adverts, so every node decides the
/// same way from the same membership view.
public struct NodeAdvert: Hashable, Sendable {
    public var mac: UInt64
    /// The id of the license installed on the node ("" when none).
    public var licenseID: String
    /// The node verified its license (signature, dates, its own MAC) and found it valid.
    public var licenseValid: Bool
    /// `LicenseTerms.lineage` of that license (0: unknown, as in adverts of format 1).
    public var lineage: UInt64
    /// The node's life (its boot number): its licensing requests name it, and the authority applies
    /// only those of the life the advert announces (0: unknown, as in adverts of format 1).
    public var life: UInt64
    /// The node's clock agrees with the license servers' (see `LicensingNode.clockProblem`); a node
    /// that says otherwise may not act as authority.
    public var clockTrusted: Bool

    public init(mac: UInt64, licenseID: String, licenseValid: Bool, lineage: UInt64 = 0, life: UInt64 = 0, clockTrusted: Bool = true) {
        self.clockTrusted = clockTrusted
        self.mac = mac
        self.licenseID = licenseID
        self.licenseValid = licenseValid
        self.lineage = lineage
        self.life = life
    }

    static let formatVersion: UInt8 = 2
    static let maximumLicenseIDLength = 64

    /// Whether two nodes hold versions of one license: the same id, or the same known licensee.
    public func holdsVersionOfSameLicense(as other: NodeAdvert) -> Bool {
        licenseID == other.licenseID || (lineage != 0 && lineage == other.lineage)
    }

    /// version (1), flags (1: bit 0 = licence valid, bit 1 = clock not trusted), MAC (6, big-endian), id length (1), id (UTF-8),
    /// then in format 2 only: lineage (8, big-endian) and life (8, big-endian).
    public var metadata: [UInt8] {
        let id = Array(licenseID.utf8.prefix(Self.maximumLicenseIDLength))
        var bytes: [UInt8] = [Self.formatVersion, (licenseValid ? 1 : 0) | (clockTrusted ? 0 : 2)]
        for shift in stride(from: 40, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: mac >> UInt64(shift))) }
        bytes.append(UInt8(id.count))
        bytes += id
        for value in [lineage, life] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        return bytes
    }

    /// Parses member metadata (format 1 or 2); nil for anything that is not a well-formed advert (a
    /// member without a licensing agent, or a newer format) so such members are simply never eligible.
    public init?(metadata bytes: [UInt8]) {
        guard bytes.count >= 9, bytes[0] == 1 || bytes[0] == 2 else { return nil }
        var mac: UInt64 = 0
        for i in 2..<8 { mac = mac << 8 | UInt64(bytes[i]) }
        let length = Int(bytes[8])
        let trailer = bytes[0] == 2 ? 16 : 0
        guard length <= Self.maximumLicenseIDLength, bytes.count == 9 + length + trailer,
              let id = String(validating: bytes[9..<9 + length], as: UTF8.self) else { return nil }
        func word(at offset: Int) -> UInt64 { bytes[offset..<offset + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        let lineage = trailer > 0 ? word(at: 9 + length) : 0
        let life = trailer > 0 ? word(at: 17 + length) : 0
        self.init(mac: mac, licenseID: id, licenseValid: bytes[1] & 1 == 1, lineage: lineage, life: life, clockTrusted: bytes[1] & 2 == 0)
    }
}

/// MAC ids print as six colon-separated hex pairs.
public func formatMAC(_ mac: UInt64) -> String {
    stride(from: 40, through: 0, by: -8).map { shift -> String in
        let byte = UInt8(truncatingIfNeeded: mac >> UInt64(shift))
        let hex = String(byte, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }.joined(separator: ":")
}
