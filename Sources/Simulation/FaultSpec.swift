import SWIM

/// The compact text forms of faults used on the command line, parsed into `Fault`s. Times are in
/// protocol periods (probe intervals) so that one spec means the same under every profile.
///
///     node lists   "0-9,12,20-24"
///     partition    "0-9|10-19@30-60"   nodes 0-9 cut from 10-19 from period 30 to 60
///                  "0-9@30"            nodes 0-9 cut from everyone else from period 30 to the end
///     slow node    "4:300"             node 4 handed its messages 300 ms late for the whole run
///                  "4:300@10-50"       ... from period 10 to 50
public enum FaultSpec {
    /// Parses "0-9,12": ascending ranges and single nodes, each below `nodeCount`.
    public static func nodes(_ text: String, nodeCount: Int) throws(FaultSpecError) -> [Int] {
        var result: [Int] = []
        guard !text.isEmpty else { throw FaultSpecError("empty node list; expected e.g. 0-9,12") }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]) else {
                throw FaultSpecError("'\(part)' is not a node or a range of nodes (like 3 or 0-9)")
            }
            guard low <= high else { throw FaultSpecError("range '\(part)' runs backwards") }
            guard low >= 0, high < nodeCount else {
                throw FaultSpecError("'\(part)' names nodes outside 0...\(nodeCount - 1)")
            }
            guard high - low < 10_000_000 else { throw FaultSpecError("range '\(part)' is too large") }
            result.append(contentsOf: low...high)
        }
        return result
    }

    /// Parses "FROM-UNTIL" or "FROM" (until the end) in periods into offsets.
    public static func window(_ text: String, probeInterval: Duration) throws(FaultSpecError) -> (from: Duration, until: Duration?) {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 1 || bounds.count == 2, let from = Double(bounds[0]), from >= 0, from < 1e9 else {
            throw FaultSpecError("'\(text)' is not a window of periods (like 30-60, or 30 for 'from 30 on')")
        }
        var until: Double?
        if bounds.count == 2 {
            guard let end = Double(bounds[1]), end >= from, end < 1e9 else {
                throw FaultSpecError("'\(text)': the end must be a number of periods not before the start")
            }
            until = end
        }
        return (probeInterval.scaled(by: from), until.map { probeInterval.scaled(by: $0) })
    }

    /// Parses "A|B@FROM-UNTIL" or "A@FROM-UNTIL" into a partition fault.
    public static func partition(_ text: String, oneWay: Bool, nodeCount: Int, probeInterval: Duration) throws(FaultSpecError) -> Fault {
        let pieces = text.split(separator: "@", omittingEmptySubsequences: false)
        guard pieces.count == 2 else {
            throw FaultSpecError("'\(text)' needs the form A|B@FROM-UNTIL (like 0-9|10-19@30-60) or A@FROM")
        }
        let groups = pieces[0].split(separator: "|", omittingEmptySubsequences: false)
        guard groups.count == 1 || groups.count == 2 else {
            throw FaultSpecError("'\(pieces[0])' needs one or two node groups separated by |")
        }
        let side = try nodes(String(groups[0]), nodeCount: nodeCount)
        let other = groups.count == 2 ? try nodes(String(groups[1]), nodeCount: nodeCount) : nil
        if let other, !Set(side).isDisjoint(with: other) {
            throw FaultSpecError("'\(pieces[0])': a node cannot be on both sides")
        }
        let (from, until) = try window(String(pieces[1]), probeInterval: probeInterval)
        return Fault(at: from, .partition(Partition(side: side, otherSide: other, oneWay: oneWay), until: until))
    }

    /// Parses "NODE:DELAY_MS" or "NODE:DELAY_MS@FROM-UNTIL" into a slow-node fault.
    public static func slow(_ text: String, nodeCount: Int, probeInterval: Duration) throws(FaultSpecError) -> Fault {
        let pieces = text.split(separator: "@", omittingEmptySubsequences: false)
        guard pieces.count <= 2 else { throw FaultSpecError("'\(text)' needs the form NODE:DELAY_MS[@FROM-UNTIL]") }
        let nodeAndDelay = pieces[0].split(separator: ":", omittingEmptySubsequences: false)
        guard nodeAndDelay.count == 2, let node = Int(nodeAndDelay[0]), let delay = Double(nodeAndDelay[1]) else {
            throw FaultSpecError("'\(pieces[0])' needs the form NODE:DELAY_MS (like 4:300)")
        }
        guard node >= 0, node < nodeCount else { throw FaultSpecError("node \(node) is outside 0...\(nodeCount - 1)") }
        guard delay >= 0, delay <= 3_600_000 else { throw FaultSpecError("delay \(delay) ms must be in 0...3600000") }
        var from = Duration.zero
        var until: Duration?
        if pieces.count == 2 { (from, until) = try window(String(pieces[1]), probeInterval: probeInterval) }
        return Fault(at: from, .slow(node: node, delay: .nanoseconds(Int64(delay * 1e6)), until: until))
    }
}

public struct FaultSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
