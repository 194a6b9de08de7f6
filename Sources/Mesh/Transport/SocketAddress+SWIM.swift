import SWIM

extension SocketAddress {
    /// The address as SWIM carries it: the canonical text form.
    public var swimAddress: SWIM.Address { SWIM.Address(description) }

    /// Reads an address a peer advertised. Peers are untrusted: anything that is not a numeric
    /// `host:port` is an error, never a DNS lookup.
    public init(_ address: SWIM.Address) throws(AddressError) {
        try self.init(parsing: address.rawValue)
    }
}
