import Foundation
import HTTPTypes
import Hummingbird

/// The fans' page: the files of one folder (`public/`), read once at start
/// and served from memory at `/` (index.html) and `/<name>`. Only the files
/// found at start are routes, so no request path ever reaches the file
/// system (no `..`, no symlink, no file added later). Each answer carries
/// its content type, `Cache-Control: no-cache` with a strong ETag and
/// Last-Modified (a browser revalidates and gets 304, so a new version shows
/// up on the next load), `X-Content-Type-Options: nosniff`, and the page a
/// Content-Security-Policy that allows nothing from outside this server.
struct StaticFiles: Sendable {
    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
        var lastModified: String
    }

    /// Route path ("/", "/app.js") to file.
    let files: [String: File]

    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static let types: [String: String] = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "json": "application/json", "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon",
        "txt": "text/plain; charset=utf-8", "webmanifest": "application/manifest+json",
    ]

    /// Reads every regular file directly in `folder` whose extension has a
    /// known type (hidden files and subfolders are left out). A missing
    /// folder gives no files: the API still works without its page.
    init(folder: String) {
        var files: [String: File] = [:]
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] where !name.hasPrefix(".") {
            let path = folder + "/" + name
            guard let type = Self.types[(name as NSString).pathExtension.lowercased()],
                let attributes = try? manager.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let data = manager.contents(atPath: path)
            else { continue }
            let modified = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
            let digest = String(Self.fnv1a(data), radix: 16) + "-" + String(data.count, radix: 16)
            let file = File(
                body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(digest)\"",
                lastModified: Self.httpDate(modified))
            files["/" + name] = file
            if name == "index.html" { files["/"] = file }
        }
        self.files = files
    }

    /// The page's folder when `BOXOFFICE_PUBLIC_DIR` (read by Config) is not
    /// set: `public/` in the working directory or the nearest folder above it,
    /// else next to the executable or above it (`.build/release/boxoffice` in
    /// a clone).
    static func folder() -> String {
        let starts = [
            FileManager.default.currentDirectoryPath,
            (CommandLine.arguments.first.map { ($0 as NSString).deletingLastPathComponent }) ?? ".",
        ]
        for start in starts {
            var url = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<6 {
                let candidate = url.appendingPathComponent("public/index.html").path
                if FileManager.default.fileExists(atPath: candidate) { return url.appendingPathComponent("public").path }
                url.deleteLastPathComponent()
            }
        }
        return FileManager.default.currentDirectoryPath + "/public"
    }

    /// The answer to GET of `path`: 200, or 304 when the client's
    /// If-None-Match (or, without it, If-Modified-Since) matches.
    func response(_ path: String, request: Request) -> Response? {
        guard let file = files[path] else { return nil }
        var headers: HTTPFields = [
            .contentType: file.contentType, .cacheControl: "no-cache", .eTag: file.etag, .lastModified: file.lastModified,
            .xContentTypeOptions: "nosniff",
        ]
        if file.contentType.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
            headers[.referrerPolicy] = "no-referrer"
        }
        let notModified: Bool
        if let tags = request.headers[.ifNoneMatch] {
            notModified = tags.split(separator: ",").contains {
                let tag = $0.trimmingCharacters(in: .whitespaces)
                return tag == "*" || tag == file.etag || tag == "W/" + file.etag
            }
        } else if let since = request.headers[.ifModifiedSince] {
            notModified = since == file.lastModified
        } else {
            notModified = false
        }
        if notModified { return Response(status: .notModified, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.body))
    }

    /// FNV-1a, 64 bits: the ETag only has to change when the bytes do.
    static func fnv1a(_ data: Data) -> UInt64 {
        data.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
