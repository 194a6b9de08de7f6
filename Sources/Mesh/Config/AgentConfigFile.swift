#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SmallFiles

/// The agent's configuration file as written: a JSON object whose fields are all optional, each
/// checked for its JSON type but not yet for meaning (`ResolvedAgentConfig.resolve` does that, reads
/// the files it names and applies defaults). docs/configuration.md documents every field.
///
/// Unknown fields are errors, not ignored: a misspelt `"seed"` would otherwise silently leave the
/// node without seeds. An application that configures the agent from code (docs/embedding.md) builds
/// this value and passes it to `ResolvedAgentConfig.resolve`; tests write it to a file with `jsonText()`.
public struct AgentConfigFile: Hashable, Sendable, Encodable {
    /// This node's ID, 1 to 16 hex digits (e.g. "0000aabbccddeeff"); nil: the MAC's 48-bit value.
    public var nodeID: String?
    /// The MAC the license lists for this host, e.g. "aa:bb:cc:dd:ee:ff"; nil: read from this host's interfaces.
    public var mac: String?
    /// Numeric `ip:port` for gossip (UDP) and state exchange (TCP); nil: "0.0.0.0:7946".
    public var bind: String?
    /// Numeric `ip:port` other agents reach this one at; nil: `bind`, or detected when `bind` is a wildcard.
    public var advertise: String?
    /// Agents to join through, `ip:port` or `dns-name:port`; nil or empty: wait for others to join this one.
    public var seeds: [String]?
    /// 1 to 64 letters, digits, '.', '_' or '-', the same on every agent; nil: "licmesh".
    public var clusterName: String?
    /// Files of 32-byte base64 gossip keys (`licmesh keygen-gossip`): the first encrypts what is sent, all
    /// are accepted. Required unless `insecurePlaintext` is true.
    public var gossipKeyFiles: [String]?
    /// Must be true to run without gossip keys (trusted test networks only); nil: false.
    public var insecurePlaintext: Bool?
    /// The license file from the vendor; required.
    public var licenseFile: String?
    /// The vendor's public key file that verifies the license; required.
    public var vendorPublicKeyFile: String?
    /// The cores this node asks for at start, at least 1; nil: the machine's online CPU count.
    public var cores: Int?
    /// The protocol settings to start from: "lan", "wan" or "local"; nil: "lan".
    public var profile: String?
    /// SWIM `Settings` overrides by field name, e.g. `{"probeInterval": "500ms"}`; checked by
    /// `ResolvedAgentConfig.resolve`.
    public var settings: [String: ConfigValue]?
    /// Licensing overrides (`policy`, `deadGracePeriod`, `requestTimeout`, ...).
    public var licensing: [String: ConfigValue]?
    /// The directory for state that must survive restarts; nil: "/var/lib/licmesh".
    public var dataDir: String?
    /// The local API's numeric TCP `ip:port`, or "off" (socket only); nil: "127.0.0.1:7947".
    public var httpAddress: String?
    /// Path of a unix socket to serve the local API on as well; nil: none.
    public var httpSocket: String?
    /// The socket file's mode as octal text, e.g. "0660" (the default: owner and group may connect).
    public var httpSocketMode: String?
    /// Group name or number given to the socket file; nil: the agent's group.
    public var httpSocketGroup: String?
    /// A file whose first line is the bearer token TCP clients must send; nil: no token.
    public var httpTokenFile: String?
    /// With a token set, whether reads over TCP (status, validate, `/health`, `/metrics`) need none; nil: true.
    public var httpOpenReads: Bool?
    /// The log line format, "logfmt" or "json" (one line per event on standard error); nil: "logfmt".
    public var logFormat: String?
    /// The least severe level logged: "debug", "info", "warn" or "error"; nil: "info".
    public var logLevel: String?

    /// The file this came from (nil when parsed from bytes); relative paths inside resolve against its directory.
    public var path: String?
    /// Fields whose value came from somewhere other than the file (environment variables).
    public var sources: [String: ConfigSource] = [:]

    /// An empty document: every field absent, as in `{}`.
    public init() {}

    /// Every top-level field, in documentation order.
    public static let fieldNames = [
        "nodeID", "mac", "bind", "advertise", "seeds", "clusterName", "gossipKeyFiles", "insecurePlaintext",
        "licenseFile", "vendorPublicKeyFile", "cores", "profile", "settings", "licensing", "dataDir",
        "httpAddress", "httpSocket", "httpSocketMode", "httpSocketGroup", "httpTokenFile", "httpOpenReads", "logFormat", "logLevel",
    ]

    /// The largest file accepted, 1 MiB: a configuration file is a few hundred bytes; anything near this
    /// size is the wrong file.
    public static let maximumFileSize = 1 << 20

    /// Where the value of `field` came from.
    public func source(of field: String) -> ConfigSource { sources[field] ?? .file(path) }

    /// Reads and parses the file at `path`. Environment variables are not applied here: `resolve` does that.
    public static func load(path: String) throws(ConfigError) -> AgentConfigFile {
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path: path, limit: maximumFileSize)
        } catch {
            let fix = error.isMissing ? "check the path given to --config" : "make the file readable by the agent's user"
            throw ConfigError(.unreadableFile, field: "", problem: "cannot be read: \(error.reason)", fix: fix, source: .file(path))
        }
        return try parse(bytes, path: path)
    }

    /// Parses a configuration document. `path` only names the file in errors and anchors relative paths.
    public static func parse(_ bytes: [UInt8], path: String? = nil) throws(ConfigError) -> AgentConfigFile {
        let source = ConfigSource.file(path)
        guard bytes.count <= maximumFileSize else {
            throw ConfigError(.invalidJSON, field: "", problem: "is larger than \(maximumFileSize) bytes", fix: "point --config at the agent's JSON configuration", source: source)
        }
        let root: ConfigValue
        do {
            root = try JSONDecoder().decode(ConfigValue.self, from: Data(bytes))
        } catch {
            throw ConfigError(.invalidJSON, field: "", problem: "is not valid JSON (\(jsonSyntaxProblem(bytes)))",
                              fix: "fix the syntax; the file is one JSON object like {\"bind\": \"0.0.0.0:7946\", \"seeds\": [\"10.0.0.2:7946\"]}", source: source)
        }
        guard case .object(let members) = root else {
            throw ConfigError(.invalidJSON, field: "", value: root.description, problem: "is \(root.typeName), not a JSON object",
                              fix: "write the configuration as one JSON object: {\"bind\": \"0.0.0.0:7946\", ...}", source: source)
        }
        for name in members.keys.sorted() where !fieldNames.contains(name) {
            throw ConfigError(.unknownField, field: name, value: members[name]?.description, problem: "is not a configuration field",
                              fix: suggestion(for: name, among: fieldNames), source: source)
        }
        let reader = FieldReader(members: members, source: source)
        var file = AgentConfigFile()
        file.path = path
        file.nodeID = try reader.string("nodeID", example: "\"0000aabbccddeeff\"")
        file.mac = try reader.string("mac", example: "\"aa:bb:cc:dd:ee:ff\"")
        file.bind = try reader.string("bind", example: "\"0.0.0.0:7946\"")
        file.advertise = try reader.string("advertise", example: "\"10.0.0.5:7946\"")
        file.seeds = try reader.strings("seeds", example: "[\"10.0.0.2:7946\", \"agents.licmesh.svc:7946\"]")
        file.clusterName = try reader.string("clusterName", example: "\"production\"")
        file.gossipKeyFiles = try reader.strings("gossipKeyFiles", example: "[\"/etc/licmesh/gossip.key\"]")
        file.insecurePlaintext = try reader.bool("insecurePlaintext")
        file.licenseFile = try reader.string("licenseFile", example: "\"/etc/licmesh/license.lic\"")
        file.vendorPublicKeyFile = try reader.string("vendorPublicKeyFile", example: "\"/etc/licmesh/vendor.pub\"")
        file.cores = try reader.integer("cores", example: "8")
        file.profile = try reader.string("profile", example: "\"lan\"")
        file.settings = try reader.object("settings", example: "{\"probeInterval\": \"500ms\"}")
        file.licensing = try reader.object("licensing", example: "{\"policy\": \"majority\"}")
        file.dataDir = try reader.string("dataDir", example: "\"/var/lib/licmesh\"")
        file.httpAddress = try reader.string("httpAddress", example: "\"127.0.0.1:7947\"")
        file.httpSocket = try reader.string("httpSocket", example: "\"/run/licmesh/api.sock\"")
        file.httpSocketMode = try reader.string("httpSocketMode", example: "\"0660\"")
        file.httpSocketGroup = try reader.string("httpSocketGroup", example: "\"licmesh\"")
        file.httpTokenFile = try reader.string("httpTokenFile", example: "\"/etc/licmesh/api.token\"")
        file.httpOpenReads = try reader.bool("httpOpenReads")
        file.logFormat = try reader.string("logFormat", example: "\"logfmt\"")
        file.logLevel = try reader.string("logLevel", example: "\"info\"")
        return file
    }

    /// The document as pretty-printed JSON with sorted keys; absent fields are left out.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, numbers and dictionaries of them cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private enum CodingKeys: String, CodingKey {
        case nodeID, mac, bind, advertise, seeds, clusterName, gossipKeyFiles, insecurePlaintext, licenseFile,
             vendorPublicKeyFile, cores, profile, settings, licensing, dataDir, httpAddress, httpSocket, httpSocketMode, httpSocketGroup,
             httpTokenFile, httpOpenReads, logFormat, logLevel
    }

    /// JSONDecoder says only "not valid JSON"; the API's strict reader says what it expected at
    /// which byte (full Foundation's JSONSerialization did too, but the agent does without full
    /// Foundation and ICU). Put first the line and column an editor can jump to.
    private static func jsonSyntaxProblem(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "the file is empty" }
        var detail = "syntax error"
        do {
            _ = try StrictJSONObject(parsing: bytes)
        } catch {
            detail = error.detail
            // The position first, so that shortening a long message never cuts it off.
            if error.offset <= bytes.count {
                var line = 1, column = 1
                for byte in bytes.prefix(error.offset) {
                    if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
                }
                detail = "line \(line), column \(column): " + detail
            }
        }
        return quotedConfigText(detail, limit: 160)
    }
}

/// Reads typed fields out of a JSON object, with errors that name the field and show an example.
struct FieldReader {
    var members: [String: ConfigValue]
    var source: ConfigSource
    /// Prefix for nested objects: "settings." makes errors name "settings.probeInterval".
    var prefix = ""

    private func wrongType(_ name: String, _ value: ConfigValue, expected: String, example: String) -> ConfigError {
        ConfigError(.wrongType, field: prefix + name, value: value.description, problem: "is \(value.typeName), expected \(expected)",
                    fix: "write e.g. \"\(name)\": \(example)", source: source)
    }

    func string(_ name: String, example: String) throws(ConfigError) -> String? {
        guard let value = members[name], value != .null else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, value, expected: "text", example: example) }
        return text
    }

    func strings(_ name: String, example: String) throws(ConfigError) -> [String]? {
        guard let value = members[name], value != .null else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, value, expected: "a list of text", example: example) }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw ConfigError(.wrongType, field: "\(prefix)\(name)[\(index)]", value: item.description,
                                  problem: "is \(item.typeName), expected text", fix: "write e.g. \"\(name)\": \(example)", source: source)
            }
            result.append(text)
        }
        return result
    }

    func bool(_ name: String) throws(ConfigError) -> Bool? {
        guard let value = members[name], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(name, value, expected: "true or false", example: "true (no quotes)") }
        return flag
    }

    func integer(_ name: String, example: String) throws(ConfigError) -> Int? {
        guard let value = members[name], value != .null else { return nil }
        guard case .integer(let number) = value, let result = Int(exactly: number) else {
            throw wrongType(name, value, expected: "a whole number", example: example + " (no quotes)")
        }
        return result
    }

    func number(_ name: String, example: String) throws(ConfigError) -> Double? {
        guard let value = members[name], value != .null else { return nil }
        switch value {
        case .integer(let number): return Double(number)
        case .number(let number): return number
        default: throw wrongType(name, value, expected: "a number", example: example + " (no quotes)")
        }
    }

    func object(_ name: String, example: String) throws(ConfigError) -> [String: ConfigValue]? {
        guard let value = members[name], value != .null else { return nil }
        guard case .object(let nested) = value else { throw wrongType(name, value, expected: "an object", example: example) }
        return nested
    }
}

/// "did you mean 'seeds'?" for a misspelt name, or the list of valid names.
func suggestion(for name: String, among names: [String], what: String = "fields") -> String {
    let lowered = name.lowercased()
    let best = names.map { ($0, editDistance(lowered, $0.lowercased())) }.min { $0.1 < $1.1 }
    if let (candidate, distance) = best, distance <= max(2, candidate.count / 4) {
        return "did you mean '\(candidate)'?"
    }
    return "remove it; the \(what) are " + names.joined(separator: ", ")
}

/// Levenshtein distance, bounded: names longer than 64 characters are compared by their prefix.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars.prefix(64)), y = Array(b.unicodeScalars.prefix(64))
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    var current = previous
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[y.count]
}
