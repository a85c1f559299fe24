import Foundation
import Testing

@testable import BoxOffice

/// SHA-256 and HMAC-SHA256 against published vectors, the Standard Webhooks
/// signature, the secrets and the URL a server accepts.
@Suite("Webhook signing: SHA-256, HMAC (RFC 4231), Standard Webhooks, configuration")
struct WebhookSigningTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    static func bytes(_ hex: String) -> [UInt8] {
        var out = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test("SHA-256 of the FIPS 180-2 examples, the empty message and a million a's")
    func sha256() {
        #expect(Self.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Self.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            Self.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("HMAC-SHA256 of RFC 4231 test cases 1, 2, 3, 6 and 7")
    func hmac() {
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
        for (number, test) in cases.enumerated() {
            #expect(Self.hex(SHA256.hmac(key: test.key, message: test.data)) == test.mac, "case \(number)")
        }
    }

    @Test("the Standard Webhooks example signs to its published signature")
    func standardWebhooksVector() throws {
        let signer = try WebhookSigner(secrets: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(
            signer.signature(
                id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("two secrets (a rotation), by space or comma: one v1 signature each, space-separated, in order")
    func rotation() throws {
        let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let new = "whsec_" + Data("a brand new key".utf8).base64EncodedString()
        let body = Array("{}".utf8)
        let one = try WebhookSigner(secrets: old).signature(id: "m", timestamp: 1, body: body)
        let other = try WebhookSigner(secrets: new).signature(id: "m", timestamp: 1, body: body)
        #expect(one != other)
        #expect(try WebhookSigner(secrets: "\(old) \(new)").signature(id: "m", timestamp: 1, body: body) == "\(one) \(other)")
        #expect(try WebhookSigner(secrets: "\(old),\(new)").signature(id: "m", timestamp: 1, body: body) == "\(one) \(other)")
    }

    @Test("a secret that is not whsec_ plus base64, or three of them, is refused without showing it")
    func badSecrets() {
        for bad in ["", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!notbase64", "whsec_YQ== whsec_YQ== whsec_YQ=="] {
            #expect(throws: WebhookSigner.InvalidSecret.self, "\(bad)") { try WebhookSigner(secrets: bad) }
        }
        do {
            _ = try WebhookSigner(secrets: "whsec_secretpart!")
        } catch {
            #expect(!"\(error)".contains("secretpart"))
        }
        #expect(!"\(try! WebhookSigner(secrets: "whsec_YQ=="))".contains("YQ"))
    }

    @Test("WEBHOOK_URL: http only, host, port and path with query")
    func endpoint() throws {
        let endpoint = try WebhookEndpoint(url: "http://127.0.0.1:9000/hooks/in?x=1")
        #expect(endpoint == WebhookEndpoint(host: "127.0.0.1", port: 9000, target: "/hooks/in?x=1"))
        #expect(try WebhookEndpoint(url: "http://example.com").target == "/")
        #expect(try WebhookEndpoint(url: "http://example.com").port == 80)
        #expect(throws: WebhookEndpoint.Invalid.self) { try WebhookEndpoint(url: "https://example.com/") }
        #expect(throws: WebhookEndpoint.Invalid.self) { try WebhookEndpoint(url: "http://user:pw@example.com/") }
        #expect(throws: WebhookEndpoint.Invalid.self) { try WebhookEndpoint(url: "not a url") }
    }

    @Test("configuration: webhooks off without WEBHOOK_URL; a URL needs a secret; limits are validated")
    func config() throws {
        #expect(try Config(environment: [:]).webhook == nil)
        #expect(throws: Config.Invalid.self) { try Config(environment: ["WEBHOOK_URL": "http://127.0.0.1:1/"]) }
        #expect(throws: Config.Invalid.self) {
            try Config(environment: [
                "WEBHOOK_URL": "http://127.0.0.1:1/", "WEBHOOK_SECRET": "whsec_YQ==", "WEBHOOK_TIMEOUT_MS": "0",
            ])
        }
        let secretError = #expect(throws: Config.Invalid.self) {
            try Config(environment: ["WEBHOOK_URL": "http://127.0.0.1:1/", "WEBHOOK_SECRET": "whsec_hidden!"])
        }
        #expect(secretError.map { !"\($0)".contains("hidden") } ?? false)
        let webhook = try #require(
            try Config(environment: [
                "WEBHOOK_URL": "http://127.0.0.1:1/in", "WEBHOOK_SECRET": "whsec_YQ==", "WEBHOOK_MAX_ATTEMPTS": "3",
                "WEBHOOK_RETRY_MS": "250",
            ]).webhook)
        #expect(webhook.maxAttempts == 3)
        #expect(webhook.retrySeconds == 0.25)
        #expect(webhook.timeout == .seconds(10))
        #expect(webhook.maxInFlight == 8)
    }
}
