/// Columns aligned with two spaces between them: text left-aligned, numbers right-aligned, no
/// trailing spaces. Widths count Characters, which is right for the ASCII we print.
struct TextTable {
    enum Alignment { case left, right }

    struct Column {
        var title: String
        var alignment: Alignment
    }

    let columns: [Column]
    private(set) var rows: [[String]] = []

    init(_ columns: [Column]) { self.columns = columns }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    mutating func append(_ cells: [String]) {
        rows.append((0..<columns.count).map { $0 < cells.count ? cells[$0] : "" })
    }

    var text: String {
        let all = [columns.map(\.title)] + rows
        let widths = columns.indices.map { index in all.map { $0[index].count }.max() ?? 0 }
        var output = ""
        for row in all {
            var line = ""
            for (index, cell) in row.enumerated() {
                let fill = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { line += "  " }
                line += columns[index].alignment == .left ? cell + fill : fill + cell
            }
            while line.last == " " { line.removeLast() }
            output += line + "\n"
        }
        return output
    }
}
