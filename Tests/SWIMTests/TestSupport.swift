@testable import SWIM

let t0 = Instant(nanoseconds: 1_000_000_000)

func ms(_ value: Int64) -> Duration { .milliseconds(value) }

/// Fixed settings for tests that compute timings by hand, whatever the profiles' defaults become.
let classic: Settings = {
    var s = Settings()
    s.probeInterval = .seconds(1)
    s.probeTimeout = .milliseconds(500)
    s.suspicionMultiplier = 4
    s.suspicionMaxMultiplier = 6
    s.suspicionConfirmations = 3
    return s
}()

func address(_ n: UInt64) -> Address { Address("n\(n)") }

func member(_ n: UInt64, _ state: MemberState = .alive, incarnation: UInt64 = 0) -> Member {
    Member(id: NodeID(n), address: address(n), incarnation: incarnation, state: state)
}

/// An instance for node `n` that already knows the given members.
func instance(_ n: UInt64 = 1, knowing others: [Member] = [], settings: Settings = .lan, seed: UInt64 = 42) -> SWIMInstance {
    var swim = try! SWIMInstance(id: NodeID(n), address: address(n), settings: settings, seed: seed)
    swim.bootstrap(members: others, now: t0)
    return swim
}

extension Array where Element == Directive {
    var sends: [(Message, Address)] {
        compactMap { if case .send(let m, let a) = $0 { (m, a) } else { nil } }
    }
    var events: [MembershipEvent.Kind] {
        compactMap { if case .event(let e) = $0 { e.kind } else { nil } }
    }
    var pings: [(Ping, Address)] {
        sends.compactMap { if case .ping(let p) = $0.0 { (p, $0.1) } else { nil } }
    }
    var pingRequests: [(PingRequest, Address)] {
        sends.compactMap { if case .pingReq(let p) = $0.0 { (p, $0.1) } else { nil } }
    }
    var acks: [(Ack, Address)] {
        sends.compactMap { if case .ack(let p) = $0.0 { (p, $0.1) } else { nil } }
    }
    var nacks: [(Nack, Address)] {
        sends.compactMap { if case .nack(let p) = $0.0 { (p, $0.1) } else { nil } }
    }
    var pushPulls: [(PushPullState, Address)] {
        compactMap { if case .pushPull(let s, let a) = $0 { (s, a) } else { nil } }
    }
    var allPiggyback: [Gossip] { sends.flatMap { $0.0.piggyback } }
}

/// Runs the instance's timers until `end`, collecting every directive.
func run(_ swim: inout SWIMInstance, until end: Instant) -> [Directive] {
    var out: [Directive] = []
    var guardCount = 0
    while swim.nextDeadline <= end, guardCount < 100_000 {
        out += swim.tick(now: swim.nextDeadline)
        guardCount += 1
    }
    return out
}

/// Delivers a gossip-only message carrying `updates` from node 99.
func hear(_ swim: inout SWIMInstance, _ updates: [Gossip], now: Instant = t0) -> [Directive] {
    swim.receive(.gossip(GossipMessage(source: NodeID(99), piggyback: updates)), from: address(99), now: now)
}
