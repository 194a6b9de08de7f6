import SWIM

/// One agent's protocols, composed: the SWIM instance and, when a license is installed, the licensing
/// state machine on top. This is the only place the two meet. The agent's I/O loop owns one and the
/// simulator runs thousands, and both drive it the same way: call an input, carry out the output's
/// directives, report its events. Pure like its parts: no clock, no I/O.
///
/// SWIM's deliveries (ledger payloads, licensing messages, membership changes) go to licensing;
/// licensing's requests (send a message, publish a ledger change, probe a member) go to SWIM, whose
/// directives go to licensing in turn, until nothing more happens.
public struct ClusterNode: Sendable {
    public private(set) var swim: SWIMInstance
    public private(set) var licensing: LicensingNode?
    /// The clock verdict the announced advert carries.
    var announcedClockTrusted = true

    /// Rounds of "licensing reacts to SWIM, SWIM carries out licensing's actions" allowed per input.
    /// SWIM's `perform` never delivers anything back, so two rounds settle every input; more means a
    /// feedback loop, which the simulator reports as an invariant violation and the agent counts and logs.
    public static let reactionRoundLimit = 8

    /// What one call produced, for the driver: SWIM directives to carry out (sends, stream exchanges,
    /// membership events, deliveries), licensing events to report, and what went wrong on the way.
    public struct Output: Sendable {
        public var directives: [Directive] = []
        public var licensingEvents: [LicensingEvent] = []
        /// Messages that arrived for the licensing layer but did not decode (counted, dropped).
        public var malformedLicensingMessages = 0
        /// Inputs whose reactions did not settle within `reactionRoundLimit` rounds (the rest dropped).
        public var reactionLimitHits = 0

        public init() {}

        mutating func append(_ other: Output) {
            directives += other.directives
            licensingEvents += other.licensingEvents
            malformedLicensingMessages += other.malformedLicensingMessages
            reactionLimitHits += other.reactionLimitHits
        }
    }

    public init(swim: SWIMInstance, licensing: LicensingNode?) {
        self.swim = swim
        self.licensing = licensing
        // The authority's heartbeat renews every holder's lease five times per lease. Each version is
        // passed on three times by each node: that reaches nearly every node, and a holder the last
        // two missed asks the authority to confirm its grant (`renewLeaseIfDue`), which costs fewer
        // bytes than passing every version on more often to reach every last node. (Twice is too
        // few: the heartbeat also tells who the authority is and how far the ledger has got, and at
        // twice a node could stay unaware of a new authority for over 20 protocol periods.)
        if licensing != nil {
            self.swim.periodicPayloadKeys = LedgerPayloads.periodicKeys
            self.swim.periodicRetransmitLimit = Self.heartbeatRetransmitLimit
        }
        // The next server in line probes the authority once per protocol period (`watchedAuthority`).
        self.licensing?.authorityWatchInterval = swim.settings.probeInterval
    }

    /// How many times each node passes on a version of the authority's heartbeat.
    public static let heartbeatRetransmitLimit = 3

    public var id: NodeID { swim.id }

    public var nextDeadline: Instant {
        min(swim.nextDeadline, licensing?.nextDeadline ?? .distantFuture)
    }

    // MARK: - Inputs

    public mutating func join(seeds: [Address], now: Instant) -> Output {
        drive(now: now) { $0.join(seeds: seeds, now: now) }
    }

    /// Starts from a converged membership view (large simulations).
    public mutating func bootstrap(members: [Member], now: Instant) -> Output {
        swim.bootstrap(members: members, now: now)
        let view = swim.members
        return runLicensing(now: now) { $0.updateMembership(view, now: now) }
    }

    public mutating func tick(now: Instant) -> Output {
        let due = licensing.map { now >= $0.nextDeadline } ?? false
        var output = drive(now: now) { $0.tick(now: now) }
        if due { output.append(runLicensing(now: now) { $0.tick(now: now) }) }
        return output
    }

    /// Handles one message; `channel` says whether it came over a stream (then its answer is a
    /// `replyOnStream` directive) or as a datagram.
    public mutating func receive(_ message: Message, from: Address, over channel: Channel = .datagram, now: Instant) -> Output {
        var message = message
        var rejected = 0
        if let licensing {
            // Ledger payloads licensing would refuse are dropped before SWIM stores them: a forged
            // version there would shadow every later, genuine one.
            rejected = message.removePayloads { !licensing.accepts($0) }
            if rejected > 0 { self.licensing!.rejections.implausible += rejected }
        }
        return drive(now: now) { $0.receive(message, from: from, over: channel, now: now) }
    }

    /// Leaves gracefully: licensing gives up its grant and role first, then SWIM announces the departure.
    public mutating func leave(now: Instant) -> Output {
        var output = runLicensing(now: now) { $0.leaving(now: now) }
        output.append(drive(now: now) { $0.leave(now: now) })
        return output
    }

    /// Carries out a membership action for an embedding application (publish a payload, send a message).
    public mutating func perform(_ action: MembershipAction, now: Instant) -> Output {
        drive(now: now) { $0.perform(action, now: now) }
    }

    /// Asks for cores (the configured count when nil). The request is settled later by a
    /// `requestSettled` licensing event with the returned ID; nil without licensing.
    public mutating func acquire(cores: Int? = nil, now: Instant) -> (RequestID?, Output) {
        guard licensing != nil else { return (nil, Output()) }
        var requestID: RequestID?
        let output = runLicensing(now: now) { licensing in
            let (id, directives) = licensing.acquire(cores: cores, now: now)
            requestID = id
            return directives
        }
        return (requestID, output)
    }

    /// Gives this node's cores back; settled like `acquire`.
    public mutating func release(now: Instant) -> (RequestID?, Output) {
        guard licensing != nil else { return (nil, Output()) }
        var requestID: RequestID?
        let output = runLicensing(now: now) { licensing in
            let (id, directives) = licensing.release(now: now)
            requestID = id
            return directives
        }
        return (requestID, output)
    }

    /// Installs a new license (a reload) and announces this node's new advert with a new incarnation.
    public mutating func replaceLicense(_ terms: LicenseTerms?, valid: Bool, now: Instant) -> Output {
        guard licensing != nil else { return Output() }
        var output = runLicensing(now: now) { $0.replaceLicense(terms, valid: valid, now: now) }
        let metadata = licensing!.advert.metadata
        output.append(drive(now: now) { $0.updateMetadata(metadata, now: now) })
        return output
    }

    /// The driver's reading of the wall clock: license validity is judged by a clock checked against
    /// the license servers' (see `LicensingNode.observeWallClock`).
    public mutating func observeWallClock(unixSeconds: Int64, now: Instant) -> Output {
        guard licensing != nil else { return Output() }
        return runLicensing(now: now) { $0.observeWallClock(unixSeconds: unixSeconds, now: now) }
    }

    /// Local license check; never waits.
    public func validate(feature: String? = nil, unixTime: Int64) -> LicenseCheck {
        licensing?.validate(feature: feature, unixTime: unixTime) ?? .denied("No license is installed on this node.")
    }

    // MARK: - Composition

    /// Runs a licensing call, then carries out what it asked of SWIM (and what that set off).
    mutating func runLicensing(now: Instant, _ call: (inout LicensingNode) -> [LicensingDirective]) -> Output {
        compose(now: now, swim: { _ in [] }, licensing: call)
    }

    /// Runs a SWIM call, then lets licensing react to what it produced until nothing more happens.
    mutating func drive(now: Instant, _ call: (inout SWIMInstance) -> [Directive]) -> Output {
        compose(now: now, swim: call, licensing: { _ in [] })
    }

    /// The one loop where SWIM and licensing meet. `swimCall` and `licensingCall` start it (either may
    /// do nothing); then, round by round, licensing reacts to SWIM's new directives and SWIM carries out
    /// licensing's actions. Once everything this input brought has been absorbed (every ledger payload
    /// of a push-pull included), a first completed full-state exchange marks licensing synced, which
    /// may start another round.
    mutating func compose(now: Instant, swim swimCall: (inout SWIMInstance) -> [Directive],
                          licensing licensingCall: (inout LicensingNode) -> [LicensingDirective]) -> Output {
        var output = Output()
        var fresh = swimCall(&swim)
        if licensing != nil {
            fresh += perform(licensingCall(&licensing!), output: &output, now: now)
        }
        var rounds = 0
        while true {
            while !fresh.isEmpty {
                output.directives += fresh
                guard licensing != nil else { fresh = []; break }
                rounds += 1
                if rounds > Self.reactionRoundLimit {
                    output.reactionLimitHits += 1
                    fresh = []
                    break
                }
                let reactions = react(to: fresh, now: now, output: &output)
                fresh = perform(reactions, output: &output, now: now)
            }
            guard licensing?.isSynced == false, swim.isJoined else { break }
            fresh = perform(licensing!.membershipSynced(now: now), output: &output, now: now)
            if fresh.isEmpty { break }
        }
        // Licensing's advert changed by itself (its verdict on this node's clock): announce it. The
        // verdict is checked first: building the advert's bytes on every input would cost more.
        if let trusted = licensing.map({ $0.clockProblem == nil }), trusted != announcedClockTrusted, !swim.isLeaving {
            announcedClockTrusted = trusted
            output.directives += swim.updateMetadata(licensing!.advert.metadata, now: now)
        }
        return output
    }

    /// Reports licensing's events and has SWIM carry out its actions; returns SWIM's directives.
    mutating func perform(_ directives: [LicensingDirective], output: inout Output, now: Instant) -> [Directive] {
        let (actions, events) = LicensingDirective.split(directives)
        output.licensingEvents += events
        var produced: [Directive] = []
        for action in actions { produced += swim.perform(action, now: now) }
        return produced
    }

    /// Licensing's reactions to SWIM's output.
    mutating func react(to directives: [Directive], now: Instant, output: inout Output) -> [LicensingDirective] {
        var reactions: [LicensingDirective] = []
        var changedMembers: [NodeID] = []
        for directive in directives {
            switch directive {
            case .deliver(let payload):
                reactions += licensing!.receivePayload(payload, now: now)
            case .deliverMessage(let message, let address):
                if let decoded = LicensingCodec.decode(message.bytes) {
                    reactions += licensing!.receive(decoded, from: message.source, address: address, now: now)
                } else {
                    output.malformedLicensingMessages += 1
                }
            case .event(let event):
                switch event.kind {
                case .joined, .suspected, .refuted, .confirmedDead, .left, .updated, .forgotten:
                    if let node = event.memberID { changedMembers.append(node) }
                case .idConflict, .refutedSuspicionOfSelf: break
                }
            case .send, .pushPull, .replyOnStream, .streamPing:
                break
            }
        }
        if !changedMembers.isEmpty {
            // Each changed member once, as SWIM holds it now (after every event of this input).
            var seen: Set<NodeID> = [], current: [Member] = [], forgotten: [NodeID] = []
            for node in changedMembers where seen.insert(node).inserted {
                if let member = swim.member(node) { current.append(member) } else { forgotten.append(node) }
            }
            reactions += licensing!.updateMembers(current, forgotten: forgotten, now: now)
        }
        return reactions
    }
}
