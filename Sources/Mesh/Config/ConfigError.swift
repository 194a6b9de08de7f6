import Licensing
/// Why a configuration cannot be used: which field, the value found there, what is wrong with it and
/// how to fix it. The agent prints `description` and exits non-zero before binding anything, e.g.
///
///     config field 'bind': 'localhost' is not host:port; write e.g. "0.0.0.0:7946"
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// The configuration file (or a file it names) cannot be opened or read.
        case unreadableFile
        /// The configuration file is not a JSON object.
        case invalidJSON
        /// A field (or settings key, or LICMESH_ variable) nobody reads: most likely a typo.
        case unknownField
        /// A JSON value of the wrong type (a number where text was expected, ...).
        case wrongType
        case badDuration
        case badAddress
        /// A file the configuration names does not exist.
        case missingFile
        /// Neither gossip keys nor `insecurePlaintext: true`.
        case plaintextNotExplicit
        case badProfile
        /// The SWIM or licensing settings, after overrides, cannot work together.
        case invalidSettings
        /// A value of the right type that is still unusable (zero cores, a bad MAC, ...).
        case badValue
        /// A required field is absent.
        case missingField
    }

    public var kind: Kind
    /// `bind`, `settings.probeTimeout`, `gossipKeyFiles[1]`; empty for problems with the whole file.
    public var field: String
    /// The offending value as the operator wrote it (strings in single quotes), bounded and printable.
    public var value: String?
    public var problem: String
    public var fix: String
    /// Where the field's value came from.
    public var source: ConfigSource

    public init(_ kind: Kind, field: String, value: String? = nil, problem: String, fix: String, source: ConfigSource = .file(nil)) {
        self.kind = kind
        self.field = field
        self.value = value
        self.problem = problem
        self.fix = fix
        self.source = source
    }

    public var description: String {
        var subject: String
        if field.isEmpty {
            if case .file(let path?) = source { subject = "config file '\(quotedConfigText(path, limit: 200))'" } else { subject = "config" }
        } else {
            subject = "config field '\(field)'"
            if case .environment(let name) = source { subject += " (from environment variable \(name))" }
        }
        let what = value.map { "\($0) \(problem)" } ?? problem
        return "\(subject): \(what); \(fix)"
    }
}

/// Where a configuration value came from, so that an error points at the place to fix.
public enum ConfigSource: Hashable, Sendable {
    /// The configuration file (nil: given as bytes, not read from a path).
    case file(String?)
    case environment(String)
    /// Nothing was given; a built-in default or a detected value was used.
    case defaulted
}

/// Untrusted text made safe to echo in a message: control characters escaped, at most `limit` characters.
func quotedConfigText(_ text: String, limit: Int = 80) -> String { printable(text, limit: limit) }
