import SWIM

/// Who this node is: the MAC address the license must list, and the SWIM node ID.
///
/// By default both come from the host: the MAC of the first suitable network interface, read from
/// `/sys/class/net/<interface>/address` (`NodeIdentity.resolve` in LicenseTools, which does the file
/// I/O this protocol core does not), and the node ID is that MAC's 48-bit value, so node IDs sort
/// the way MACs do and the authority (lowest live ID) is predictable from the license. Either can
/// be set explicitly (a host with several NICs, a container, a preferred authority).
public struct NodeIdentity: Hashable, Sendable, CustomStringConvertible {
    public let mac: MACAddress
    public let nodeID: NodeID
    /// The interface the MAC was read from; nil when it was given explicitly.
    public let interface: String?

    public init(mac: MACAddress, nodeID: NodeID? = nil, interface: String? = nil) {
        self.mac = mac
        self.nodeID = nodeID ?? Self.nodeID(for: mac)
        self.interface = interface
    }

    /// The default node ID for a MAC: its 48-bit value.
    public static func nodeID(for mac: MACAddress) -> NodeID { NodeID(mac.rawValue) }

    public var description: String {
        "node \(nodeID) (MAC \(mac)" + (interface.map { " from \($0)" } ?? "") + ")"
    }
}
