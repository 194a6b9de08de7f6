/// Exact path and method to handler. A known path with another method is 405 with an `Allow`
/// header; an unknown path is 404. HEAD is served by the GET handler (the server drops the body).
///
/// Paths are compared after percent-decoding and without any normalisation: `/v1/status/` and
/// `/v1/../v1/status` are unknown paths, not aliases.
struct HTTPRouter: Sendable {
    private var routes: [String: [String: HTTPHandler]] = [:]

    public init() {}

    /// Adds (or replaces) the handler for `method` on `path`.
    public mutating func add(_ method: String, _ path: String, _ handler: @escaping HTTPHandler) {
        routes[path, default: [:]][method] = handler
    }

    public mutating func get(_ path: String, _ handler: @escaping HTTPHandler) { add("GET", path, handler) }
    public mutating func post(_ path: String, _ handler: @escaping HTTPHandler) { add("POST", path, handler) }

    /// The methods `path` answers, sorted, with HEAD wherever GET is: what `Allow` lists.
    public func allowedMethods(for path: String) -> [String] {
        guard let methods = routes[path] else { return [] }
        var allowed = Set(methods.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return allowed.sorted()
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard let methods = routes[request.path] else {
            return .error(.notFound, "no such endpoint: \(request.path)")
        }
        if let handler = methods[request.method] ?? (request.method == "HEAD" ? methods["GET"] : nil) {
            return await handler(request)
        }
        let allowed = allowedMethods(for: request.path)
        var response = HTTPResponse.error(
            .methodNotAllowed, "\(request.path) does not accept \(request.method); use \(allowed.joined(separator: " or "))")
        response.headers.set("Allow", allowed.joined(separator: ", "))
        return response
    }

    /// The router as a server handler.
    public var handler: HTTPHandler {
        let router = self
        return { await router.handle($0) }
    }
}
