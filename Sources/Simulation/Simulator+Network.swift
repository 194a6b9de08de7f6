import SWIM
import Licensing

/// Carrying messages: directives in, queued deliveries out, and their arrival at the other end.
extension Simulator {
    /// Carries out what a node asked for, and records what its licensing layer reported. `streamPeer`
    /// is the node whose stream the input came over: `replyOnStream` answers go back to it.
    func apply(_ output: ClusterNode.Output, of node: Int, streamPeer: Int? = nil) {
        execute(output.directives, of: node, streamPeer: streamPeer)
        if !output.licensingEvents.isEmpty { recordLicensing(output.licensingEvents, at: node) }
        if output.reactionLimitHits > 0 { reactionLimitHit(at: node, count: output.reactionLimitHits) }
    }

    func execute(_ directives: [Directive], of node: Int, streamPeer: Int?) {
        for directive in directives {
            switch directive {
            case .send(let message, let address):
                sendDatagram(message, from: node, to: address)
            case .pushPull(let state, let address):
                sendOverStream(.pushPullRequest(state), from: node, to: address, opening: true)
            case .replyOnStream(let message):
                if let peer = streamPeer {
                    sendOverStream(message, from: node, to: addresses[peer], opening: false)
                } else {
                    network.unroutable += 1
                }
            case .streamPing(let ping, let address):
                sendOverStream(.ping(ping), from: node, to: address, opening: true)
            case .event(let event):
                record(event, at: node)
            case .deliver(let payload):
                network.payloadDeliveries += 1
                onDeliver?(node, payload, now)
            case .deliverMessage(let message, let address):
                network.applicationMessageDeliveries += 1
                onApplicationMessage?(node, message, NodeNaming.node(of: address, count: nodeCount), now)
            }
        }
    }

    @inline(__always)
    func size(of message: Message) -> Int {
        WireSize.of(message) + (scenario.countEncryptionOverhead ? WireSize.encryptionOverhead : 0)
    }

    @inline(__always)
    func link(from sender: Int, to receiver: Int) -> LinkModel {
        if linkRules.isEmpty { return defaultLink }
        for index in linkRules.indices where linkRules[index].matches(from: sender, to: receiver) {
            return linkRules[index].model
        }
        return defaultLink
    }

    @inline(__always)
    func partitioned(from sender: Int, to receiver: Int) -> Bool {
        for index in partitions.indices where partitions[index].blocks(from: sender, to: receiver) { return true }
        return false
    }

    func sendDatagram(_ message: Message, from sender: Int, to address: Address) {
        traffic.count(message.kind, stream: false, bytes: size(of: message))
        network.datagramsSent += 1
        guard let receiver = NodeNaming.node(of: address, count: nodeCount) else {
            network.unroutable += 1
            return
        }
        if !partitions.isEmpty, partitioned(from: sender, to: receiver) {
            network.droppedByPartition += 1
            return
        }
        let model = link(from: sender, to: receiver)
        if model.loss > 0, random.chance(model.loss) {
            network.droppedByLoss += 1
            return
        }
        let event = SimulationEvent.datagram(message, from: Int32(sender), to: Int32(receiver), handedLate: false)
        queue.push(event, at: Instant(nanoseconds: now.nanoseconds + model.datagramDelay(&random)))
        if model.duplication > 0, random.chance(model.duplication) {
            network.duplicated += 1
            queue.push(event, at: Instant(nanoseconds: now.nanoseconds + model.datagramDelay(&random)))
        }
    }

    /// A message over a reliable stream: no loss, but a partition in either direction breaks it
    /// (TCP needs both), and so does a down endpoint. `opening` adds the connection handshake
    /// (one round trip before the first byte).
    func sendOverStream(_ message: Message, from sender: Int, to address: Address, opening: Bool) {
        traffic.count(message.kind, stream: true, bytes: size(of: message))
        network.streamMessagesSent += 1
        guard let receiver = NodeNaming.node(of: address, count: nodeCount) else {
            network.unroutable += 1
            return
        }
        if !partitions.isEmpty, partitioned(from: sender, to: receiver) || partitioned(from: receiver, to: sender) {
            network.streamFailures += 1
            return
        }
        let model = link(from: sender, to: receiver)
        var delay = model.streamDelay(&random)
        if opening { delay += 2 * model.latency }
        queue.push(.stream(message, from: Int32(sender), to: Int32(receiver), handedLate: false),
                   at: Instant(nanoseconds: now.nanoseconds + delay))
    }

    func arrive(_ message: Message, from sender: Int, to receiver: Int, overStream: Bool, handedLate: Bool) {
        guard nodes[receiver].status.isUp else {
            if overStream { network.streamFailures += 1 } else { network.droppedAtDownNode += 1 }
            return
        }
        // A partition that came up while a stream message was in flight breaks the stream.
        if overStream, !partitions.isEmpty,
           partitioned(from: sender, to: receiver) || partitioned(from: receiver, to: sender) {
            network.streamFailures += 1
            return
        }
        // A slow node gets its messages late: they wait here once more before being handed over.
        if !handedLate, nodes[receiver].slowDelay > 0 {
            let late: SimulationEvent = overStream
                ? .stream(message, from: Int32(sender), to: Int32(receiver), handedLate: true)
                : .datagram(message, from: Int32(sender), to: Int32(receiver), handedLate: true)
            queue.push(late, at: Instant(nanoseconds: now.nanoseconds + nodes[receiver].slowDelay))
            return
        }
        if overStream { network.streamMessagesDelivered += 1 } else { network.datagramsDelivered += 1 }
        digest.add(UInt64(bitPattern: now.nanoseconds))
        digest.add(UInt64(sender) << 32 | UInt64(receiver))
        digest.add(UInt64(message.kind.rawValue) | (overStream ? 0x100 : 0))

        onArrival?(message, sender, receiver, overStream)
        if scenario.adversary != nil, !handedLate { record(message, from: sender, overStream: overStream) }

        // What came over a stream is answered on it (a push-pull response, a stream ping's ack).
        guard let output = instances[receiver]?.receive(message, from: addresses[sender], over: overStream ? .stream : .datagram,
                                                        now: now) else { return }
        apply(output, of: receiver, streamPeer: overStream ? sender : nil)
        scheduleTick(receiver)
    }
}
