import Foundation

/// The per-concert series of `/metrics` an operator watches during an
/// on-sale, from one read of `api.onsale_metrics()` per scrape (never one per
/// request), rendered in the Prometheus text format after the registry's own
/// series. Every instance shows the same numbers: they are the database's.
/// docs/grafana/onsale.json is built on exactly these and the registry's
/// `boxoffice_*` counters.
enum OnsaleMetrics {
    /// name, type, help, and the key of a concert's object in api.onsale_metrics()
    static let families: [(name: String, type: String, help: String, key: String)] = [
        ("boxoffice_queue_waiting", "gauge", "WAITING tickets in the concert's line (the pre-queue included)", "waiting"),
        ("boxoffice_queue_active", "gauge", "unexpired ACTIVE tokens of the concert", "active"),
        ("boxoffice_queue_admitted_total", "counter", "admissions to the concert, ever", "admitted"),
        ("boxoffice_queue_admit_rate", "gauge", "admissions per second, a one-minute average", "admitRate"),
        ("boxoffice_concert_holds", "gauge", "seats of the concert HELD by an unlapsed hold", "holds"),
        ("boxoffice_concert_seats_sold", "gauge", "seats of the concert SOLD", "sold"),
        ("boxoffice_sale_paused", "gauge", "1 while the concert's admission is paused", "paused"),
        ("boxoffice_sale_prequeue", "gauge", "1 while the concert's scheduled opening is still to be done", "prequeue"),
    ]

    static func text(database: Database) async -> String {
        var lines: [String] = []
        let read = try? await database.query("select api.onsale_metrics()::text").scalar
        let object = read.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
        lines.append("# HELP boxoffice_onsale_metrics_up 1 when this scrape read the per-concert series from the database")
        lines.append("# TYPE boxoffice_onsale_metrics_up gauge")
        lines.append("boxoffice_onsale_metrics_up \(object == nil ? 0 : 1)")
        guard let object else { return lines.joined(separator: "\n") + "\n" }
        let concerts = object["concerts"] as? [[String: Any]] ?? []
        for family in families {
            lines.append("# HELP \(family.name) \(family.help)")
            lines.append("# TYPE \(family.name) \(family.type)")
            for concert in concerts {
                guard let id = (concert["concertId"] as? NSNumber)?.int64Value else { continue }
                lines.append("\(family.name){concert=\"\(id)\"} \(value(concert[family.key]))")
            }
        }
        lines.append("# HELP boxoffice_webhook_backlog outbox events still PENDING webhook delivery")
        lines.append("# TYPE boxoffice_webhook_backlog gauge")
        lines.append("boxoffice_webhook_backlog \(value(object["webhookBacklog"]))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A JSON number as a sample value (the flags come as 0 and 1).
    private static func value(_ any: Any?) -> String {
        guard let number = any as? NSNumber else { return "NaN" }
        return "\(number.doubleValue)"
    }
}
