import Licensing
import SWIM

/// `AgentStatus` from one snapshot: the membership table with each member's advert and cores, the
/// ledger, the authority, the license, and what keeps this node from being healthy, in words an
/// operator can act on.
extension LicensedAgent {
    func makeStatus(_ view: LicensingView, running: Bool) -> AgentStatus {
        let licensing = view.licensing
        let installed = installedLicense
        let check = licensing.validate(unixTime: Int64(WallClock.secondsSinceEpoch()))
        let authority = licensing.authority

        var problems: [String] = []
        if !running { problems.append("the agent has stopped") }
        if running, !view.isJoined {
            let seedList = seeds.isEmpty ? "none" : seeds.map(\.description).joined(separator: ", ")
            problems.append("not joined: no seed has answered yet (seeds: \(seedList)); check that the seeds run and that their gossip port is reachable over UDP and TCP")
        }
        if let problem = installed.problem {
            problems.append(problem)
        } else if !check.isAllowed {
            problems.append(check.message)
        }
        // Whether this node's acquires can be answered at all: never healthy while they cannot.
        let service = running && view.isJoined ? licensing.serviceProblem(now: view.now) : nil
        if let service { problems.append(service) }
        // A MAC claimed twice is reported everywhere, whether or not it blocks service.
        for conflict in licensing.duplicateMACs where service?.contains(conflict.description) != true {
            problems.append("\(conflict): each host needs its own MAC; fix the agent's `mac` setting on one of them")
        }

        var members: [MemberStatus] = []
        for member in ([view.myself] + view.others).sorted(by: { $0.id < $1.id }) {
            let advert = NodeAdvert(metadata: member.metadata)
            members.append(MemberStatus(
                id: member.id.description, address: member.address.rawValue, state: member.state.description,
                incarnation: member.incarnation, mac: advert.map { formatMAC($0.mac) }, licenseID: advert.map(\.licenseID),
                cores: licensing.ledger.cores(of: member.id), isAuthority: member.id == authority, isSelf: member.id == id))
        }
        let ledger = licensing.ledger.grants.values.sorted { $0.node < $1.node }.map {
            GrantStatus(node: $0.node.description, cores: $0.cores, stamp: $0.stamp.description)
        }
        let licensed = check.isAllowed && installed.isValid
        return AgentStatus(
            node: id.description, address: agent.address.description, cluster: clusterName, mac: mac.description,
            joined: view.isJoined, licensed: licensed, healthy: running && view.isJoined && licensed && service == nil, problems: problems,
            authority: authority?.description, epoch: licensing.epoch.description, isAuthority: licensing.isAuthority,
            license: licenseStatus(installed, licensing: licensing), coresHeld: licensing.ownGrant?.cores ?? 0,
            coresInUse: licensing.ledger.total(), members: members, ledger: ledger, localHealth: agent.counters.localHealth,
            uptimeSeconds: (MonotonicClock.now() - startedAt).seconds)
    }

    private func licenseStatus(_ installed: InstalledLicense, licensing: LicensingNode) -> LicenseStatus {
        let license = installed.signed.license
        var problems: [String] = installed.problem.map { [$0] } ?? []
        problems += installed.warnings
        if !licensing.mismatch.isEmpty {
            problems.append("license servers hold different licenses: " + licensing.mismatch.map(\.description).joined(separator: "; "))
        }
        if !licensing.licenseMix.isEmpty {
            // Not a fault: a renewal being rolled out. Service goes on under the authority's version.
            let authorityLicense = licensing.authority.flatMap { id in
                id == licensing.id ? licensing.terms?.id : licensing.licenseMix.first { $0.node == id }?.licenseID
            }
            problems.append("license servers hold different versions of this license (a renewal in progress?): "
                + licensing.licenseMix.map(\.description).joined(separator: "; ")
                + ". The authority enforces \(authorityLicense.map { "license \($0)" } ?? "its own version")."
                + " Fix: install the same license file on every license server listed in it and reload each (SIGHUP).")
        }
        return LicenseStatus(
            id: license.id, licensee: license.licensee, maxCores: license.maxCores, expires: license.expires.rfc3339,
            notBefore: license.notBefore?.rfc3339, servers: license.servers.map(\.description), hosts: license.hosts.count,
            features: license.features, valid: installed.isValid, problems: problems, policy: licensing.policy.rawValue)
    }
}
