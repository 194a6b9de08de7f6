/// Hand-written command-line parsing: no dependencies, `--help` everywhere, and an error that names
/// the flag, the value and what was expected.
#if canImport(Glibc)
import Glibc
#endif

/// One `--flag` a command accepts.
package struct OptionSpec: Sendable {
    package var name: String                 // "--nodes"
    package var valueName: String?           // "N"; nil for a boolean flag
    package var help: String
    package var repeatable = false

    package static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: nil, help: help)
    }
    package static func value(_ name: String, _ valueName: String, _ help: String, repeatable: Bool = false) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help, repeatable: repeatable)
    }
}

/// A command (or a group of subcommands, when `subcommands` is not empty).
package struct Command: Sendable {
    package var name: String
    package var summary: String
    /// Positional arguments, for the usage line, e.g. "FILE".
    package var positionals: String = ""
    package var options: [OptionSpec] = []
    package var discussion: String = ""
    package var subcommands: [Command] = []
    package var run: @Sendable (ParsedArguments) throws -> Int32 = { _ in 0 }

    package init(name: String, summary: String, positionals: String = "", options: [OptionSpec] = [], discussion: String = "",
                 subcommands: [Command] = [], run: @escaping @Sendable (ParsedArguments) throws -> Int32 = { _ in 0 }) {
        self.name = name; self.summary = summary; self.positionals = positionals; self.options = options
        self.discussion = discussion; self.subcommands = subcommands; self.run = run
    }

    package func usage(path: String) -> String {
        var text = "USAGE: \(path)"
        if !subcommands.isEmpty {
            text += " <subcommand>\n\n\(summary)\n\nSUBCOMMANDS:\n"
            let width = subcommands.map(\.name.count).max() ?? 0
            for sub in subcommands {
                text += "  \(padded(sub.name, width))  \(sub.summary)\n"
            }
            text += "\nRun '\(path) <subcommand> --help' for the options of each.\n"
            return text
        }
        if !options.isEmpty { text += " [options]" }
        if !positionals.isEmpty { text += " \(positionals)" }
        text += "\n\n\(summary)\n"
        if !discussion.isEmpty { text += "\n\(discussion)\n" }
        let rows = options.map { option -> (String, String) in
            (option.valueName.map { "\(option.name) \($0)" } ?? option.name,
             option.help + (option.repeatable ? " (repeatable)" : ""))
        } + [("--help", "Show this help.")]
        let width = rows.map(\.0.count).max() ?? 0
        text += "\nOPTIONS:\n"
        for (left, right) in rows {
            text += "  \(padded(left, width))  \(right)\n"
        }
        return text
    }
}

package struct UsageError: Error, CustomStringConvertible {
    package var message: String
    package var command: String
    package var description: String { "error: \(message)\nRun '\(command) --help' for usage." }

    package init(message: String, command: String) { self.message = message; self.command = command }
}

/// The parsed flags and positionals of one invocation, with typed accessors that report bad values.
package struct ParsedArguments: Sendable {
    package var commandPath: String
    package var positionals: [String] = []
    package var values: [String: [String]] = [:]
    package var flags: Set<String> = []

    package func flag(_ name: String) -> Bool { flags.contains(name) }
    package func string(_ name: String) -> String? { values[name]?.last }
    package func strings(_ name: String) -> [String] { values[name] ?? [] }

    package func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw UsageError(message: "missing required option \(name)", command: commandPath) }
        return value
    }

    package func int(_ name: String, default defaultValue: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw malformed(name, text, "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    package func uint64(_ name: String, default defaultValue: UInt64) throws -> UInt64 {
        guard let text = string(name) else { return defaultValue }
        guard let value = UInt64(text) else { throw malformed(name, text, "a non-negative integer") }
        return value
    }

    package func double(_ name: String, default defaultValue: Double, range: ClosedRange<Double>) throws -> Double {
        guard let text = string(name) else { return defaultValue }
        guard let value = Double(text), range.contains(value) else {
            throw malformed(name, text, "a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    package func malformed(_ name: String, _ value: String, _ expected: String) -> UsageError {
        UsageError(message: "invalid value '\(value)' for \(name): expected \(expected)", command: commandPath)
    }
}

package enum Parser {
    /// Finds the (sub)command and parses its flags. Returns nil after printing help.
    package static func parse(_ arguments: [String], command: Command, path: String) throws -> (Command, ParsedArguments)? {
        var remaining = arguments[...]
        if !command.subcommands.isEmpty {
            guard let name = remaining.first else {
                print(command.usage(path: path), terminator: "")
                return nil
            }
            if name == "--help" || name == "-h" || name == "help" {
                print(command.usage(path: path), terminator: "")
                return nil
            }
            guard let sub = command.subcommands.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown subcommand '\(name)'; expected one of: \(command.subcommands.map(\.name).joined(separator: ", "))", command: path)
            }
            remaining = remaining.dropFirst()
            return try parse(Array(remaining), command: sub, path: "\(path) \(sub.name)")
        }
        var parsed = ParsedArguments(commandPath: path)
        while let argument = remaining.popFirst() {
            if argument == "--help" || argument == "-h" {
                print(command.usage(path: path), terminator: "")
                return nil
            }
            if argument == "--" { parsed.positionals += remaining; break }
            guard argument.hasPrefix("-"), argument.count > 1, Double(argument) == nil else {
                parsed.positionals.append(argument)
                continue
            }
            var name = argument
            var inlineValue: String?
            if let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                inlineValue = String(argument[argument.index(after: eq)...])
            }
            guard let spec = command.options.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option '\(name)'", command: path)
            }
            if spec.valueName == nil {
                if inlineValue != nil { throw UsageError(message: "option \(name) takes no value", command: path) }
                parsed.flags.insert(name)
                continue
            }
            guard let value = inlineValue ?? remaining.popFirst() else {
                throw UsageError(message: "option \(name) needs a value (\(spec.valueName!))", command: path)
            }
            if !spec.repeatable, parsed.values[name] != nil {
                throw UsageError(message: "option \(name) given more than once", command: path)
            }
            parsed.values[name, default: []].append(value)
        }
        return (command, parsed)
    }
}

/// Writes to standard error, unbuffered.
package func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    var bytes = Array(line.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { break }
            offset += written
        }
    }
}

/// `text` padded with spaces to `width` characters (for aligned columns).
package func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// Runs a command line and exits with its code: what `body` returns, 64 for a usage error (its text
/// on standard error), 1 for any other error (named there). Both executables end this way.
package func exitRunning(_ body: () throws -> Int32) -> Never {
    do {
        exit(try body())
    } catch let error as UsageError {
        printError(error.description)
        exit(64)
    } catch {
        printError("error: \(error)")
        exit(1)
    }
}

/// Parses `arguments` against `command` and runs what they name (0 when they only asked for help).
package func parseAndRun(_ arguments: [String], command: Command, path: String) throws -> Int32 {
    guard let (command, parsed) = try Parser.parse(arguments, command: command, path: path) else { return 0 }
    return try command.run(parsed)
}
