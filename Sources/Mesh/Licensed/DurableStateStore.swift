import Dispatch
import Licensing
import SWIM
import Wire
import Synchronization

/// Keeps the licensing layer's durable state (`LicensingDurableState`) and the SWIM incarnation floor
/// in the data directory, off the agent's I/O thread.
///
/// Every write goes through one serial queue and writes the newest state handed in (older ones that
/// were never written are skipped), so writes never reorder and a burst of ledger changes costs one
/// write. Changes of the epoch or of the promise are written before `record` returns (`urgent`): a
/// promise must be on disk before the message carrying it leaves, or a restarted server could promise
/// an older epoch again.
final class DurableStateStore: Sendable {
    private struct Pending: Sendable {
        var state: LicensingDurableState?
        var incarnation: UInt64?
        var directory: DataDirectory?
        var lastWritten: LicensingDurableState?
        var lastOwnGrant: Grant??
        var freshness: FreshnessRecord?
        var lastFreshness: FreshnessRecord?
    }

    private let queue: DispatchQueue
    private let pending: Mutex<Pending>
    private let log: AgentLog

    init(directory: DataDirectory, restored: LicensingDurableState?, log: AgentLog) {
        queue = DispatchQueue(label: "licmesh.data-\(directory.nodeID)")
        // What is on disk already: nothing is rewritten until it changes.
        var onDisk: Grant?? = .none
        if let restored { onDisk = .some(restored.ownGrant) }
        pending = Mutex(Pending(state: nil, incarnation: nil, directory: directory, lastWritten: restored, lastOwnGrant: onDisk))
        self.log = log
    }

    /// Loads what a previous life saved. Files that cannot be trusted are set aside; each is returned
    /// as a notice for the log and the status.
    static func load(from directory: DataDirectory) throws(PersistenceError) -> (state: LicensingDurableState?, notices: [String]) {
        var notices: [String] = []
        let ledger = try directory.loadLedger()
        let own = try directory.loadOwnGrant()
        if let file = ledger.setAsideFile { notices.append(file.description) }
        if let file = own.setAsideFile { notices.append(file.description) }
        let snapshot = ledger.value
        let ownGrant = own.value
        guard snapshot != nil || ownGrant != nil else { return (nil, notices) }
        let state = LicensingDurableState(
            epoch: snapshot?.epoch ?? .none, authority: snapshot?.authority, promised: snapshot?.promised ?? .none,
            grants: snapshot.map { $0.ledger.grants.values.sorted { $0.node < $1.node } } ?? [], ownGrant: ownGrant,
            savedAt: snapshot?.savedAt ?? 0)
        return (state, notices)
    }

    /// Hands in the licensing state after a change; writes it if it differs from what is on disk.
    func record(_ state: LicensingDurableState) {
        let urgent: Bool? = pending.withLock { pending in
            guard pending.directory != nil else { return nil }
            let reference = pending.state ?? pending.lastWritten
            guard reference != state else { return nil }
            pending.state = state
            return reference.map { $0.promised != state.promised || $0.epoch != state.epoch } ?? true
        }
        guard let urgent else { return }
        if urgent { queue.sync { writePending() } } else { queue.async { self.writePending() } }
    }

    /// Raises the incarnation floor (a refutation or a metadata update raised this life's incarnation).
    func recordIncarnation(_ incarnation: UInt64) {
        let changed = pending.withLock { pending -> Bool in
            guard pending.directory != nil, incarnation > (pending.incarnation ?? 0) else { return false }
            pending.incarnation = incarnation
            return true
        }
        if changed { queue.async { self.writePending() } }
    }

    /// Hands in what the envelope accepted so far (`FreshnessTable.floors`); written if it changed.
    /// Called every few seconds and on stop: an unclean stop loses at most what was accepted since.
    func recordFreshness(_ record: FreshnessRecord) {
        let changed = pending.withLock { pending -> Bool in
            guard pending.directory != nil, record != (pending.freshness ?? pending.lastFreshness) else { return false }
            pending.freshness = record
            return true
        }
        if changed { queue.async { self.writePending() } }
    }

    /// Writes what is pending, then lets go of the directory (which closes its lock when the last
    /// reference goes). Nothing is written after this.
    func close() {
        queue.sync { writePending() }
        pending.withLock { $0.directory = nil }
    }

    private func writePending() {
        let (directory, state, incarnation, lastOwnGrant, freshness) = pending.withLock { pending in
            defer { pending.state = nil; pending.incarnation = nil; pending.freshness = nil }
            return (pending.directory, pending.state, pending.incarnation, pending.lastOwnGrant, pending.freshness)
        }
        guard let directory else { return }
        if let freshness {
            do {
                try directory.saveFreshness(freshness)
                pending.withLock { $0.lastFreshness = freshness }
            } catch {
                log.limited("data-write", .error, "cannot save the envelope freshness record", [LogField("error", error.description)])
            }
        }
        if let incarnation {
            do { try directory.recordIncarnation(incarnation) } catch {
                log.limited("data-write", .error, "cannot save the incarnation floor", [LogField("error", error.description)])
            }
        }
        guard let state else { return }
        do {
            try directory.saveLedger(LedgerSnapshot(ledger: Ledger(state.grants), epoch: state.epoch, authority: state.authority,
                                                    promised: state.promised, savedAt: state.savedAt))
            if lastOwnGrant != .some(state.ownGrant) { try directory.saveOwnGrant(state.ownGrant) }
            pending.withLock { pending in
                pending.lastWritten = state
                pending.lastOwnGrant = .some(state.ownGrant)
            }
        } catch {
            // Kept in memory; the next change tries again. The log says what to fix.
            log.limited("data-write", .error, "cannot save the licensing state", [LogField("error", error.description)])
        }
    }
}
