import SWIM

/// The report as a readable table (what `licmesh simulate` prints without --json).
extension SimulationReport {
    public func table() -> String {
        membershipTable() + (licensing.map { "\n" + $0.table(periodSeconds: probeIntervalSeconds) } ?? "")
    }

    func membershipTable() -> String {
        var out = ""
        let crashes = detections.count
        out += "Failure detection (\(crashes) crash\(crashes == 1 ? "" : "es"); seconds, and protocol periods in brackets)\n"
        if crashes > 0 {
            var rows = [["", "detected", "median", "p90", "max"]]
            for (name, distribution) in [("crash -> first suspicion", firstSuspicion),
                                         ("crash -> first confirmed dead", firstDead),
                                         ("crash -> dead at every live member", deadEverywhere)] {
                rows.append([name, "\(distribution.count)/\(crashes)",
                             Self.cell(distribution.median, distribution.medianPeriods),
                             Self.cell(distribution.p90, distribution.p90Periods),
                             Self.cell(distribution.max, distribution.maxPeriods)])
            }
            out += Self.render(rows, rightAligned: [1, 2, 3, 4])
            if crashes <= 20 {
                out += "\n"
                var perCrash = [["node", "crashed at", "first suspicion", "first dead", "dead everywhere", "not confirmed by"]]
                for d in detections {
                    perCrash.append(["\(d.node)", Self.fixed(d.crashedAt, 3) + "s",
                                     Self.cell(d.firstSuspicion, d.firstSuspicion.map { $0 / probeIntervalSeconds }),
                                     Self.cell(d.firstDead, d.firstDead.map { $0 / probeIntervalSeconds }),
                                     Self.cell(d.deadEverywhere, d.deadEverywhere.map { $0 / probeIntervalSeconds }),
                                     "\(d.notConfirmedBy)"])
                }
                out += Self.render(perCrash, rightAligned: [0, 1, 2, 3, 4, 5])
            }
        } else {
            out += "  no crashes in this run (use --crash K)\n"
        }

        out += "\nFalse accusations (of members that were up)\n"
        out += Self.render([
            ["", "events", "accusations", "members", "sample"],
            ["suspicions", "\(falseSuspicions.events)", "\(falseSuspicions.accusations)", "\(falseSuspicions.members)",
             falseSuspicions.sample.map(String.init).joined(separator: ",")],
            ["dead declarations", "\(falseDeaths.events)", "\(falseDeaths.accusations)", "\(falseDeaths.members)",
             falseDeaths.sample.map(String.init).joined(separator: ",")],
        ], rightAligned: [1, 2, 3])

        out += "\nTraffic per node per protocol period\(encryptionOverheadCounted ? " (bytes include encryption)" : "")\n"
        var traffic = [["kind", "datagrams", "bytes", "stream msgs", "stream bytes"]]
        for row in self.traffic {
            traffic.append([row.kind, Self.fixed(row.datagramsPerNodePerPeriod, 3), Self.fixed(row.datagramBytesPerNodePerPeriod, 1),
                            Self.fixed(row.streamMessagesPerNodePerPeriod, 3), Self.fixed(row.streamBytesPerNodePerPeriod, 1)])
        }
        traffic.append(["total (all kinds)", Self.fixed(messagesPerNodePerPeriod, 3), Self.fixed(bytesPerNodePerPeriod, 1), "", ""])
        out += Self.render(traffic, rightAligned: [1, 2, 3, 4])
        let bytesPerSecond = probeIntervalSeconds > 0 ? bytesPerNodePerPeriod / probeIntervalSeconds : 0
        out += "  = \(Self.fixed(bytesPerSecond, 1)) B/s per node\n"

        out += "\nNetwork: \(network.datagramsSent) datagrams sent, \(network.droppedByLoss) lost, "
            + "\(network.droppedByPartition) cut by partitions, \(network.droppedAtDownNode) to down nodes, "
            + "\(network.duplicated) duplicated; \(network.streamMessagesSent) stream messages, \(network.streamFailures) failed\n"
        out += "Protocol (live nodes at the end): \(protocolTotals.probes) probes, \(protocolTotals.indirectProbes) indirect, "
            + "\(protocolTotals.failedProbes) failed, \(protocolTotals.refutations) refutations, "
            + "max local health \(protocolTotals.maxLocalHealth)\n"
        let convergence = converged.map { $0 ? "yes" : "NO" } ?? "not checked"
        out += "Cluster at the end: \(liveNodes) live nodes, converged: \(convergence)"
        if let since = convergedSince { out += " (since \(Self.fixed(since, 3))s)" }
        out += "\nRun: \(membershipEvents) membership events, \(queueEvents) queue events, trace digest \(traceDigest)\n"
        return out
    }

    /// "1.234s (1.23)" or "-" when absent.
    static func cell(_ seconds: Double?, _ periods: Double?) -> String {
        guard let seconds else { return "-" }
        return Self.fixed(seconds, 3) + "s" + (periods.map { " (\(Self.fixed($0, 2)))" } ?? "")
    }

    /// A number with a fixed count of decimals, without Foundation.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let integer = UInt64(scaled)
        let unit = UInt64(scale)
        let whole = integer / unit
        let fraction = String(integer % unit)
        let sign = value < 0 && integer != 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(whole)" }
        return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
    }

    static func render(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in rows {
            var line = " "
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                line += " " + (rightAligned.contains(i) ? pad + cell : cell + pad)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}

extension LicensingReport {
    /// The licensing figures as a readable block.
    public func table(periodSeconds: Double) -> String {
        var out = "Licensing (limit \(maxCores) cores, policy \(policy))\n"
        var rows = [["", "value"]]
        let served = takeovers.compactMap(\.firstServedAfter).count
        rows.append(["authority crashes", "\(takeovers.count)"])
        if !takeovers.isEmpty {
            rows.append(["crash -> first acquire served by the new authority (median)",
                         SimulationReport.cell(takeoverTime.median, takeoverTime.medianPeriods) + " (\(served)/\(takeovers.count) served)"])
            rows.append(["  max", SimulationReport.cell(takeoverTime.max, takeoverTime.maxPeriods)])
        }
        rows.append(["validations (failed)", "\(validations) (\(failedValidations))"])
        rows.append(["grants answered / refusals", "\(grants) / \(refusals)"])
        rows.append(["most cores held by live nodes", "\(maxHeldCores)" + (maxExcess > 0 ? " (excess \(maxExcess))" : "")])
        rows.append(["epochs started", "\(epochs)"])
        rows.append(["invariant violations", "\(invariantViolations) (over limit: \(overLimitSteps) steps, lost grants: \(lostGrants))"])
        rows.append(["ledgers equal at the end", ledgersConverged ? "yes" : "no"])
        out += SimulationReport.render(rows, rightAligned: [1])
        return out
    }
}
