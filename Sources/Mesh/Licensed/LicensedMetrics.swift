import Licensing
import SWIM
import Wire

/// The agent's metrics in the Prometheus text format (`GET /metrics`). Names start with `licmesh_`;
/// counters count from the agent's start.
enum LicensedMetrics {
    static func exposition(view: LicensingView, running: Bool, agent: AgentCounters, licensing: LicensingCounters,
                           kernelDrops: Int? = nil) -> String {
        var out = PrometheusExposition()
        let node = view.licensing
        out.gauge("licmesh_up", help: "1 while the agent runs.", value: running ? 1 : 0)
        out.gauge("licmesh_joined", help: "1 once a seed answered (or this agent founded the cluster).", value: view.isJoined ? 1 : 0)

        var byState: [MemberState: Int] = [:]
        for member in [view.myself] + view.others { byState[member.state, default: 0] += 1 }
        out.gauge("licmesh_members", help: "Members known here by state, this node included.",
                  samples: MemberState.allCases.map { PrometheusSample([("state", $0.description)], Double(byState[$0] ?? 0)) })

        let swim = agent.swim
        out.counter("licmesh_probes_total", help: "Direct probes started.", value: Double(swim.probes))
        out.counter("licmesh_indirect_probes_total", help: "Ping-req messages sent after a direct ping went unanswered.", value: Double(swim.indirectProbes))
        out.counter("licmesh_failed_probes_total", help: "Probes that ended without an ack.", value: Double(swim.failedProbes))
        out.counter("licmesh_suspicions_total", help: "Suspicions this node raised itself.", value: Double(swim.suspicionsRaised))
        out.counter("licmesh_deaths_declared_total", help: "Dead declarations this node made itself.", value: Double(swim.deathsDeclared))
        out.counter("licmesh_refutations_total", help: "Times this node raised its incarnation to refute a suspicion of itself.", value: Double(swim.refutations))
        out.histogram("licmesh_detection_latency_seconds",
                      help: "Time from a member's first suspicion to its confirmed death, as seen by this node.", licensing.detectionLatency)
        out.gauge("licmesh_local_health", help: "Lifeguard local health multiplier score (0 = healthy).", value: Double(agent.localHealth))

        out.gauge("licmesh_authority_epoch", help: "Raw value of the highest established authority epoch known here (round << 8 | server rank).",
                  value: Double(node.epoch.rawValue))
        out.gauge("licmesh_is_authority", help: "1 while this node acts as license authority.", value: node.isAuthority ? 1 : 0)
        out.counter("licmesh_authority_changes_total", help: "Authority epochs established, heard of or started here.", value: Double(licensing.authorityChanges))
        out.gauge("licmesh_cores_in_use", help: "Cores the ledger replica grants in the whole cluster.", value: Double(node.ledger.total()))
        out.gauge("licmesh_cores_limit", help: "The license's cluster-wide core limit (0 without a license).", value: Double(node.terms?.maxCores ?? 0))
        out.gauge("licmesh_cores_held", help: "Cores this node holds.", value: Double(node.ownGrant?.cores ?? 0))
        out.gauge("licmesh_license_valid", help: "1 when the installed license verified on this node.", value: node.licenseValid ? 1 : 0)
        out.counter("licmesh_grants_total", help: "Grants answered by this node as authority.", value: Double(licensing.grants))
        out.counter("licmesh_releases_total", help: "Releases recorded by this node as authority.", value: Double(licensing.releases))
        out.counter("licmesh_refusals_total", help: "Requests refused by this node as authority.", value: Double(licensing.refusals))
        out.counter("licmesh_validations_total", help: "Local license checks answered, by result.",
                    samples: [PrometheusSample([("result", "allowed")], Double(licensing.validationsAllowed)),
                              PrometheusSample([("result", "denied")], Double(licensing.validationsDenied))])

        var packets: [PrometheusSample] = []
        var bytes: [PrometheusSample] = []
        for (channel, traffic) in [("udp", agent.datagrams), ("tcp", agent.streams)] {
            for kind in MessageKind.allCases {
                let labelsIn = [("channel", channel), ("direction", "in"), ("type", kind.description)]
                let labelsOut = [("channel", channel), ("direction", "out"), ("type", kind.description)]
                packets.append(PrometheusSample(labelsIn, Double(traffic.packetsIn(kind))))
                packets.append(PrometheusSample(labelsOut, Double(traffic.packetsOut(kind))))
                bytes.append(PrometheusSample(labelsIn, Double(traffic.bytesIn(kind))))
                bytes.append(PrometheusSample(labelsOut, Double(traffic.bytesOut(kind))))
            }
        }
        out.counter("licmesh_packets_total", help: "Datagrams (udp) and stream frames (tcp) by message type and direction.", samples: packets)
        out.counter("licmesh_bytes_total", help: "Bytes on the wire by channel, message type and direction.", samples: bytes)
        out.counter("licmesh_decode_failures_total", help: "Packets and frames rejected by the codec, by reason.",
                    samples: WireError.Kind.allCases.map { PrometheusSample([("reason", $0.rawValue)], Double(agent.decodeErrors($0))) })
        out.counter("licmesh_authentication_failures_total", help: "Packets no accepted gossip key authenticates.", value: Double(agent.authenticationFailures))
        out.counter("licmesh_oversize_datagrams_total", help: "Datagrams above the packet budget, dropped unread.", value: Double(agent.oversizeDatagrams))
        out.counter("licmesh_malformed_licensing_messages_total", help: "Licensing messages that did not decode, dropped.", value: Double(licensing.malformedMessages))
        out.counter("licmesh_send_failures_total", help: "Datagrams the kernel would not send.", value: Double(agent.sendFailures))
        out.counter("licmesh_licensing_rejected_total", help: "Licensing messages and payloads dropped before they changed anything, by reason.",
                    samples: [
                        PrometheusSample([("reason", "implausible")], Double(node.rejections.implausible)),
                        PrometheusSample([("reason", "not-from-member")], Double(node.rejections.notFromMember)),
                        PrometheusSample([("reason", "not-a-member")], Double(node.rejections.notAMember)),
                        PrometheusSample([("reason", "stale")], Double(node.rejections.stale)),
                        PrometheusSample([("reason", "unsolicited-entries")], Double(node.rejections.unsolicitedEntries)),
                        PrometheusSample([("reason", "throttled-pull")], Double(node.rejections.throttledPulls)),
                        PrometheusSample([("reason", "not-a-server")], Double(node.rejections.notAServer)),
                    ])
        out.counter("licmesh_ledger_whole_pulls_total", help: "Pulls of the authority's whole ledger (a replica complete up to the announced head whose digest differed).",
                    value: Double(node.fullLedgerPulls))
        out.counter("licmesh_lease_renewals_total", help: "Times this node asked the authority to confirm its grant after the authority's heartbeats missed it twice.",
                    value: Double(node.leaseRenewals))
        out.counter("licmesh_implausible_updates_total", help: "Membership updates with an incarnation no member could reach, dropped.",
                    value: Double(agent.swim.implausibleUpdates))
        if let kernelDrops {
            out.counter("licmesh_udp_kernel_drops_total", help: "Datagrams the kernel dropped before the agent read them (receive buffer full).",
                        value: Double(kernelDrops))
        }
        out.gauge("licmesh_duplicate_macs", help: "MACs advertised by more than one live member (none may act as authority).",
                  value: Double(node.duplicateMACs.count))
        out.counter("licmesh_stream_refusals_total", help: "Stream connections refused because every worker was busy, and exchanges skipped because too many were in flight.",
                    samples: [PrometheusSample([("direction", "incoming")], Double(agent.streamWorkersRefused)),
                              PrometheusSample([("direction", "outgoing")], Double(agent.outgoingStreamsRefused))])
        return out.text
    }
}
