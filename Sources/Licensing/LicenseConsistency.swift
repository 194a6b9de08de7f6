import SWIM

/// What one license server reports of its license: its id, and the fingerprint of its licensee
/// (`LicenseTerms.lineage`, 0 when unknown).
public struct LicenseReport: Hashable, Sendable {
    public var node: NodeID
    public var licenseID: String
    public var lineage: UInt64

    public init(node: NodeID, licenseID: String, lineage: UInt64 = 0) {
        self.node = node
        self.licenseID = licenseID
        self.lineage = lineage
    }

    /// Licenses of one licensee are versions of one license; without a licensee only the id tells.
    var family: String { lineage != 0 ? "lineage:\(lineage)" : "id:\(licenseID)" }
}

/// "Equal potential": every license server must hold the same customer's license, or the lowest-ID
/// rule could elect an authority that enforces another customer's terms. Versions of one license (a
/// renewal rolled out server by server) are compatible: the authority's version is in force.
public enum LicenseConsistency {
    /// The mismatch when servers hold licenses of different licensees (or, licensee unknown, different
    /// ids); nil when they are all versions of one license.
    public static func mismatch(among reports: [LicenseReport]) -> LicenseMismatch? {
        let families = Set(reports.map(\.family))
        guard families.count > 1 else { return nil }
        return differences(reports)
    }

    /// Which servers hold which version, when they are versions of one license but not all the same;
    /// nil when they agree (or do not share a licensee: that is a `mismatch`).
    public static func versions(among reports: [LicenseReport]) -> LicenseMismatch? {
        guard Set(reports.map(\.family)).count <= 1 else { return nil }
        return differences(reports)
    }

    private static func differences(_ reports: [LicenseReport]) -> LicenseMismatch? {
        mismatch(reports: reports.map { (node: $0.node, licenseID: $0.licenseID) })
    }

    /// Given what each license server reports (its node and the id of the license it holds), the
    /// mismatch when they do not all agree, or nil when they do (or report nothing).
    /// A node that reports more than one id is listed under each.
    public static func mismatch(reports: [(node: NodeID, licenseID: String)]) -> LicenseMismatch? {
        var holders: [String: Set<NodeID>] = [:]
        for report in reports { holders[report.licenseID, default: []].insert(report.node) }
        guard holders.count > 1 else { return nil }
        return LicenseMismatch(holdings: holders.map { LicenseMismatch.Holding(licenseID: $0.key, nodes: $0.value.sorted()) })
    }
}

/// Which license servers hold which license id, when they differ.
public struct LicenseMismatch: Hashable, Sendable, CustomStringConvertible {
    public struct Holding: Hashable, Sendable {
        public let licenseID: String
        public let nodes: [NodeID]
    }

    /// Most widely held license first (ties by id), so the likely odd one out comes last.
    public let holdings: [Holding]

    init(holdings: [Holding]) {
        self.holdings = holdings.sorted {
            $0.nodes.count != $1.nodes.count ? $0.nodes.count > $1.nodes.count : $0.licenseID < $1.licenseID
        }
    }

    /// Node -> license id, in node order.
    public var assignments: [(node: NodeID, licenseID: String)] {
        holdings.flatMap { holding in holding.nodes.map { (node: $0, licenseID: holding.licenseID) } }
            .sorted { $0.node != $1.node ? $0.node < $1.node : $0.licenseID < $1.licenseID }
    }

    public var description: String {
        let pairs = assignments.map { "\($0.node) -> \(printable($0.licenseID))" }.joined(separator: ", ")
        return "License servers hold different licenses (no equal potential): \(pairs). "
            + "Every license server must have the same license installed: copy one license file to every server "
            + "listed in it and restart those agents."
    }
}
