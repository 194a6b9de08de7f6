import SWIM

/// Figures computed from the recorded events and the nodes' lives.
extension Simulator {
    /// The report for the run so far. `checkConvergence` (default: up to 2,000 nodes) costs O(n^2).
    public func report(checkConvergence: Bool? = nil) -> SimulationReport {
        let period = scenario.settings.probeInterval.seconds
        let accusations = accusationsByMember()
        let detections = crashDetections(accusations)
        let (falseSuspicions, falseDeaths) = falseAccusations(accusations)
        let nodePeriods = self.nodePeriods()
        let perNodePeriod = { (value: Int) -> Double in nodePeriods > 0 ? Double(value) / nodePeriods : 0 }

        var rows: [TrafficRow] = []
        for kind in MessageKind.allCases {
            let total = traffic.messages(kind, stream: false) + traffic.messages(kind, stream: true)
            guard total > 0 else { continue }
            rows.append(TrafficRow(kind: kind.description,
                                   datagramsPerNodePerPeriod: perNodePeriod(traffic.messages(kind, stream: false)),
                                   datagramBytesPerNodePerPeriod: perNodePeriod(traffic.bytes(kind, stream: false)),
                                   streamMessagesPerNodePerPeriod: perNodePeriod(traffic.messages(kind, stream: true)),
                                   streamBytesPerNodePerPeriod: perNodePeriod(traffic.bytes(kind, stream: true))))
        }

        var totals = ProtocolTotals()
        for node in instances {
            let instance = node?.swim
            guard let metrics = instance?.metrics else { continue }
            totals.probes += metrics.probes
            totals.indirectProbes += metrics.indirectProbes
            totals.failedProbes += metrics.failedProbes
            totals.suspicionsRaised += metrics.suspicionsRaised
            totals.deathsDeclared += metrics.deathsDeclared
            totals.refutations += metrics.refutations
            totals.pushPullsStarted += metrics.pushPullsStarted
            totals.maxLocalHealth = max(totals.maxLocalHealth, instance?.localHealth ?? 0)
        }

        let check = checkConvergence ?? (nodeCount <= 2_000)
        return SimulationReport(
            nodes: nodeCount, periods: scenario.periods, seed: scenario.seed,
            probeIntervalSeconds: period, simulatedSeconds: now.seconds,
            detections: detections,
            firstSuspicion: Distribution(detections.compactMap(\.firstSuspicion), period: period),
            firstDead: Distribution(detections.compactMap(\.firstDead), period: period),
            deadEverywhere: Distribution(detections.compactMap(\.deadEverywhere), period: period),
            falseSuspicions: falseSuspicions, falseDeaths: falseDeaths,
            traffic: rows,
            messagesPerNodePerPeriod: perNodePeriod(traffic.totalMessages),
            bytesPerNodePerPeriod: perNodePeriod(traffic.totalBytes),
            encryptionOverheadCounted: scenario.countEncryptionOverhead,
            network: network,
            liveNodes: liveNodes.count,
            converged: check ? isConverged() : nil,
            convergedSince: convergedSince?.seconds,
            membershipEvents: records.count, queueEvents: eventsProcessed,
            traceDigest: digest.description, protocolTotals: totals, licensing: licensingReport())
    }

    /// Indices of suspicion and death records, grouped by the accused node.
    func accusationsByMember() -> [Int: [Int]] {
        var byMember: [Int: [Int]] = [:]
        for (index, record) in records.enumerated() {
            switch record.event.kind {
            case .suspected(let member, _), .confirmedDead(let member, _):
                guard let node = NodeNaming.node(of: member.id, count: nodeCount) else { continue }
                byMember[node, default: []].append(index)
            default:
                continue
            }
        }
        return byMember
    }

    /// For each crash: time to the first suspicion, to the first death, and to the death being
    /// confirmed at every member that was live at the crash and stayed up.
    func crashDetections(_ accusations: [Int: [Int]]) -> [CrashDetection] {
        var crashes: [(node: Int, at: Instant, windowEnd: Instant)] = []
        for node in nodes.indices {
            let spans = nodes[node].spans
            for (i, span) in spans.enumerated() where span.endedByCrash {
                guard let end = span.end else { continue }
                crashes.append((node, end, i + 1 < spans.count ? spans[i + 1].start : .distantFuture))
            }
        }
        crashes.sort { ($0.at, $0.node) < ($1.at, $1.node) }

        return crashes.map { crash in
            // Who must confirm: up and not leaving at the crash, and still up when the window closes
            // (or the run ends).
            let closes = min(crash.windowEnd, now)
            var required = Set<Int>()
            for observer in nodes.indices where observer != crash.node {
                if nodes[observer].spans.contains(where: { span in
                    span.contains(crash.at) && (span.leftAt.map { $0 > crash.at } ?? true)
                        && (span.end.map { $0 >= closes } ?? true)
                }) {
                    required.insert(observer)
                }
            }
            var firstSuspicion: Instant?
            var firstDead: Instant?
            var confirmedAt: [Int: Instant] = [:]
            for index in accusations[crash.node] ?? [] {
                let record = records[index]
                guard record.time >= crash.at, record.time < crash.windowEnd, record.node != crash.node else { continue }
                switch record.event.kind {
                case .suspected:
                    if firstSuspicion == nil { firstSuspicion = record.time }
                case .confirmedDead:
                    if firstDead == nil { firstDead = record.time }
                    if confirmedAt[record.node] == nil { confirmedAt[record.node] = record.time }
                default:
                    break
                }
            }
            var last: Instant?
            var missing = 0
            for observer in required {
                if let time = confirmedAt[observer] { last = max(last ?? time, time) } else { missing += 1 }
            }
            // A confirmation of death is also a (late) detection when no suspicion event preceded it.
            if let dead = firstDead, firstSuspicion.map({ dead < $0 }) ?? true { firstSuspicion = dead }
            return CrashDetection(node: crash.node, crashedAt: crash.at.seconds,
                                  firstSuspicion: firstSuspicion.map { ($0 - crash.at).seconds },
                                  firstDead: firstDead.map { ($0 - crash.at).seconds },
                                  deadEverywhere: missing == 0 ? last.map { ($0 - crash.at).seconds } : nil,
                                  notConfirmedBy: missing)
        }
    }

    /// Accusations of members that were up at the time: not crashed, not stopped, not departing,
    /// and about the member's current life (news of an earlier life still in flight is not false).
    func falseAccusations(_ accusations: [Int: [Int]]) -> (suspicions: AccusationCount, deaths: AccusationCount) {
        var suspicions = AccusationCount()
        var deaths = AccusationCount()
        var seen = Set<[UInt64]>()
        var suspectedMembers = Set<Int>()
        var deadMembers = Set<Int>()
        for node in accusations.keys.sorted() {
            let spans = nodes[node].spans
            for index in accusations[node] ?? [] {
                let record = records[index]
                let member: Member
                let isDeath: Bool
                switch record.event.kind {
                case .suspected(let m, _): member = m; isDeath = false
                case .confirmedDead(let m, _): member = m; isDeath = true
                default: continue
                }
                guard let span = spans.last(where: { $0.contains(record.time) }) else { continue }
                if let left = span.leftAt, left <= record.time { continue }
                if let earlier = span.earlierLivesIncarnation, member.incarnation <= earlier { continue }
                let key: [UInt64] = [UInt64(node), member.incarnation, isDeath ? 1 : 0]
                let isNew = seen.insert(key).inserted
                if isDeath {
                    deaths.events += 1
                    if isNew { deaths.accusations += 1 }
                    deadMembers.insert(node)
                } else {
                    suspicions.events += 1
                    if isNew { suspicions.accusations += 1 }
                    suspectedMembers.insert(node)
                }
            }
        }
        suspicions.members = suspectedMembers.count
        suspicions.sample = Array(suspectedMembers.sorted().prefix(20))
        deaths.members = deadMembers.count
        deaths.sample = Array(deadMembers.sorted().prefix(20))
        return (suspicions, deaths)
    }

    /// Node-periods the cluster ran: the sum over lives of their length, in probe intervals.
    func nodePeriods() -> Double {
        let period = scenario.settings.probeInterval.seconds
        guard period > 0 else { return 0 }
        var seconds = 0.0
        for node in nodes.indices {
            for span in nodes[node].spans {
                seconds += (min(span.end ?? now, now) - span.start).seconds
            }
        }
        return seconds / period
    }
}
