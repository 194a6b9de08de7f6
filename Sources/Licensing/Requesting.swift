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
        let candidates = eligibleServers().filter { !pending.tried.contains($0) }
        var target: NodeID?
        if let current = authority, !pending.tried.contains(current),
           current == id ? isAuthority : members[current]?.state == .alive {
            target = current
        } else {
            target = candidates.first
        }
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
            // Served locally: we are (or are about to be) the authority.
            if isAuthority {
                _ = receiveLocally(message, now: now)
            } else {
                pending.deadline = now + settings.retryInterval
                request = pending
            }
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

    /// `now` is nil when the authority answers its own request inside another call.
    mutating func handleReply(requestID: UInt64, outcome: LicensingMessage.Outcome, from sender: NodeID, now: Instant?) {
        guard let pending = request, pending.id == requestID else { return }
        let at = now ?? Instant.zero
        switch outcome {
        case .granted(let grant):
            request = nil
            lastRefusal = nil
            ledger.merge(grant)
            if ownGrant == nil || ownGrant!.stamp < grant.stamp || ownGrant!.cores != grant.cores {
                ownGrant = grant
                if now != nil { emit(.ownGrant(grant), now: at) }
            }
        case .released(let grant):
            request = nil
            ledger.merge(grant)
            if ownGrant != nil {
                ownGrant = nil
                if now != nil { emit(.ownGrantLost(reason: "released"), now: at) }
            }
        case .refused(let refusal):
            request = nil
            lastRefusal = refusal
            if case .acquire(_, let held?) = pending.kind, ownGrant == held {
                ownGrant = nil
                if now != nil { emit(.ownGrantLost(reason: refusal.description), now: at) }
            }
            if now != nil { emit(.requestRefused(refusal), now: at) }
        case .notAuthority(let hint):
            guard let now else { return }
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
