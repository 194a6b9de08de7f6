#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `licmesh status`, `members` and `ledger` print: pure functions of the agent's answers, so that
/// tests check the exact text. Written to be read at 3 a.m.: a header that says in words whether this
/// node is fine and what is wrong, then one aligned row per node, sorted by node ID, with states
/// spelled out (the bad ones in capitals), the authority and this node marked, and the cores summed
/// against the license's limit.
public enum AgentStatusRendering {
    /// The header, a blank line, then the members table.
    public static func status(_ status: AgentStatus) -> String {
        var header: [(String, String)] = []
        header.append(("Node", "\(status.node)  \(status.address)  cluster \(status.cluster)"))
        header.append(("Authority", authorityLine(status.authority, epoch: status.epoch, isSelf: status.isAuthority, members: status.members)))
        header.append(("License", licenseLine(status.license, coresInUse: status.coresInUse, coresHeld: status.coresHeld)))
        header.append(("Members", membersSummary(status.members)))
        header.append(("Health", status.isReady ? "HEALTHY" : "UNHEALTHY"))

        var text = ""
        for (label, value) in header { text += padded(label, 11) + value + "\n" }
        for problem in status.readinessProblems { text += "             - \(problem)\n" }
        if let license = status.license, !license.problems.isEmpty {
            text += license.valid ? "License warnings:\n" : "License problems:\n"
            for problem in license.problems { text += "             - \(problem)\n" }
        }
        text += "\n"
        text += membersTable(status.members, coresInUse: status.coresInUse, maxCores: status.license?.maxCores)
        return text
    }

    /// A one-line context, then the members table.
    public static func members(_ report: MembersReport) -> String {
        "Members of cluster \(report.cluster) as node \(report.node) sees them; authority "
            + authorityLine(report.authority, epoch: report.epoch, isSelf: report.authority == report.node, members: report.members)
            + "\n\n" + membersTable(report.members, coresInUse: report.coresInUse, maxCores: report.maxCores)
    }

    /// A one-line context, then one row per grant, sorted by node ID, and the total against the limit.
    public static func ledger(_ report: LedgerReport) -> String {
        var table = TextTable([.init(title: "NODE", alignment: .left), .init(title: "CORES", alignment: .right),
                               .init(title: "STAMP", alignment: .left), .init(title: "NOTE", alignment: .left)])
        let grants = report.ledger.sorted { nodeOrder($0.node, $1.node) }
        for grant in grants {
            table.append([grant.node, "\(grant.cores)", grant.stamp, notes(isAuthority: grant.node == report.authority, isSelf: grant.node == report.node)])
        }
        let sum = grants.reduce(0) { $0 + $1.cores }
        table.append(["total", "\(sum)", "", limitNote(sum: sum, coresInUse: report.coresInUse, maxCores: report.maxCores)])
        let authority = report.authority.map { "authority \($0)" } ?? "NO AUTHORITY"
        return "Ledger of cluster \(report.cluster) as node \(report.node) holds it; \(authority), epoch \(report.epoch)\n\n"
            + (grants.isEmpty ? "(no grants)\n" : table.text)
    }

    /// Pretty, key-sorted JSON for `--json`: stable for diffs, and what `jq` reads.
    public static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: - Pieces

    static func membersTable(_ members: [MemberStatus], coresInUse: Int, maxCores: Int?) -> String {
        guard !members.isEmpty else { return "(no members known)\n" }
        var table = TextTable([
            .init(title: "NODE", alignment: .left), .init(title: "ADDRESS", alignment: .left),
            .init(title: "STATE", alignment: .left), .init(title: "INCARNATION", alignment: .right),
            .init(title: "CORES", alignment: .right), .init(title: "ROLE", alignment: .left),
        ])
        let sorted = members.sorted { nodeOrder($0.id, $1.id) }
        for member in sorted {
            table.append([member.id, member.address, stateWord(member.state), "\(member.incarnation)", "\(member.cores)",
                          notes(isAuthority: member.isAuthority, isSelf: member.isSelf)])
        }
        let sum = sorted.reduce(0) { $0 + $1.cores }
        table.append(["", "", "", "total", "\(sum)", limitNote(sum: sum, coresInUse: coresInUse, maxCores: maxCores)])
        return table.text
    }

    /// Alive and left are normal; suspect and dead are what an operator is looking for.
    static func stateWord(_ state: String) -> String {
        switch state.lowercased() {
        case "alive": return "alive"
        case "left": return "left"
        case "suspect": return "SUSPECT"
        case "dead": return "DEAD"
        default: return state
        }
    }

    static func notes(isAuthority: Bool, isSelf: Bool) -> String {
        [isAuthority ? "authority" : nil, isSelf ? "this node" : nil].compactMap { $0 }.joined(separator: ", ")
    }

    /// "of 16 licensed", plus the ledger's own total when the rows do not add up to it (grants of
    /// nodes no longer listed, for instance).
    static func limitNote(sum: Int, coresInUse: Int, maxCores: Int?) -> String {
        var note = maxCores.map { "of \($0) licensed" } ?? "no license"
        if sum != coresInUse { note += "; the ledger counts \(coresInUse) in all" }
        return note
    }

    static func authorityLine(_ authority: String?, epoch: String, isSelf: Bool, members: [MemberStatus]) -> String {
        guard let authority else { return "NONE: no license authority known (epoch \(epoch))" }
        let address = members.first { $0.id == authority }.map { " at \($0.address)" } ?? ""
        return "\(authority)\(address)\(isSelf ? " (this node)" : ""), epoch \(epoch)"
    }

    static func licenseLine(_ license: LicenseStatus?, coresInUse: Int, coresHeld: Int) -> String {
        guard let license else { return "NONE installed  (\(coresInUse) cores in use, this node holds \(coresHeld))" }
        let validity = license.valid ? "" : "  INVALID"
        return "\(license.id) for \(license.licensee)\(validity): \(coresInUse) of \(license.maxCores) cores in use, "
            + "this node holds \(coresHeld); expires \(license.expires); policy \(license.policy)"
    }

    static func membersSummary(_ members: [MemberStatus]) -> String {
        var counts: [String: Int] = [:]
        for member in members { counts[stateWord(member.state), default: 0] += 1 }
        let order = ["alive", "SUSPECT", "DEAD", "left"]
        let known = order.compactMap { state in counts[state].map { "\($0) \(state)" } }
        let others = counts.keys.filter { !order.contains($0) }.sorted().map { "\(counts[$0, default: 0]) \($0)" }
        return "\(members.count)" + (members.isEmpty ? "" : ": " + (known + others).joined(separator: ", "))
    }

    /// Node IDs are 16 hex digits: numeric order, which is also the authority's election order;
    /// anything else after them, as text.
    static func nodeOrder(_ a: String, _ b: String) -> Bool {
        switch (UInt64(a, radix: 16), UInt64(b, radix: 16)) {
        case let (x?, y?): return x != y ? x < y : a < b
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a < b
        }
    }

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
