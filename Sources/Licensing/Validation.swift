import SWIM

/// Local license checks, and why this node or the cluster cannot serve, in words an operator can act on.
extension LicensingNode {
    /// Whether this node may serve now (log a user in, run a batch), answered from the local state only.
    public func validate(feature: String? = nil, unixTime localTime: Int64) -> LicenseCheck {
        // Judged by a clock a rollback cannot fool (see Clock.swift).
        let unixTime = trustedTime(localTime)
        guard let terms else {
            return .denied("No license is installed on this node. Fix: install the license file and restart or reload the agent (SIGHUP).")
        }
        guard licenseValid else {
            return .denied("The installed license \(terms.id) did not verify on this node; see the agent log for the reason.")
        }
        if let notBefore = terms.notBefore, unixTime < notBefore {
            return .denied("License \(terms.id) is not valid before \(formatUnixDate(notBefore)). Fix: check the system clock, or wait until then.")
        }
        if unixTime >= terms.expires {
            let clock = unixTime > localTime + Int64(settings.maximumClockSkew.seconds)
                ? " (by the license servers' clock or this node's saved history; this node's own clock reads \(formatUnixDate(localTime)))" : ""
            return .denied("License \(terms.id) expired on \(formatUnixDate(terms.expires))\(clock). Fix: install a renewed license.")
        }
        if let feature, !terms.features.contains(feature) {
            let list = terms.features.sorted().joined(separator: ", ")
            return .denied("Feature '\(feature)' is not in license \(terms.id) (licensed: \(list.isEmpty ? "none" : list)).")
        }
        guard let grant = ownGrant, grant.cores > 0 else { return .denied(whyNoCores) }
        return .allowed(grant)
    }

    /// Why this node holds no cores, from what it knows now (never a stale figure, never a request
    /// that is not pending).
    public var whyNoCores: String {
        if let refusal = lastRefusal {
            // The figures of the refusal age; the replica has today's.
            let current: Refusal = if case .cpuLimitExhausted = refusal, let terms {
                .cpuLimitExhausted(limit: terms.maxCores, inUse: ledger.total { $0 != id }, requested: desiredCores, holders: ledger.holders)
            } else {
                refusal
            }
            let retry = desiredCores > 0 && refusal.isRetryable
                ? " This node asks again every \(formatDuration(settings.refusedRetryInterval)), and at once when cores are freed."
                : ""
            return current.description + retry
        }
        if let request, case .acquire(let cores, _) = request.kind {
            let whom = request.target.map { "the license authority \($0)" } ?? "a license authority (none is reachable yet)"
            let reason = lossReason.map { " It lost its previous grant: \($0)." } ?? ""
            return "This node holds no cores yet: it asked \(whom) for \(cores) and is waiting for the answer.\(reason) "
                + "Fix: if this lasts, check `licmesh status` for the authority."
        }
        if let lossReason {
            return desiredCores > 0
                ? "This node holds no cores: \(lossReason). It asks for \(desiredCores) again."
                : "This node holds no cores: \(lossReason). Fix: acquire cores (POST /v1/acquire) to hold them again."
        }
        if desiredCores == 0 {
            return "This node holds no cores: it has not asked for any. Fix: acquire cores (POST /v1/acquire), or set the cores to request in the agent's config."
        }
        return "This node holds no cores yet: it asks the license authority for \(desiredCores) once it has joined the cluster. Fix: if this lasts, check `licmesh status`."
    }

    /// Why this node may not ask for cores at all, or nil.
    var unlicensedReason: String? {
        guard !licenseValid else { return nil }
        return validate(unixTime: 0).message
    }

    /// Why the cluster cannot answer this node's acquires now, or nil when it can: mismatched licenses,
    /// no eligible server, no quorum of servers, or no authority for longer than an election takes.
    /// Each says what to do.
    public func serviceProblem(now: Instant) -> String? {
        guard let terms else { return nil }
        if !mismatch.isEmpty {
            return "license servers hold licenses of different customers (\(mismatch.map(\.description).joined(separator: "; "))); "
                + "nobody acts as authority until every license server has this cluster's license. Fix: install the same license on every license server and reload them (SIGHUP)."
        }
        if let clockProblem {
            return "\(clockProblem); this node may not act as authority, and judges license validity by the latest clock it knows. "
                + "Fix: set this host's clock right (NTP)."
        }
        if let conflict = duplicateMACs.first(where: { terms.serverRank(of: $0.mac) != nil || $0.nodes.contains(id) }) {
            return "\(conflict); a MAC identifies one host, and none of them may act as authority while it is disputed. "
                + "Fix: give each host its own MAC (the agent's `mac` setting), or stop the node that claims another's."
        }
        let eligible = eligibleServers()
        if eligible.isEmpty {
            return "no license authority: no alive license server holds a valid copy of license \(terms.id). "
                + "Fix: start one of its license servers (MAC ids \(terms.servers.map(formatMAC).joined(separator: ", "))) with this license."
        }
        if policy == .majority, eligible.count < terms.majority {
            return "no quorum of license servers: \(eligible.count) of the \(terms.majority) needed (of \(terms.servers.count)) are alive here; "
                + "no cores can be granted. Fix: start the missing license servers, or mend the network between them."
        }
        if let since = authorityMissingSince, now - since > settings.proposalTimeout * 2 + settings.requestTimeout {
            return "no license authority has been established for \(formatDuration(now - since)) although license servers are alive "
                + "(expected: \(eligible[0])). Fix: check that license servers can reach each other over UDP and TCP; see their logs."
        }
        return nil
    }
}
