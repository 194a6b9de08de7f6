import AgentHarness
import Foundation

extension LoopbackHTTPClient.Response {
    /// The body as any JSON object, for benchmarks that check fields beyond the harness's typed ones.
    /// Full Foundation is fine here: this is the benchmark binary, not the agent.
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
}
