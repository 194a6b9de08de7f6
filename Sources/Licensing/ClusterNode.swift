import SWIM

/// One agent's protocols, composed: the SWIM instance and, when a license is installed, the licensing
/// state machine on top. Pure like its parts; the simulator and the runtime drive it the same way.
///
/// SWIM's deliveries (ledger payloads, licensing messages, membership changes) go to licensing;
/// licensing's requests (send a message, publish a ledger change, probe a member) go to SWIM.
public struct ClusterNode: Sendable {
    public internal(set) var swim: SWIMInstance
    public internal(set) var licensing: LicensingNode?

    /// What one call produced: SWIM directives for the driver, and licensing events.
    public struct Output: Sendable {
        public var directives: [Directive] = []
        public var licensingEvents: [LicensingEvent] = []
        /// Messages that arrived for the licensing layer but did not decode (counted, dropped).
        public var malformedLicensingMessages = 0
    }

    public init(swim: SWIMInstance, licensing: LicensingNode?) {
        self.swim = swim
        self.licensing = licensing
    }

    public var id: NodeID { swim.id }

    public var nextDeadline: Instant {
        min(swim.nextDeadline, licensing?.nextDeadline ?? .distantFuture)
    }

    public mutating func join(seeds: [Address], now: Instant) -> Output {
        drive(now: now) { $0.join(seeds: seeds, now: now) }
    }

    /// Starts from a converged membership view (large simulations).
    public mutating func bootstrap(members: [Member], now: Instant) -> Output {
        swim.bootstrap(members: members, now: now)
        var output = Output()
        if licensing != nil {
            absorb(licensing!.updateMembership(swim.members, now: now), into: &output, now: now)
            absorb(licensing!.membershipSynced(now: now), into: &output, now: now)
        }
        return output
    }

    public mutating func tick(now: Instant) -> Output {
        var output = drive(now: now) { $0.tick(now: now) }
        if licensing != nil, let due = licensing?.nextDeadline, now >= due {
            let more = licensing!.tick(now: now)
            absorb(more, into: &output, now: now)
        }
        return output
    }

    public mutating func receive(_ message: Message, from: Address, now: Instant) -> Output {
        drive(now: now) { $0.receive(message, from: from, now: now) }
    }

    public mutating func leave(now: Instant) -> Output {
        var output = Output()
        if licensing != nil { absorb(licensing!.leaving(now: now), into: &output, now: now) }
        let left = drive(now: now) { $0.leave(now: now) }
        output.directives += left.directives
        output.licensingEvents += left.licensingEvents
        return output
    }

    public mutating func acquire(cores: Int? = nil, now: Instant) -> Output {
        var output = Output()
        guard licensing != nil else { return output }
        let directives = licensing!.acquire(cores: cores, now: now)
        absorb(directives, into: &output, now: now)
        return output
    }

    public mutating func release(now: Instant) -> Output {
        var output = Output()
        guard licensing != nil else { return output }
        let directives = licensing!.release(now: now)
        absorb(directives, into: &output, now: now)
        return output
    }

    /// Local license check; never waits.
    public func validate(feature: String? = nil, unixTime: Int64) -> LicenseCheck {
        licensing?.validate(feature: feature, unixTime: unixTime) ?? .denied("No license is installed on this node.")
    }

    /// Runs a SWIM call, then lets licensing react to what it produced until nothing more happens.
    mutating func drive(now: Instant, _ call: (inout SWIMInstance) -> [Directive]) -> Output {
        var output = Output()
        var fresh = call(&swim)
        if licensing?.isSynced == false, swim.isJoined {
            fresh += actions(for: licensing!.membershipSynced(now: now), output: &output).flatMap { swim.perform($0, now: now) }
        }
        var rounds = 0
        while !fresh.isEmpty {
            output.directives += fresh
            guard licensing != nil, rounds < 16 else { break }
            rounds += 1
            let reactions = react(to: fresh, now: now, output: &output)
            fresh = []
            for action in reactions { fresh += swim.perform(action, now: now) }
        }
        return output
    }

    /// Licensing's reactions to SWIM's output, as actions for SWIM.
    mutating func react(to directives: [Directive], now: Instant, output: inout Output) -> [MembershipAction] {
        var licensingDirectives: [LicensingDirective] = []
        var membershipChanged = false
        for directive in directives {
            switch directive {
            case .deliver(let payload):
                licensingDirectives += licensing!.receivePayload(payload, now: now)
            case .deliverMessage(let message, _):
                if let decoded = LicensingCodec.decode(message.bytes) {
                    licensingDirectives += licensing!.receive(decoded, from: message.source, now: now)
                } else {
                    output.malformedLicensingMessages += 1
                }
            case .event(let event):
                switch event.kind {
                case .joined, .suspected, .refuted, .confirmedDead, .left, .updated, .forgotten: membershipChanged = true
                case .idConflict, .refutedSuspicionOfSelf: break
                }
            case .send, .pushPull, .replyPushPull, .streamPing:
                break
            }
        }
        if membershipChanged {
            licensingDirectives += licensing!.updateMembership(swim.members, now: now)
        }
        return actions(for: licensingDirectives, output: &output)
    }

    mutating func absorb(_ directives: [LicensingDirective], into output: inout Output, now: Instant) {
        for action in actions(for: directives, output: &output) {
            let more = drive(now: now) { $0.perform(action, now: now) }
            output.directives += more.directives
            output.licensingEvents += more.licensingEvents
            output.malformedLicensingMessages += more.malformedLicensingMessages
        }
    }

    func actions(for directives: [LicensingDirective], output: inout Output) -> [MembershipAction] {
        let (actions, events) = LicensingDirective.split(directives)
        output.licensingEvents += events
        return actions
    }
}
