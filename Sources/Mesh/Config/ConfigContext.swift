#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import LicenseTools
import Licensing

/// What configuration resolution needs from the machine, passed in so that tests control it: the
/// environment, the CPU count, where interface MACs live, and the interfaces' IP addresses.
public struct ConfigContext: Sendable {
    /// Variables whose `LICMESH_*` entries override the file.
    public var environment: [String: String]
    /// The default for `cores`.
    public var cpuCount: Int
    /// Where the host's MAC is looked up when neither `mac` nor `nodeID` is configured.
    public var sysfsRoot: String
    /// Addresses of this host's interfaces, for choosing `advertise` when `bind` is a wildcard.
    public var interfaceAddresses: @Sendable () -> [InterfaceAddress]
    /// Relative paths resolve against this; nil means the configuration file's directory (or the
    /// working directory for a file given as bytes).
    public var baseDirectory: String?

    public init(environment: [String: String] = [:], cpuCount: Int = ConfigContext.onlineCPUCount(),
                sysfsRoot: String = NodeIdentity.defaultSysfsRoot,
                interfaceAddresses: @escaping @Sendable () -> [InterfaceAddress] = InterfaceAddress.current,
                baseDirectory: String? = nil) {
        self.environment = environment
        self.cpuCount = cpuCount
        self.sysfsRoot = sysfsRoot
        self.interfaceAddresses = interfaceAddresses
        self.baseDirectory = baseDirectory
    }

    /// This process's real environment and machine.
    public static func system() -> ConfigContext {
        ConfigContext(environment: ProcessInfo.processInfo.environment)
    }

    /// The machine's online CPUs. Not the cgroup quota: the license counts the cores of the machine
    /// the software may use, and a container's CPU limit can change without the machine changing.
    /// Set `cores` to request something else.
    public static func onlineCPUCount() -> Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}

/// One IP address of a network interface.
public struct InterfaceAddress: Hashable, Sendable {
    public var interface: String
    public var ip: IPAddress
    public var isUp: Bool
    public var isLoopback: Bool

    public init(interface: String, ip: IPAddress, isUp: Bool = true, isLoopback: Bool = false) {
        self.interface = interface
        self.ip = ip
        self.isUp = isUp
        self.isLoopback = isLoopback || ip.isLoopback
    }

    /// This host's interface addresses in the kernel's order (getifaddrs).
    @Sendable public static func current() -> [InterfaceAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var result: [InterfaceAddress] = []
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            let length: Int
            switch family {
            case AF_INET: length = MemoryLayout<sockaddr_in>.size
            case AF_INET6: length = MemoryLayout<sockaddr_in6>.size
            default: continue
            }
            guard let socketAddress = SocketAddress(pointer: address, length: socklen_t(length)) else { continue }
            let flags = current.pointee.ifa_flags
            let name = current.pointee.ifa_name.map { String(cString: $0) } ?? "?"
            result.append(InterfaceAddress(interface: name, ip: socketAddress.ip,
                                           isUp: flags & UInt32(IFF_UP) != 0,
                                           isLoopback: flags & UInt32(IFF_LOOPBACK) != 0))
        }
        return result
    }

    /// The address to advertise for a wildcard bind of `family`: among interfaces that are up, not
    /// loopback and not link-local, the first private address (10/8, 172.16/12, 192.168/16, 100.64/10,
    /// fc00::/7) in the kernel's interface order, else the first other one. Like memberlist, private
    /// first: on a host with a public and a private NIC the cluster usually talks privately.
    public static func advertisable(_ addresses: [InterfaceAddress], family: IPAddress.Family) -> InterfaceAddress? {
        let usable = addresses.filter { $0.isUp && !$0.isLoopback && $0.ip.family == family && !$0.ip.isLinkLocal && !$0.ip.isWildcard }
        return usable.first { $0.ip.isPrivate } ?? usable.first
    }
}

extension IPAddress {
    /// 169.254/16 or fe80::/10: valid on one link only, useless to advertise.
    var isLinkLocal: Bool {
        switch self {
        case .v4(let bits): return bits >> 16 == 0xA9FE
        case .v6(let high, _, _): return high >> 54 == 0x3FA
        }
    }

    /// RFC 1918, carrier-grade NAT (RFC 6598) and IPv6 unique local addresses.
    var isPrivate: Bool {
        switch self {
        case .v4(let bits):
            return bits >> 24 == 10 || bits >> 20 == 0xAC1 || bits >> 16 == 0xC0A8 || bits >> 22 == (100 << 2 | 1)
        case .v6(let high, _, _):
            return high >> 57 == 0x7E
        }
    }
}
