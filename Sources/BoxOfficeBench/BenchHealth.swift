/// `GET /health` as fast as the virtual users can go: no database, so the
/// server's CPU per request here is the HTTP floor that every route pays
/// before its database call.
enum BenchHealth {
    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        context.log("health: GET /health")
        let result = await context.phase { _, session in
            while true { _ = try await session.call("GET /health", .GET, "/health") }
        }
        return [
            BenchPhaseReport(
                name: "health", users: context.connections.count, seconds: result.seconds, recorder: result.recorder)
        ]
    }
}
