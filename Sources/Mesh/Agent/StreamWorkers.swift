/// The short-lived threads that make and serve stream exchanges, bounded in number and all joined at
/// shutdown. Owned and used only by the I/O thread.
final class StreamWorkers {
    enum Direction { case incoming, outgoing }

    private var running: [Int: (thread: IOThread, direction: Direction)] = [:]
    private var nextID = 0
    private(set) var incoming = 0
    private(set) var outgoing = 0
    let maximumIncoming: Int
    let maximumOutgoing: Int
    private let gate: CommandGate
    private let namePrefix: String

    init(maximumIncoming: Int, maximumOutgoing: Int, gate: CommandGate, namePrefix: String) {
        self.maximumIncoming = maximumIncoming
        self.maximumOutgoing = maximumOutgoing
        self.gate = gate
        self.namePrefix = namePrefix
    }

    func hasRoom(_ direction: Direction) -> Bool {
        direction == .incoming ? incoming < maximumIncoming : outgoing < maximumOutgoing
    }

    /// Starts `body` on its own thread if there is room; false (and nothing started) otherwise.
    /// The thread tells the loop when it is done, so that the loop joins it and frees its slot.
    @discardableResult
    func start(_ direction: Direction, _ body: @escaping @Sendable () -> Void) -> Bool {
        guard hasRoom(direction) else { return false }
        nextID += 1
        let id = nextID
        let gate = self.gate
        let thread = IOThread(name: namePrefix + (direction == .incoming ? "-in" : "-out")) {
            body()
            gate.post(.workerFinished(id: id))
        }
        running[id] = (thread, direction)
        if direction == .incoming { incoming += 1 } else { outgoing += 1 }
        return true
    }

    func finished(id: Int) {
        guard let worker = running.removeValue(forKey: id) else { return }
        worker.thread.join()
        if worker.direction == .incoming { incoming -= 1 } else { outgoing -= 1 }
    }

    /// Waits for every worker; each is bounded by its stream timeout.
    func joinAll() {
        for (_, worker) in running { worker.thread.join() }
        running.removeAll()
        incoming = 0
        outgoing = 0
    }
}
