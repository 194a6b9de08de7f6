import SWIM

/// "Equal potential": every license server must hold the same license, or the lowest-ID rule could
/// elect an authority that enforces different terms from its successor.
public enum LicenseConsistency {
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
