import SWIM

/// The client's side: requests to the authority, retried with the next candidate when it does not
/// answer, each settled by exactly one `requestSettled` event; and asking again by itself while this
/// node wants cores and holds none.
extension LicensingNode {
    mutating func takeRequestID() -> RequestID {
        defer { nextRequestID &+= 1 }
        return RequestID(rawValue: nextRequestID)
    }

    mutating func settle(_ id: RequestID, _ outcome: RequestOutcome, now: Instant) {
        emit(.requestSettled(id, outcome), now: now)
    }

    /// Starts a request, replacing (and settling as superseded) the one in flight.
    @discardableResult
    mutating func startRequest(_ kind: PendingRequest.Kind, isRenewal: Bool = false, now: Instant) -> RequestID {
        let requestID = takeRequestID()
        if let replaced = request { settle(replaced.id, .superseded(by: requestID), now: now) }
        request = PendingRequest(id: requestID, kind: kind, isRenewal: isRenewal, target: nil, deadline: now)
        resendRequest(now: now)
        return requestID
    }

    /// Asks for `desiredCores`, confirming the grant a previous life (or a lapsed lease) left, if any.
    mutating func startAcquire(now: Instant) -> RequestID {
        let held = heldForReclaim
        heldForReclaim = nil
        return startRequest(.acquire(cores: desiredCores, held: held), now: now)
    }

    /// Whether this node should be asking for cores by itself now or later.
    var wantsToAsk: Bool {
        desiredCores > 0 && ownGrant == nil && request == nil && licenseValid && terms != nil
    }

    /// A node that wants cores and holds none asks again: when its retry time has come, or at once when
    /// its ledger replica shows that cores were freed since it was refused.
    mutating func askAgainIfDue(now: Instant) {
        guard wantsToAsk else { return }
        let due = nextAttemptAt.map { now >= $0 } ?? true
        if due || coresLookFreeSinceRefusal { _ = startAcquire(now: now) }
    }

    /// Refused for lack of cores, and the replica changed since and now shows room for our request.
    var coresLookFreeSinceRefusal: Bool {
        guard case .cpuLimitExhausted? = lastRefusal, let terms, ledger.newestStamp > ledgerAtRefusal else { return false }
        return ledger.total { $0 != id } + desiredCores <= terms.maxCores
    }

    /// Sends the pending request to the best target not yet tried: the established authority if it is
    /// alive, else the lowest eligible server.
    mutating func resendRequest(now: Instant) {
        guard var pending = request else { return }
        // The established authority first (if alive), then the eligible servers lowest first; this node
        // itself only when it is the authority. Each target that timed out is skipped until all have.
        var candidates: [NodeID] = []
        if let current = authority, current == id ? isAuthority : members[current]?.state == .alive {
            candidates.append(current)
        }
        candidates += eligibleServers()
        let target = candidates.first { !pending.tried.contains($0) && ($0 != id || isAuthority) }
        pending.target = target
        guard let target else {
            pending.tried = []
            pending.deadline = now + settings.retryInterval
            request = pending
            return
        }
        pending.deadline = now + settings.requestTimeout
        request = pending
        // Built on this node's entry as its replica holds it now: a replay of this message, once the
        // entry has changed, is stale at every authority.
        let basis = ledger.grants[id]?.stamp ?? .zero
        let message: LicensingMessage = switch pending.kind {
        case .acquire(let cores, let held): .acquire(requestID: pending.id.rawValue, life: life, basis: basis, cores: cores, mac: mac, held: held)
        case .release: .release(requestID: pending.id.rawValue, life: life, basis: basis)
        }
        if target == id {
            receiveLocally(message, now: now)   // we are the authority
        } else {
            send(message, to: target)
        }
    }

    mutating func receiveLocally(_ message: LicensingMessage, now: Instant) {
        switch message {
        case .acquire(let requestID, let life, let basis, let cores, let ownMAC, let held):
            handleAcquire(from: id, requestID: requestID, life: life, basis: basis, cores: cores, mac: ownMAC, held: held, now: now)
        case .release(let requestID, let life, let basis):
            handleRelease(from: id, requestID: requestID, life: life, basis: basis, now: now)
        default:
            break
        }
    }

    mutating func requestTimedOut(now: Instant) {
        guard var pending = request else { return }
        if let target = pending.target, target != id {
            pending.tried.insert(target)
            outbox.append(.probe(target))
        }
        request = pending
        resendRequest(now: now)
    }

    mutating func handleReply(requestID: UInt64, outcome: LicensingMessage.Outcome, from sender: NodeID, now: Instant) {
        guard let pending = request, pending.id.rawValue == requestID else { return }
        noteHeard(from: sender, now: now)
        switch outcome {
        case .granted(let grant):
            request = nil
            ledger.merge(grant)
            emit(.acquired(grant, from: sender), now: now)
            holdGrant(grant, now: now)
            settle(pending.id, .granted(grant), now: now)
        case .released(let grant):
            request = nil
            ledger.merge(grant)
            heldForReclaim = nil
            dropGrant(reason: "this node released its cores", now: now)
            settle(pending.id, .released, now: now)
        case .refused(let refusal):
            request = nil
            if pending.isRenewal, ownGrant != nil {
                // Not confirmed now (no quorum behind the authority, say): the lease runs its course.
                // Nobody asked for this request, so it is no refusal to report as one.
                settle(pending.id, .abandoned("lease renewal not confirmed: \(refusal)"), now: now)
                return
            }
            lastRefusal = refusal
            ledgerAtRefusal = ledger.newestStamp
            // Asked again later if that can help; an invalid request is not repeated.
            // A node the authority does not see yet is most likely joining: ask again soon.
            let wait = refusal == .notAMember ? settings.retryInterval : settings.refusedRetryInterval
            nextAttemptAt = refusal.isRetryable ? now + wait : nil
            if !refusal.isRetryable { desiredCores = 0 }
            if case .acquire(_, let held?) = pending.kind, ownGrant == held {
                dropGrant(reason: refusal.description, now: now)
            }
            settle(pending.id, .refused(refusal), now: now)
        case .stale(let current):
            // Our replica was behind the authority's entry for us: catch up, and stop if that is what
            // we asked for already; else ask again on the current basis.
            if let current, current.node == id {
                ledger.merge(current)
                ownLedgerEntryChanged(current, now: now)
            }
            guard request?.id == pending.id else { return }
            resendRequest(now: now)
        case .notAuthority(let hint):
            var retry = pending
            retry.tried.insert(sender)
            // Believe the hint only if it is a server we could choose anyway.
            if let hint, hint != sender, eligibleServers().contains(hint) { retry.tried.remove(hint) }
            request = retry
            resendRequest(now: now)
        }
    }

    /// This node holds `grant` now (an answer, or the replicated ledger): the lease starts over.
    mutating func holdGrant(_ grant: Grant, now: Instant) {
        lastContact = now
        lastRefusal = nil
        lossReason = nil
        heldForReclaim = nil
        nextAttemptAt = nil
        guard ownGrant == nil || ownGrant!.stamp < grant.stamp || ownGrant!.cores != grant.cores else { return }
        ownGrant = grant
        emit(.ownGrant(grant), now: now)
    }

    /// This node no longer holds its grant. It asks again by itself if it still wants cores.
    mutating func dropGrant(reason: String, now: Instant) {
        guard ownGrant != nil else { return }
        ownGrant = nil
        lossReason = reason
        nextAttemptAt = nil
        emit(.ownGrantLost(reason: reason), now: now)
    }

    /// The ledger's entry for this node changed (a grant replicated to us, a release, a revocation).
    mutating func ownLedgerEntryChanged(_ grant: Grant, now: Instant) {
        if grant.cores > 0 {
            if let pending = request, case .acquire(let cores, _) = pending.kind, cores == grant.cores {
                request = nil   // the answer was lost, but the ledger tells us
                settle(pending.id, .granted(grant), now: now)
            }
            if desiredCores > 0 {
                if ownGrant == nil || ownGrant!.stamp < grant.stamp { holdGrant(grant, now: now) }
            } else if request == nil {
                // Cores for us that we do not want (a late duplicate of a request answered before our
                // release): not used, and given back so that they do not count against the limit.
                startRequest(.release, now: now)
            }
        } else {
            if let pending = request, pending.isRelease {
                request = nil
                settle(pending.id, .released, now: now)
            }
            if let own = ownGrant, own.stamp < grant.stamp {
                let reason = desiredCores == 0
                    ? "this node released its cores"
                    : "the license authority took this node's cores back at \(grant.stamp) (revoked to fit the limit after a partition, or returned while this node was held dead)"
                dropGrant(reason: reason, now: now)
            }
        }
    }
}
