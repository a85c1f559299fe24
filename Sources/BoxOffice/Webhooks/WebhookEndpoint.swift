import Foundation

/// Where webhooks go: `WEBHOOK_URL`, plain `http://` only. The client speaks
/// no TLS (a TLS stack would triple the build); to reach an `https://`
/// receiver, point `WEBHOOK_URL` at a local proxy that adds TLS
/// (docs/webhooks.md shows one).
public struct WebhookEndpoint: Sendable, Equatable {
    init(host: String, port: Int, target: String) {
        self.host = host
        self.port = port
        self.target = target
    }

    public var host: String
    public var port: Int
    /// Path and query, as sent in the request line.
    public var target: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased() else {
            throw Invalid(description: "\(text): not a URL")
        }
        guard scheme == "http" else {
            throw Invalid(description: "\(text): only http:// is supported; put a TLS proxy in front of an https:// receiver")
        }
        guard let host = url.host, !host.isEmpty else { throw Invalid(description: "\(text): no host") }
        guard url.user == nil, url.password == nil else {
            throw Invalid(description: "WEBHOOK_URL must not carry credentials")
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? 80
        guard (1...65535).contains(port) else { throw Invalid(description: "\(text): bad port") }
        let path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        target = path + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// The Host header.
    var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + (port == 80 ? "" : ":\(port)") }
}
