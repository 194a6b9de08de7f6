import Testing
import SWIM
@testable import Licensing

@Suite struct LicenseConsistencyTests {
    @Test func agreementIsNoMismatch() {
        #expect(LicenseConsistency.mismatch(reports: []) == nil)
        #expect(LicenseConsistency.mismatch(reports: [(NodeID(1), "a"), (NodeID(2), "a"), (NodeID(1), "a")]) == nil)
    }

    @Test func mismatchedLicensesAreReportedNodeByNode() throws {
        let reports: [(node: NodeID, licenseID: String)] = [(NodeID(3), "lic-b"), (NodeID(1), "lic-a"), (NodeID(2), "lic-a")]
        let mismatch = try #require(LicenseConsistency.mismatch(reports: reports))
        #expect(mismatch.holdings.map(\.licenseID) == ["lic-a", "lic-b"])
        #expect(mismatch.holdings[0].nodes == [NodeID(1), NodeID(2)])
        #expect(mismatch.assignments.map(\.licenseID) == ["lic-a", "lic-a", "lic-b"])
        let text = mismatch.description
        #expect(text.contains("0000000000000001 -> lic-a, 0000000000000002 -> lic-a, 0000000000000003 -> lic-b"))
        #expect(text.contains("Every license server must have the same license installed"))
        #expect(LicenseError.serversHoldDifferentLicenses(mismatch).description == text)
    }

    @Test func aNodeReportingTwoLicensesIsListedUnderBoth() throws {
        let mismatch = try #require(LicenseConsistency.mismatch(reports: [(NodeID(5), "x"), (NodeID(5), "y")]))
        #expect(mismatch.assignments.count == 2)
        #expect(mismatch.description.contains("0000000000000005 -> x, 0000000000000005 -> y"))
    }
}
