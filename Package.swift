// swift-tools-version:6.0
// LicenseMesh: license-server failover over SWIM gossip. No package dependencies by design:
// everything here is the Swift toolchain plus OpenSSL's libcrypto (through the CCrypto system library)
// and Linux's own headers (CLinux).
import PackageDescription

let package = Package(
    name: "LicenseMesh",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SWIM", targets: ["SWIM"]),
        .library(name: "Licensing", targets: ["Licensing"]),
        .library(name: "LicenseTools", targets: ["LicenseTools"]),
        .library(name: "Mesh", targets: ["Mesh"]),
        .executable(name: "licmesh", targets: ["licmesh"]),
        .executable(name: "licmesh-bench", targets: ["licmesh-bench"]),
    ],
    targets: [
        // OpenSSL libcrypto: AES-256-GCM, Ed25519, SHA-256, secure random. Never our own primitives.
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        // Linux headers the Glibc module leaves out: epoll for the HTTP API's event loop, prctl to name
        // threads. No library.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        // Bounded reads and atomic writes of small files, with errors that name the path and errno:
        // the one file reader of keys, licenses, configuration, sysfs and the data directory.
        .target(name: "SmallFiles"),
        // Thin, safe Swift wrappers over CCrypto.
        .target(name: "Crypto", dependencies: ["CCrypto"]),
        // The membership protocol as a pure state machine: no I/O, no clock, no threads.
        .target(name: "SWIM"),
        // Binary encoding of every message and the authenticated-encryption envelope.
        .target(name: "Wire", dependencies: ["SWIM", "Crypto", "SmallFiles"], exclude: ["FORMAT.md"]),
        // License documents, the replicated core ledger and the authority; pure like SWIM.
        .target(name: "Licensing", dependencies: ["SWIM", "Crypto"]),
        // The file I/O around Licensing: license and key files, the vendor's `licmesh license` tool,
        // and this host's MAC from sysfs.
        .target(name: "LicenseTools", dependencies: ["SWIM", "Licensing", "Crypto", "SmallFiles"]),
        // Deterministic network and virtual clock driving many instances in one process.
        .target(name: "Simulation", dependencies: ["SWIM", "Licensing"]),
        // The runtime: sockets, timers, the agent, the local HTTP API.
        .target(name: "Mesh", dependencies: ["SWIM", "Wire", "Licensing", "LicenseTools", "Crypto", "CLinux", "SmallFiles"]),
        // The command-line parser both executables share.
        .target(name: "ArgumentParsing"),
        // Starts and watches `licmesh agent` processes on loopback: what the demo and the benchmarks
        // share. FoundationEssentials at most, because the demo is part of licmesh.
        .target(name: "AgentHarness", dependencies: ["Licensing", "LicenseTools", "Mesh", "SmallFiles"]),
        .executableTarget(name: "licmesh", dependencies: ["SWIM", "Simulation", "Wire", "Licensing", "Mesh", "Crypto", "ArgumentParsing", "AgentHarness", "LicenseTools"]),
        // The benchmarks, a binary of their own so that the agent binary carries neither them nor full
        // Foundation; `licmesh bench ...` runs it from beside licmesh. It lists licmesh only so that
        // `swift run licmesh-bench` also builds the agents it starts (no code of licmesh is linked in).
        .executableTarget(name: "licmesh-bench", dependencies: ["SWIM", "Simulation", "Wire", "Licensing", "Mesh", "ArgumentParsing", "AgentHarness", "SmallFiles", "licmesh"],
                          path: "Benchmarks/Sources"),
        // What a Swift server copies to embed the agent (docs/embedding.md); the tests run it.
        .executableTarget(name: "licmesh-embedding-example", dependencies: ["Mesh"], path: "Sources/EmbeddingExample"),

        .testTarget(name: "SWIMTests", dependencies: ["SWIM"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "SWIM"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "SWIM", "Crypto"]),
        .testTarget(name: "LicensingTests", dependencies: ["Licensing", "LicenseTools", "SWIM", "Crypto", "Simulation"]),
        .testTarget(name: "MeshTests", dependencies: ["Mesh", "SWIM", "Wire", "Licensing", "Crypto", "Simulation", "SmallFiles"]),
    ]
)
