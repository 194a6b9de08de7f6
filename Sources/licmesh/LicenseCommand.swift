#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LicenseTools
import Licensing
import ArgumentParsing

/// `licmesh license ...`: vendor key generation, issuing, verifying and inspecting licenses.
/// Thin on purpose: the logic and its tests live in `Licensing.LicenseTool`; this file parses flags,
/// reads the clock and prints.
let licenseCommand = Command(
    name: "license",
    summary: "Create vendor keys; issue, verify and inspect signed license files.",
    subcommands: [licenseKeygenCommand, licenseIssueCommand, licenseVerifyCommand, licenseInspectCommand]
)

private let licenseKeygenCommand = Command(
    name: "keygen",
    summary: "Create an Ed25519 vendor key pair: DIR/vendor.key (secret, mode 0600) and DIR/vendor.pub.",
    options: [.value("--out", "DIR", "Directory for the key files (created if missing). Existing key files are never overwritten.")],
    run: { arguments in
        try noPositionals(arguments)
        return emit(LicenseTool.keygen(directory: try arguments.required("--out")))
    }
)

private let licenseIssueCommand = Command(
    name: "issue",
    summary: "Sign a license for a cluster with the vendor private key.",
    options: [
        .value("--key", "FILE", "Vendor private key (vendor.key from 'licmesh license keygen')."),
        .value("--licensee", "NAME", "Customer name."),
        .value("--max-cores", "N", "CPU cores the whole cluster may use at once (> 0)."),
        .value("--host", "MAC", "MAC address of a machine allowed in the cluster.", repeatable: true),
        .value("--server", "MAC", "MAC address of a machine allowed to act as license server.", repeatable: true),
        .value("--expires", "DATE", "End of validity (exclusive)."),
        .value("--not-before", "DATE", "Start of validity (default: the issue time)."),
        .value("--feature", "NAME", "A licensed feature.", repeatable: true),
        .value("--id", "ID", "License id (default: derived from the license's SHA-256)."),
        .value("--out", "FILE", "Where to write the license file."),
        .flag("--force", "Replace FILE if it exists."),
    ],
    discussion: """
        DATE is YYYY-MM-DD (UTC midnight) or RFC 3339 (2027-01-31T12:00:00Z). MAC is aa:bb:cc:dd:ee:ff
        (upper case and dashes accepted). Every --server must also be given as --host; give at least two
        servers, or failover is impossible. The license id is derived from the contents unless --id is given.
        """,
    run: { arguments in
        try noPositionals(arguments)
        let request = LicenseIssueRequest(
            licensee: try arguments.required("--licensee"),
            maxCores: try arguments.required("--max-cores"),
            hosts: arguments.strings("--host"),
            servers: arguments.strings("--server"),
            expires: try arguments.required("--expires"),
            notBefore: arguments.string("--not-before"),
            features: arguments.strings("--feature"),
            id: arguments.string("--id"))
        return emit(LicenseTool.issue(request, keyPath: try arguments.required("--key"), outPath: try arguments.required("--out"),
                                      now: LicenseDate(Date()), overwrite: arguments.flag("--force")))
    }
)

private let licenseVerifyCommand = Command(
    name: "verify",
    summary: "Check a license file's signature and dates (and, with --mac, that a node is listed). Exit 0 when valid.",
    positionals: "FILE",
    options: [
        .value("--pubkey", "FILE", "Vendor public key (vendor.pub)."),
        .value("--mac", "MAC", "Also check that this MAC address is one of the license's hosts."),
    ],
    run: { arguments in
        let file = try onePositional(arguments, "FILE")
        return emit(LicenseTool.verify(licensePath: file, publicKeyPath: try arguments.required("--pubkey"),
                                       mac: arguments.string("--mac"), now: LicenseDate(Date())))
    }
)

private let licenseInspectCommand = Command(
    name: "inspect",
    summary: "Print a license file's fields. Does not check the signature (see 'verify').",
    positionals: "FILE",
    run: { arguments in
        emit(LicenseTool.inspect(licensePath: try onePositional(arguments, "FILE")))
    }
)

private func emit(_ result: LicenseToolOutput) -> Int32 {
    if !result.output.isEmpty { print(result.output, terminator: "") }
    if !result.errors.isEmpty { printError(result.errors) }
    return result.status
}

private func noPositionals(_ arguments: ParsedArguments) throws {
    if let extra = arguments.positionals.first {
        throw UsageError(message: "unexpected argument '\(extra)'", command: arguments.commandPath)
    }
}

private func onePositional(_ arguments: ParsedArguments, _ name: String) throws -> String {
    guard arguments.positionals.count == 1 else {
        throw UsageError(message: arguments.positionals.isEmpty ? "missing \(name)" : "expected one \(name), got \(arguments.positionals.count) arguments",
                         command: arguments.commandPath)
    }
    return arguments.positionals[0]
}
