import Crypto

/// The terms a vendor grants a customer's cluster. A value: validated on construction, and every
/// list kept sorted and free of duplicates, so that one set of terms has one canonical payload
/// (see `LicensePayload`) and therefore one signature and one id.
///
/// Times are passed in, never read here: `issued` comes from the caller's clock.
public struct License: Hashable, Sendable {
    public static let currentFormatVersion = 1

    /// Bounds on untrusted input; a license file is at most `LicenseArmor.maximumFileSize` bytes anyway.
    public static let maximumLicenseeLength = 200
    public static let maximumIDLength = 64
    public static let maximumFeatureLength = 64
    public static let maximumFeatures = 256
    public static let maximumHosts = 4096
    public static let maximumCores = Int(Int32.max)

    public let formatVersion: Int
    /// Derived from the payload's SHA-256 unless the vendor gave one; two licenses differ in id.
    public let id: String
    public let licensee: String
    public let issued: LicenseDate
    public let notBefore: LicenseDate?
    public let expires: LicenseDate
    /// CPU cores the whole cluster may use at once.
    public let maxCores: Int
    /// MAC addresses of the machines allowed in the cluster (sorted, unique).
    public let hosts: [MACAddress]
    /// MAC addresses allowed to act as license server (sorted, unique, each also a host).
    public let servers: [MACAddress]
    /// Feature names (sorted, unique).
    public let features: [String]

    /// Validates and normalises the terms. With `id == nil` the id is the first 8 bytes (16 hex digits)
    /// of the SHA-256 of the canonical payload written with an empty id.
    public init(id: String? = nil, licensee: String, issued: LicenseDate, notBefore: LicenseDate? = nil,
                expires: LicenseDate, maxCores: Int, hosts: [MACAddress], servers: [MACAddress],
                features: [String] = [], formatVersion: Int = License.currentFormatVersion) throws(LicenseError) {
        guard formatVersion == Self.currentFormatVersion else { throw .unsupportedFormat(version: formatVersion) }
        try Self.checkLicensee(licensee)
        guard maxCores > 0 else { throw .invalidField(field: "max-cores", reason: "must be greater than 0 (got \(maxCores))") }
        guard maxCores <= Self.maximumCores else {
            throw .invalidField(field: "max-cores", reason: "must be at most \(Self.maximumCores) (got \(maxCores))")
        }
        let hostSet = Set(hosts)
        guard !hostSet.isEmpty else { throw .invalidField(field: "host", reason: "a license needs at least one host MAC address") }
        guard hostSet.count <= Self.maximumHosts else {
            throw .invalidField(field: "host", reason: "at most \(Self.maximumHosts) hosts per license (got \(hostSet.count))")
        }
        let serverSet = Set(servers)
        guard !serverSet.isEmpty else {
            throw .invalidField(field: "server", reason: "a license needs at least one license server MAC address (two or more for failover)")
        }
        let notHosts = serverSet.subtracting(hostSet).sorted()
        guard notHosts.isEmpty else {
            throw .invalidField(field: "server", reason: "every server must also be listed as a host; not hosts: "
                + notHosts.map(\.description).joined(separator: ", "))
        }
        let featureSet = Set(features)
        guard featureSet.count <= Self.maximumFeatures else {
            throw .invalidField(field: "feature", reason: "at most \(Self.maximumFeatures) features per license (got \(featureSet.count))")
        }
        for feature in featureSet { try Self.checkFeature(feature) }
        for (name, date) in [("issued", issued), ("expires", expires)] + (notBefore.map { [("not-before", $0)] } ?? []) {
            guard date.isInLicenseRange else {
                throw .invalidField(field: name, reason: "\(date.secondsSince1970) seconds since 1970 is outside 1970...9999")
            }
        }
        if let notBefore, expires <= notBefore {
            throw .invalidField(field: "expires", reason: "\(expires) is not after not-before \(notBefore)")
        }
        guard expires > issued else {
            throw .invalidField(field: "expires", reason: "\(expires) is not after the issue date \(issued)")
        }

        let draft = License(formatVersion: formatVersion, id: "", licensee: licensee, issued: issued, notBefore: notBefore,
                            expires: expires, maxCores: maxCores, hosts: hostSet.sorted(), servers: serverSet.sorted(),
                            features: featureSet.sorted())
        if let id { try Self.checkID(id) }
        self.init(formatVersion: formatVersion, id: id ?? Self.derivedID(payload: LicensePayload.encode(draft)),
                  licensee: licensee, issued: issued, notBefore: notBefore, expires: expires, maxCores: maxCores,
                  hosts: draft.hosts, servers: draft.servers, features: draft.features)
    }

    /// True when `mac` may run in the cluster.
    public func allowsHost(_ mac: MACAddress) -> Bool { hosts.contains(mac) }

    /// True when `mac` may act as license server (and so may become the authority).
    public func allowsServer(_ mac: MACAddress) -> Bool { servers.contains(mac) }

    /// The canonical payload: the exact bytes the vendor signs.
    public var canonicalPayload: [UInt8] { LicensePayload.encode(self) }

    /// Memberwise, for values already validated.
    private init(formatVersion: Int, id: String, licensee: String, issued: LicenseDate, notBefore: LicenseDate?,
                 expires: LicenseDate, maxCores: Int, hosts: [MACAddress], servers: [MACAddress], features: [String]) {
        self.formatVersion = formatVersion
        self.id = id
        self.licensee = licensee
        self.issued = issued
        self.notBefore = notBefore
        self.expires = expires
        self.maxCores = maxCores
        self.hosts = hosts
        self.servers = servers
        self.features = features
    }

    static func derivedID(payload: [UInt8]) -> String {
        SHA256.hash(payload).prefix(8).map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    // MARK: Field rules (one spelling per value, nothing that could break the line-based payload)

    static func checkLicensee(_ licensee: String) throws(LicenseError) {
        guard !licensee.isEmpty else { throw .invalidField(field: "licensee", reason: "must not be empty") }
        guard licensee.count <= maximumLicenseeLength else {
            throw .invalidField(field: "licensee", reason: "at most \(maximumLicenseeLength) characters (got \(licensee.count))")
        }
        guard licensee.trimmingASCIIWhitespace() == licensee else {
            throw .invalidField(field: "licensee", reason: "must not start or end with spaces")
        }
        guard !licensee.unicodeScalars.contains(where: { $0.properties.generalCategory == .control
                || $0.properties.generalCategory == .lineSeparator || $0.properties.generalCategory == .paragraphSeparator }) else {
            throw .invalidField(field: "licensee", reason: "must be one line of printable text")
        }
    }

    static func checkID(_ id: String) throws(LicenseError) {
        guard !id.isEmpty, id.utf8.count <= maximumIDLength, id.utf8.allSatisfy(isIDByte) else {
            throw .invalidField(field: "id", reason: "'\(printable(id))' must be 1 to \(maximumIDLength) characters of A-Z a-z 0-9 . _ -")
        }
    }

    static func checkFeature(_ feature: String) throws(LicenseError) {
        guard !feature.isEmpty, feature.utf8.count <= maximumFeatureLength,
              feature.utf8.allSatisfy({ isIDByte($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "+") }) else {
            throw .invalidField(field: "feature", reason: "'\(printable(feature))' must be 1 to \(maximumFeatureLength) characters of A-Z a-z 0-9 . _ - : / +")
        }
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
