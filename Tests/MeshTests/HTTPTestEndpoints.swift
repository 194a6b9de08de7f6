@testable import Mesh
import SWIM

// The servers under test listen on TCP unless a test says otherwise. Port 1 stands in for a server
// without TCP: nothing listens there, so such a mistake fails the test at its first request instead
// of trapping the whole test process.
extension HTTPServer {
    var address: SocketAddress { localAddress ?? .loopbackV4(port: 1) }
}

extension AgentHTTPAPI {
    var address: SocketAddress { localAddress ?? .loopbackV4(port: 1) }
}
