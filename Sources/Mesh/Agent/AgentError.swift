import SWIM

/// Why an agent could not start or could not do what was asked. Each reads as a sentence for an
/// operator: what is wrong and what to do.
public enum AgentError: Error, Sendable, CustomStringConvertible {
    /// The configuration cannot work (checked before anything is bound).
    case invalidConfig(AgentConfigError)
    /// A socket could not be created or bound (port in use, address not on this host...).
    case socket(SocketError)
    /// The agent has stopped (or is stopping); start a new one.
    case notRunning
    /// Keys can only be replaced on an agent that started encrypted: switching between plain and
    /// encrypted changes every packet's size and would cut the node off from half of its cluster.
    case keyringOnPlainAgent

    public var description: String {
        switch self {
        case .invalidConfig(let error): error.description
        case .socket(let error): error.description
        case .notRunning: "the agent is not running"
        case .keyringOnPlainAgent: "this agent runs in plain mode; gossip keys can only be replaced on an agent started with a keyring (restart it with a key)"
        }
    }
}
