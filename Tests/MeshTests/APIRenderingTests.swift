import Foundation
import Licensing
@testable import Mesh
import Testing

/// What `licmesh status`, `members` and `ledger` print, as pure functions of the agent's answers.
@Suite struct APIRenderingTests {
    @Test func statusShowsHeaderAndASortedAlignedTable() {
        let expected = """
            Node       00000000000000a1  10.0.0.1:7946  cluster prod
            Authority  00000000000000a1 at 10.0.0.1:7946 (this node), epoch 3
            License    LIC-2025-0042 for Acme Corp: 6 of 16 cores in use, this node holds 2; expires 2027-01-01T00:00:00Z; policy majority
            Members    3: 1 alive, 1 SUSPECT, 1 DEAD
            Health     HEALTHY

            NODE              ADDRESS         STATE    INCARNATION  CORES  ROLE
            000000000000000f  10.0.0.15:7946  DEAD              12      0
            00000000000000a1  10.0.0.1:7946   alive              0      2  authority, this node
            00000000000000a2  10.0.0.2:7946   SUSPECT            3      4
                                                             total      6  of 16 licensed

            """
        #expect(AgentStatusRendering.status(APIFixtures.healthyStatus()) == expected)
    }

    @Test func unhealthyStatusSaysSoAndListsTheProblems() {
        let status = APIFixtures.unlicensedStatus()
        let text = AgentStatusRendering.status(status)
        #expect(text.contains("Health     UNHEALTHY\n             - not licensed: \(LicensingMessages.invalidMultiServerLicense)"))
        #expect(!text.contains("HEALTHY\n\n"), "never HEALTHY for an unlicensed node")
    }

    @Test func withoutLicenseOrAuthorityTheHeaderSaysNone() {
        var status = APIFixtures.healthyStatus()
        status.license = nil
        status.authority = nil
        status.isAuthority = false
        status.members = status.members.map { var member = $0; member.isAuthority = false; return member }
        let text = AgentStatusRendering.status(status)
        #expect(text.contains("Authority  NONE: no license authority known (epoch 3)\n"))
        #expect(text.contains("License    NONE installed"))
        #expect(text.contains("total      6  no license\n"))
        #expect(!text.contains("authority,"))
    }

    @Test func licenseProblemsAndAMismatchedLedgerTotalAreShown() {
        var status = APIFixtures.healthyStatus()
        status.license?.problems = ["only one license server is listed: failover needs at least two"]
        status.coresInUse = 9  // a grant of a node no longer in the member list
        let text = AgentStatusRendering.status(status)
        #expect(text.contains("License warnings:\n             - only one license server is listed"))
        #expect(text.contains("total      6  of 16 licensed; the ledger counts 9 in all\n"))
    }

    @Test func everyTableColumnStartsAtTheSameOffsetInEveryRow() {
        var status = APIFixtures.healthyStatus()
        status.members.append(MemberStatus(
            id: "00000000000000b0", address: "[fd00::b0]:7946", state: "left", incarnation: 123_456, mac: nil, licenseID: nil,
            cores: 128, isAuthority: false, isSelf: false))
        let text = AgentStatusRendering.status(status)
        let lines = text.split(separator: "\n").map(String.init)
        guard let headerIndex = lines.firstIndex(where: { $0.hasPrefix("NODE") }) else {
            Issue.record("no table header in:\n\(text)")
            return
        }
        let header = lines[headerIndex]
        let rows = lines[(headerIndex + 1)..<(lines.count - 1)]
        #expect(rows.count == 4)
        // Left-aligned columns start under their titles; right-aligned ones end under them.
        for (title, value) in [("ADDRESS", "[fd00::b0]:7946"), ("STATE", "left")] {
            let column = header.distance(from: header.startIndex, to: header.range(of: title)!.lowerBound)
            let row = rows.first { $0.contains(value) }!
            #expect(row.distance(from: row.startIndex, to: row.range(of: value)!.lowerBound) == column, "\(title)")
        }
        for (title, value) in [("INCARNATION", "123456"), ("CORES", "128")] {
            let end = header.distance(from: header.startIndex, to: header.range(of: title)!.upperBound)
            let row = rows.first { $0.contains(value) }!
            #expect(row.distance(from: row.startIndex, to: row.range(of: value)!.upperBound) == end, "\(title)")
        }
        #expect(rows.map { String($0.prefix(16)) } == ["000000000000000f", "00000000000000a1", "00000000000000a2", "00000000000000b0"])
        #expect(lines.last?.hasSuffix("134  of 16 licensed; the ledger counts 6 in all") == true)
        #expect(!text.contains(" \n"), "no trailing spaces")
    }

    @Test func membersAndLedgerRenderings() {
        let status = APIFixtures.healthyStatus()
        let members = AgentStatusRendering.members(MembersReport(status))
        #expect(members.hasPrefix("Members of cluster prod as node 00000000000000a1 sees them; authority 00000000000000a1 at 10.0.0.1:7946 (this node), epoch 3\n\nNODE "))
        #expect(members.hasSuffix(AgentStatusRendering.status(status).components(separatedBy: "\n\n").last!))

        let expectedLedger = """
            Ledger of cluster prod as node 00000000000000a1 holds it; authority 00000000000000a1, epoch 3

            NODE              CORES  STAMP  NOTE
            00000000000000a1      2  3/7    authority, this node
            00000000000000a2      4  3/9
            total                 6         of 16 licensed

            """
        #expect(AgentStatusRendering.ledger(LedgerReport(status)) == expectedLedger)

        var empty = status
        empty.ledger = []
        empty.coresInUse = 0
        #expect(AgentStatusRendering.ledger(LedgerReport(empty)).hasSuffix("\n\n(no grants)\n"))
    }

    @Test func jsonRenderingIsPrettySortedAndRoundTrips() throws {
        let status = APIFixtures.healthyStatus()
        let text = AgentStatusRendering.json(status)
        #expect(try JSONDecoder().decode(AgentStatus.self, from: Data(text.utf8)) == status)
        #expect(text.hasPrefix("{\n  \"address\" : \"10.0.0.1:7946\",\n  \"authority\" : \"00000000000000a1\","))
        #expect(text.hasSuffix("}\n"))

        var unlicensed = status
        unlicensed.license = nil
        let ledger = AgentStatusRendering.json(LedgerReport(unlicensed))
        #expect(ledger.contains("\"maxCores\" : null"), "absent values are null, so every answer has the same keys")
        #expect(try JSONDecoder().decode(LedgerReport.self, from: Data(ledger.utf8)) == LedgerReport(unlicensed))
    }

    @Test func exitCodes() {
        #expect(StatusExitCode.of(APIFixtures.healthyStatus()) == 0)
        #expect(StatusExitCode.of(APIFixtures.unlicensedStatus()) == 1)
        var inconsistent = APIFixtures.healthyStatus()
        inconsistent.licensed = false  // says healthy, but is not licensed: not healthy
        #expect(StatusExitCode.of(inconsistent) == 1)
        var notJoined = APIFixtures.healthyStatus()
        notJoined.joined = false
        #expect(StatusExitCode.of(notJoined) == 1)

        let address = HTTPEndpoint.tcp(AgentAPIConfiguration.defaultAddress)
        #expect(AgentAPIClientError.unreachable(address: address, reason: "connection refused").exitCode == 2)
        #expect(AgentAPIClientError.unexpectedAnswer(address: address, reason: "not JSON").exitCode == 2)
        #expect(AgentAPIClientError.agentError(address: address, status: 503, message: "stuck").exitCode == 1)
    }

    @Test func theAddressComesFromTheFlagThenTheEnvironmentThenTheDefault() throws {
        #expect(try AgentAPIClient.address(flag: nil, environment: [:]) == .tcp(.loopbackV4(port: 7947)))
        #expect(try AgentAPIClient.address(flag: nil, environment: ["LICMESH_HTTP": "127.0.0.1:9000"]) == .tcp(.loopbackV4(port: 9000)))
        #expect(try AgentAPIClient.address(flag: "127.0.0.2:9100", environment: ["LICMESH_HTTP": "127.0.0.1:9000"])
            == .tcp(SocketAddress(parsing: "127.0.0.2:9100")))
        #expect(try AgentAPIClient.address(flag: "localhost:7947", environment: [:]) == .tcp(.loopbackV4(port: 7947)), "IPv4 first")
        #expect(try AgentAPIClient.address(flag: "unix:/run/licmesh/api.sock", environment: [:]) == .unix(path: "/run/licmesh/api.sock"))
        #expect(try AgentAPIClient.address(flag: nil, environment: ["LICMESH_HTTP": "/run/x.sock"]) == .unix(path: "/run/x.sock"))
        #expect(throws: AddressError.self) { try AgentAPIClient.address(flag: "unix:relative.sock", environment: [:]) }
        #expect(throws: AddressError.self) { try AgentAPIClient.address(flag: "no-port", environment: [:]) }
    }
}
