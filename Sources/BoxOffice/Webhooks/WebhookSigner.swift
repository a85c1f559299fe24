import Foundation

/// Standard Webhooks signing: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
/// under each `whsec_` secret. With two secrets (a rotation) the signature
/// header carries both, separated by a space, and a receiver accepts the
/// message when any one matches the secret it has.
public struct WebhookSigner: Sendable {
    /// The decoded keys, never logged (`description` hides them).
    let keys: [[UInt8]]

    public struct InvalidSecret: Error, CustomStringConvertible {
        public var description: String
    }

    /// `secrets`: one `whsec_<base64>` secret, or two (old and new, during a
    /// rotation) separated by a space or a comma.
    public init(secrets: String) throws {
        let parts = secrets.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard (1...2).contains(parts.count) else {
            throw InvalidSecret(description: "expected one or two whsec_ secrets, separated by a space or a comma")
        }
        keys = try parts.enumerated().map { index, part in
            guard part.hasPrefix("whsec_"), let key = Data(base64Encoded: String(part.dropFirst(6))), !key.isEmpty else {
                throw InvalidSecret(description: "secret \(index + 1) is not whsec_ followed by base64")
            }
            return [UInt8](key)
        }
    }

    /// The `webhook-signature` header's value for one message.
    public func signature(id: String, timestamp: Int, body: [UInt8]) -> String {
        let content = Array("\(id).\(timestamp).".utf8) + body
        return keys.map { "v1," + Data(SHA256.hmac(key: $0, message: content)).base64EncodedString() }
            .joined(separator: " ")
    }
}

extension WebhookSigner: CustomStringConvertible {
    public var description: String { "WebhookSigner(\(keys.count) secret(s))" }
}
