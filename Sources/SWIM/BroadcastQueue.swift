/// The dissemination queue: updates waiting to be piggybacked, least-sent first and, among equally
/// sent ones, newest first; each dropped after its retransmit limit.
///
/// One entry per subject (a member, or a payload key): a newer update about the same subject replaces
/// the older one, so the queue never carries contradicting news and stays bounded by the number of
/// subjects. Entries sit in buckets by transmit count, each bucket ordered oldest to newest, so taking
/// the best entries walks a bucket from its end and costs about as much as what is taken (plus at
/// most `maximumMisses` entries too large for the room left).
struct BroadcastQueue: Sendable {
    enum Subject: Hashable, Sendable {
        case member(NodeID)
        case payload(String)
    }

    private struct Entry: Sendable {
        var gossip: Gossip
        var size: Int
        var transmits: Int
        var order: UInt64
        /// A lower retransmit limit of its own (a periodically refreshed payload), or nil.
        var limit: Int?
        /// For a periodic payload (`limit` set): where it was sent. Only a transmission to a new
        /// recipient counts towards its few transmissions: a member we exchange many messages with
        /// (a node watching us) would otherwise use them all, and others would miss this version.
        var recipients: [Address] = []
    }

    private struct Slot: Sendable {
        var order: UInt64
        var subject: Subject
    }

    private var entries: [Subject: Entry] = [:]
    /// Queued entries the last `take` looked at, taken or not: what one datagram cost.
    private(set) var visitedInLastTake = 0
    /// buckets[t]: subjects sent t times, ascending by `order` (newest last).
    private var buckets: [[Slot]] = []
    private var nextOrder: UInt64 = 0

    /// The smallest update on the wire (a `left`): below this budget nothing more can fit.
    static let smallestUpdate = 10
    /// Entries that did not fit, looked at in one `take` before it gives up: the space left is then
    /// too small for what is queued. Without this bound, a nearly full message with a long queue of
    /// larger updates would visit every entry, making each datagram cost O(queue).
    static let maximumMisses = 16

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    static func subject(of gossip: Gossip) -> Subject {
        switch gossip {
        case .payload(let payload): .payload(payload.key)
        case .alive(let id, _, _, _), .suspect(let id, _, _), .dead(let id, _, _), .left(let id, _): .member(id)
        }
    }

    /// Adds an update, replacing any queued update about the same subject; it starts unsent. `limit`,
    /// when given, caps its transmissions below the queue's limit.
    mutating func enqueue(_ gossip: Gossip, limit: Int? = nil) {
        let subject = Self.subject(of: gossip)
        if let old = entries[subject] { removeSlot(order: old.order, transmits: old.transmits) }
        let order = nextOrder
        nextOrder += 1
        entries[subject] = Entry(gossip: gossip, size: WireSize.of(gossip), transmits: 0, order: order, limit: limit)
        insertSlot(Slot(order: order, subject: subject), transmits: 0)
    }

    /// The queued update about a subject, if any.
    func queued(_ subject: Subject) -> Gossip? { entries[subject]?.gossip }

    /// The queued update's own retransmit limit (a periodic payload's), or nil.
    func ownLimit(of subject: Subject) -> Int? { entries[subject]?.limit }

    /// How often the queued update about a subject has been sent.
    func transmits(of subject: Subject) -> Int? { entries[subject]?.transmits }

    /// Takes updates that fit in `budget` bytes, best first, counting one transmission for each and
    /// dropping those that reach `limit`. `first`, when queued, is taken before all others
    /// (the buddy system: a suspect hears of its suspicion first). A periodic payload sent again to
    /// a `recipient` that had it costs none of its transmissions.
    mutating func take(budget: Int, limit: Int, first: Subject? = nil, for recipient: Address? = nil) -> [Gossip] {
        var remaining = budget
        var taken: [Gossip] = []
        var moved: [(Subject, Int)] = []   // subject, transmits before this take

        if let first, let entry = entries[first], entry.size <= remaining {
            taken.append(entry.gossip)
            remaining -= entry.size
            removeSlot(order: entry.order, transmits: entry.transmits)
            moved.append((first, entry.transmits))
        }
        var t = 0
        var misses = 0
        visitedInLastTake = 0
        while t < buckets.count, remaining >= Self.smallestUpdate, misses < Self.maximumMisses {
            if t >= limit {
                // Sent often enough (the limit may have fallen as the cluster shrank): drop.
                for slot in buckets[t] { entries[slot.subject] = nil }
                buckets[t].removeAll()
                t += 1
                continue
            }
            var index = buckets[t].count - 1
            var pickedIndices: [Int] = []
            while index >= 0, remaining >= Self.smallestUpdate, misses < Self.maximumMisses {
                let subject = buckets[t][index].subject
                visitedInLastTake += 1
                if let entry = entries[subject], entry.size <= remaining {
                    taken.append(entry.gossip)
                    remaining -= entry.size
                    pickedIndices.append(index)
                    moved.append((subject, t))
                } else {
                    misses += 1
                }
                index -= 1
            }
            // pickedIndices descend; removing in that order keeps the rest valid.
            for i in pickedIndices { buckets[t].remove(at: i) }
            t += 1
        }
        for (subject, previous) in moved {
            guard var entry = entries[subject] else { continue }
            if entry.limit != nil, let recipient {
                if entry.recipients.contains(recipient) {
                    entry.transmits = previous
                } else {
                    entry.transmits = previous + 1
                    entry.recipients.append(recipient)
                }
            } else {
                entry.transmits = previous + 1
            }
            if entry.transmits >= min(limit, entry.limit ?? limit) {
                entries[subject] = nil
            } else {
                entries[subject] = entry
                insertSlot(Slot(order: entry.order, subject: subject), transmits: entry.transmits)
            }
        }
        while let last = buckets.last, last.isEmpty { buckets.removeLast() }
        return taken
    }

    /// Forgets the queued update about a subject.
    mutating func remove(_ subject: Subject) {
        guard let entry = entries.removeValue(forKey: subject) else { return }
        removeSlot(order: entry.order, transmits: entry.transmits)
    }

    private mutating func insertSlot(_ slot: Slot, transmits: Int) {
        while buckets.count <= transmits { buckets.append([]) }
        let position = insertionPoint(of: slot.order, in: buckets[transmits])
        buckets[transmits].insert(slot, at: position)
    }

    private mutating func removeSlot(order: UInt64, transmits: Int) {
        guard transmits < buckets.count else { return }
        let position = insertionPoint(of: order, in: buckets[transmits])
        if position < buckets[transmits].count, buckets[transmits][position].order == order {
            buckets[transmits].remove(at: position)
        }
    }

    /// First index whose order is not below `order` (binary search; buckets are sorted by order).
    private func insertionPoint(of order: UInt64, in bucket: [Slot]) -> Int {
        var low = 0, high = bucket.count
        while low < high {
            let mid = (low + high) / 2
            if bucket[mid].order < order { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
