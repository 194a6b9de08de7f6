import Testing
@testable import Licensing

@Suite struct LicenseMACAddressTests {
    @Test(arguments: ["aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "Aa-bB-cC-Dd-eE-Ff", "  aa:bb:cc:dd:ee:ff\n"])
    func acceptedSpellingsAllCanonicalise(text: String) throws {
        let mac = try MACAddress(parsing: text)
        #expect(mac.description == "aa:bb:cc:dd:ee:ff")
        #expect(mac.rawValue == 0xaabb_ccdd_eeff)
        #expect(mac.octets == [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
    }

    @Test(arguments: ["", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:fg", "aa:bb-cc:dd:ee:ff",
                      "aabbccddeeff", "a:bb:cc:dd:ee:fff", "aa.bb.cc.dd.ee.ff", "zz:zz:zz:zz:zz:zz", "aa:bb:cc:dd:ee:f\u{0}",
                      "ａa:bb:cc:dd:ee:ff", String(repeating: "x", count: 10_000)])
    func garbageIsRejectedWithAClearMessage(text: String) {
        #expect {
            try MACAddress(parsing: text)
        } throws: { error in
            guard let error = error as? MACAddressError else { return false }
            let description = error.description
            return description.contains("invalid MAC address") && description.contains("aa:bb:cc:dd:ee:ff")
                && description.count < 400 && !description.contains("\u{0}")
        }
    }

    @Test func orderIsNumericAndMatchesNodeIDOrder() throws {
        let low = try MACAddress(parsing: "00:00:00:00:00:09")
        let high = try MACAddress(parsing: "00:00:00:00:01:00")
        #expect(low < high)
        #expect(NodeIdentity.nodeID(for: low) < NodeIdentity.nodeID(for: high))
        #expect(NodeIdentity.nodeID(for: high).rawValue == 0x100)
    }

    @Test func rawValueAndOctetsRoundTripAndAreBounded() {
        #expect(MACAddress(rawValue: 0x1_0000_0000_0000) == nil)
        #expect(MACAddress(rawValue: 0xffff_ffff_ffff)?.description == "ff:ff:ff:ff:ff:ff")
        #expect(MACAddress(octets: [1, 2, 3, 4, 5, 6])?.description == "01:02:03:04:05:06")
        #expect(MACAddress(octets: [1, 2, 3]) == nil)
        #expect(MACAddress(rawValue: 0)?.isZero == true)
    }
}
