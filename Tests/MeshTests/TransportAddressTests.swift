@testable import Mesh
import SWIM
import Testing

extension TransportTests {
    @Suite struct Addresses {
        @Test(arguments: ["127.0.0.1:7946", "0.0.0.0:0", "10.20.30.40:65535", "[::1]:7946", "[fd00::5]:1", "[2001:db8::8:800:200c:417a]:443", "[::]:0"])
        func canonicalTextRoundTrips(text: String) throws {
            let address = try SocketAddress(parsing: text)
            #expect(address.description == text)
            #expect(try SocketAddress(address.swimAddress) == address)
            #expect(address.swimAddress.rawValue == text)
        }

        @Test func parsesFieldsAndFamilies() throws {
            let v4 = try SocketAddress(parsing: "192.168.1.2:7946")
            #expect(v4.ip == .v4(0xC0A8_0102))
            #expect(v4.port == 7946)
            #expect(v4.family == .ipv4)
            let v6 = try SocketAddress(parsing: "[::1]:80")
            #expect(v6.ip == .loopbackV6 && v6.family == .ipv6 && v6.port == 80)
            #expect(v6.ip.isLoopback && IPAddress.loopbackV4.isLoopback && !IPAddress.anyV4.isLoopback)
            #expect(IPAddress.anyV6.isWildcard && IPAddress.anyV4.isWildcard && !IPAddress.loopbackV6.isWildcard)
            #expect(SocketAddress.loopbackV4(port: 9).description == "127.0.0.1:9")
            #expect(SocketAddress.anyV6(port: 9).description == "[::]:9")
        }

        @Test func nonCanonicalIPv6IsPrintedCompressedAndLowercase() throws {
            #expect(try SocketAddress(parsing: "[FD00:0:0:0:0:0:0:5]:7946").description == "[fd00::5]:7946")
            #expect(try SocketAddress(parsing: "[::ffff:10.0.0.1]:1").description == "[::ffff:10.0.0.1]:1")
        }

        @Test func randomAddressesRoundTripThroughText() throws {
            var random = SeededGenerator(seed: 0x5EED)
            for _ in 0..<2_000 {
                let ip: IPAddress = random.next() % 2 == 0
                    ? .v4(UInt32(truncatingIfNeeded: random.next()))
                    : .v6(high: random.next() & (random.next() % 2 == 0 ? 0xFFFF_0000_FFFF_FFFF : .max), low: random.next(), scopeID: 0)
                let address = SocketAddress(ip: ip, port: UInt16(truncatingIfNeeded: random.next()))
                #expect(try SocketAddress(parsing: address.description) == address, "\(address)")
            }
        }

        @Test(arguments: [
            ("", "expected host:port"),
            ("127.0.0.1", "expected host:port"),
            ("127.0.0.1:", "port '' is not a number"),
            ("127.0.0.1:65536", "port '65536' is not a number from 0 to 65535"),
            ("127.0.0.1:-1", "port '-1'"),
            ("127.0.0.1:+80", "port '+80'"),
            ("127.0.0.1:80x", "port '80x'"),
            ("127.0.0.1:000000080", "port '000000080'"),
            (":7946", "the host is empty"),
            ("::1:7946", "IPv6 addresses need brackets"),
            ("[::1]", "expected ':port' after ']'"),
            ("[::1]7946", "expected ':port' after ']'"),
            ("[::1:7946", "missing ']'"),
            ("[127.0.0.1]:80", "brackets are only for IPv6"),
            ("256.0.0.1:80", "not a numeric IPv4 or IPv6 address"),
            ("1.2.3:80", "not a numeric"),
            ("agents.licmesh.svc:7946", "resolve host names with DNS first"),
            ("[fe80::1%nosuchinterface0]:80", "not a numeric"),
            ("[::1\u{0}]:80", "not a numeric"),
        ])
        func rejectsMalformedText(text: String, problem: String) {
            #expect {
                try SocketAddress(parsing: text)
            } throws: { error in
                let description = String(describing: error)
                return description.hasPrefix("invalid address '\(text)': ") && description.contains(problem)
            }
        }

        @Test func rejectsOverlongTextWithoutEchoingAllOfIt() {
            let text = String(repeating: "1", count: 10_000) + ":80"
            #expect {
                try SocketAddress(parsing: text)
            } throws: { error in
                let description = String(describing: error)
                return description.contains("longer than 255 bytes") && description.count < 200
            }
        }

        @Test func swimAddressFromAPeerMustBeNumeric() {
            #expect(throws: AddressError.self) { try SocketAddress(SWIM.Address("localhost:7946")) }
            #expect(throws: AddressError.self) { try SocketAddress(SWIM.Address("3")) }  // a simulator address
        }

        @Test func resolvesLocalhostToLoopbackAddresses() throws {
            let addresses = try SocketAddress.resolve("localhost:7946")
            #expect(!addresses.isEmpty)
            #expect(addresses.allSatisfy { $0.ip.isLoopback && $0.port == 7946 })
            #expect(Set(addresses).count == addresses.count, "duplicates: \(addresses)")
            let v4Only = try SocketAddress.resolve("localhost:1", family: .ipv4)
            #expect(v4Only == [.loopbackV4(port: 1)])
        }

        @Test func resolvingALiteralNeedsNoDNS() throws {
            #expect(try SocketAddress.resolve("10.0.0.7:7946") == [try SocketAddress(parsing: "10.0.0.7:7946")])
            #expect(try SocketAddress.resolve("[fd00::7]:7946") == [try SocketAddress(parsing: "[fd00::7]:7946")])
            #expect(throws: AddressError.self) { try SocketAddress.resolve("[fd00::7]:7946", family: .ipv4) }
            #expect(throws: AddressError.self) { try SocketAddress.resolve("localhost") }
        }
    }
}
