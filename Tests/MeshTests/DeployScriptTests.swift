import Foundation
import Testing

/// The deployment files are checked where the test suite runs: the Kubernetes manifests against the API
/// schemas (when kubernetes-validate installs from PyPI within a minute), and the `ip netns` scripts
/// (when the suite runs as root where namespaces work). Each prints why when it skips.
@Suite struct DeployScriptTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ script: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.root.appendingPathComponent(script).path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func kubernetesManifestsValidateOffline() throws {
        let (status, output) = try run("Deploy/kubernetes/validate.sh")
        print(output.split(separator: "\n").last.map(String.init) ?? "")
        #expect(status == 0, "\(output)")
        #expect(output.contains(" 0 failed") || output.contains("skipped"), "\(output)")
    }

    @Test func networkNamespaceScriptsWorkAndCleanUp() throws {
        let (status, output) = try run("Deploy/netns/selftest.sh")
        print(output.split(separator: "\n").last.map(String.init) ?? "")
        #expect(status == 0, "\(output)")
        #expect(output.contains(" 0 failed") || output.contains("skipped"), "\(output)")
    }
}
