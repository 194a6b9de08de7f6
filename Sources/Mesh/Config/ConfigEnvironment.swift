/// Environment-variable overrides, for containers where mounting a file per node is awkward: the
/// orchestrator sets `LICMESH_NODE_ID`, `LICMESH_ADVERTISE` from the pod IP, and so on. A variable
/// that is set replaces the file's field; an empty variable counts as set (and then usually fails
/// validation, which is better than being silently ignored).
extension AgentConfigFile {
    public enum EnvironmentValueKind: Sendable {
        /// The text as is.
        case text
        /// Comma-separated; spaces around items and empty items are dropped.
        case list
        case boolean
        case integer
    }

    /// Each variable, the field it overrides, and how its text is read.
    public static let environmentVariables: [(variable: String, field: String, kind: EnvironmentValueKind)] = [
        ("LICMESH_NODE_ID", "nodeID", .text),
        ("LICMESH_MAC", "mac", .text),
        ("LICMESH_BIND", "bind", .text),
        ("LICMESH_ADVERTISE", "advertise", .text),
        ("LICMESH_SEEDS", "seeds", .list),
        ("LICMESH_CLUSTER", "clusterName", .text),
        ("LICMESH_GOSSIP_KEY_FILES", "gossipKeyFiles", .list),
        ("LICMESH_INSECURE_PLAINTEXT", "insecurePlaintext", .boolean),
        ("LICMESH_LICENSE_FILE", "licenseFile", .text),
        ("LICMESH_VENDOR_PUBLIC_KEY_FILE", "vendorPublicKeyFile", .text),
        ("LICMESH_CORES", "cores", .integer),
        ("LICMESH_PROFILE", "profile", .text),
        ("LICMESH_DATA_DIR", "dataDir", .text),
        ("LICMESH_HTTP", "httpAddress", .text),
        ("LICMESH_HTTP_SOCKET", "httpSocket", .text),
        ("LICMESH_HTTP_TOKEN_FILE", "httpTokenFile", .text),
        ("LICMESH_HTTP_OPEN_READS", "httpOpenReads", .boolean),
        ("LICMESH_LOG_FORMAT", "logFormat", .text),
        ("LICMESH_LOG_LEVEL", "logLevel", .text),
    ]

    public static let environmentPrefix = "LICMESH_"

    /// This file with every set `LICMESH_*` variable applied over it. `environment` is passed in (not
    /// read here) so that tests need not touch the process environment. Unknown `LICMESH_*`
    /// variables are returned as warnings, not errors: other tools may share the prefix.
    public func applyingEnvironment(_ environment: [String: String]) throws(ConfigError) -> (file: AgentConfigFile, warnings: [String]) {
        var file = self
        var warnings: [String] = []
        let known = Self.environmentVariables.map(\.variable)
        for name in environment.keys.sorted() where name.hasPrefix(Self.environmentPrefix) && !known.contains(name) {
            warnings.append("environment variable \(quotedConfigText(name)) is not a configuration override and is ignored; "
                + suggestion(for: name, among: known, what: "overrides"))
        }
        for (variable, field, kind) in Self.environmentVariables {
            guard let text = environment[variable] else { continue }
            let source = ConfigSource.environment(variable)
            switch kind {
            case .text:
                file.setText(field, text)
            case .list:
                let items = text.split(separator: ",").map { String($0).trimmingConfigWhitespace() }.filter { !$0.isEmpty }
                if field == "seeds" { file.seeds = items } else { file.gossipKeyFiles = items }
            case .boolean:
                let value: Bool
                switch text.trimmingConfigWhitespace().lowercased() {
                case "true", "1", "yes": value = true
                case "false", "0", "no", "": value = false
                default:
                    throw ConfigError(.wrongType, field: field, value: "'\(quotedConfigText(text))'", problem: "is not a boolean",
                                      fix: "set \(variable)=true or \(variable)=false", source: source)
                }
                if field == "httpOpenReads" { file.httpOpenReads = value } else { file.insecurePlaintext = value }
            case .integer:
                guard let number = Int(text.trimmingConfigWhitespace()) else {
                    throw ConfigError(.wrongType, field: field, value: "'\(quotedConfigText(text))'", problem: "is not a whole number",
                                      fix: "set e.g. \(variable)=8", source: source)
                }
                file.cores = number
            }
            file.sources[field] = source
        }
        return (file, warnings)
    }

    private mutating func setText(_ field: String, _ text: String) {
        switch field {
        case "nodeID": nodeID = text
        case "mac": mac = text
        case "bind": bind = text
        case "advertise": advertise = text
        case "clusterName": clusterName = text
        case "licenseFile": licenseFile = text
        case "vendorPublicKeyFile": vendorPublicKeyFile = text
        case "profile": profile = text
        case "dataDir": dataDir = text
        case "httpAddress": httpAddress = text
        case "httpSocket": httpSocket = text
        case "httpTokenFile": httpTokenFile = text
        case "logFormat": logFormat = text
        case "logLevel": logLevel = text
        default: assertionFailure("no text field \(field)")
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmingConfigWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
