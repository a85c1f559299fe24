import Foundation
import HTTPTypes
import Hummingbird

/// The API's own documentation, served from the files of the repository:
/// `GET /openapi.yaml` (the document) and `GET /docs`, an interactive view
/// of it (docs/openapi-viewer: plain HTML, CSS and JavaScript that read the
/// YAML in the browser; nothing is fetched from elsewhere). The files are
/// read once, when the router is built, from the folder that holds `sql/`
/// (BOXOFFICE_SQL_DIR's parent); one that is missing answers 404.
enum APIDocs {
    /// URL path, file under the root, content type. Nothing else is served.
    static let files: [(path: String, file: String, contentType: String)] = [
        ("/openapi.yaml", "openapi.yaml", "application/yaml; charset=utf-8"),
        ("/docs", "docs/openapi-viewer/index.html", "text/html; charset=utf-8"),
        ("/docs/viewer.mjs", "docs/openapi-viewer/viewer.mjs", "text/javascript; charset=utf-8"),
        ("/docs/yaml.mjs", "docs/openapi-viewer/yaml.mjs", "text/javascript; charset=utf-8"),
        ("/docs/viewer.css", "docs/openapi-viewer/viewer.css", "text/css; charset=utf-8"),
    ]

    static var routes: [(method: HTTPRequest.Method, path: String)] { files.map { (.get, $0.path) } }

    /// The folder the files are under: the one that holds the SQL folder.
    static func root(sqlDirectory: String) -> String {
        URL(fileURLWithPath: sqlDirectory).deletingLastPathComponent().path
    }

    static func add(to router: Router<APIRequestContext>, root: String) {
        for entry in files {
            let data = FileManager.default.contents(atPath: root + "/" + entry.file)
            router.get(RouterPath(entry.path)) { _, _ in
                guard let data else {
                    throw APIError(.notFound, "NOT_FOUND", "\(entry.file) is not installed beside this server's SQL folder")
                }
                return Response(
                    status: .ok,
                    headers: [.contentType: entry.contentType, .cacheControl: "no-cache"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
    }
}
