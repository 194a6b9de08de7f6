import SWIM

/// The client's side: requests to the authority, retried with the next candidate when it does not answer.
extension LicensingNode {
    mutating func startRequest(_ kind: PendingRequest.Kind, now: Instant) {
        let requestID = nextRequestID
        nextRequestID += 1
        request = PendingRequest(id: requestID, kind: kind, target: nil, deadline: now)
        resendRequest(now: now)
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
        let message: LicensingMessage = switch pending.kind {
        case .acquire(let cores, let held): .acquire(requestID: pending.id, cores: cores, mac: mac, held: held)
        case .release: .release(requestID: pending.id)
        }
        if target == id {
            _ = receiveLocally(message, now: now)   // we are the authority
        } else {
            send(message, to: target)
        }
    }

    mutating func receiveLocally(_ message: LicensingMessage, now: Instant) -> Bool {
        switch message {
        case .acquire(let requestID, let cores, let ownMAC, let held):
            handleAcquire(from: id, requestID: requestID, cores: cores, mac: ownMAC, held: held, now: now)
        case .release(let requestID):
            handleRelease(from: id, requestID: requestID, now: now)
        default:
            return false
        }
        return true
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
        guard let pending = request, pending.id == requestID else { return }
        switch outcome {
        case .granted(let grant):
            request = nil
            lastRefusal = nil
            ledger.merge(grant)
            emit(.acquired(grant, from: sender), now: now)
            if ownGrant == nil || ownGrant!.stamp < grant.stamp || ownGrant!.cores != grant.cores {
                ownGrant = grant
                emit(.ownGrant(grant), now: now)
            }
        case .released(let grant):
            request = nil
            ledger.merge(grant)
            if ownGrant != nil {
                ownGrant = nil
                let explicit = if case .release = pending.kind { true } else { false }
                emit(.ownGrantLost(reason: explicit ? "released" : "the authority holds this node's cores as released at \(grant.stamp)"), now: now)
            }
        case .refused(let refusal):
            request = nil
            lastRefusal = refusal
            if case .acquire(_, let held?) = pending.kind, ownGrant == held {
                ownGrant = nil
                emit(.ownGrantLost(reason: refusal.description), now: now)
            }
            emit(.requestRefused(refusal), now: now)
        case .notAuthority(let hint):
            var retry = pending
            retry.tried.insert(sender)
            request = retry
            if let hint, hint != sender, members[hint]?.state == .alive || hint == id {
                // Believe the hint only if it is a server we could choose anyway.
                if eligibleServers().contains(hint) {
                    retry.tried.remove(hint)
                    request = retry
                }
            }
            resendRequest(now: now)
        }
    }

    /// The ledger's entry for this node changed (a grant replicated to us, a release, a revocation).
    mutating func ownLedgerEntryChanged(_ grant: Grant, now: Instant) {
        if grant.cores > 0 {
            if let pending = request, case .acquire(let cores, _) = pending.kind, cores == grant.cores {
                request = nil   // the answer was lost, but the ledger tells us
            }
            if ownGrant == nil || ownGrant!.stamp < grant.stamp {
                ownGrant = grant
                emit(.ownGrant(grant), now: now)
            }
        } else if let own = ownGrant, own.stamp < grant.stamp {
            ownGrant = nil
            emit(.ownGrantLost(reason: "the authority released or revoked this node's cores at \(grant.stamp)"), now: now)
        }
    }
}
