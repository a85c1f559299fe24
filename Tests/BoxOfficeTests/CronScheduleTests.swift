import Foundation
import Testing

@testable import BoxOffice

@Suite("CronSchedule: pg_cron's syntax and next fire times, in UTC")
struct CronScheduleTests {
    /// schedule, a fixed instant, the first fire strictly after it. Weekdays:
    /// 2026-03-10 is a Tuesday, 2026-03-13 a Friday, 2026-01-31 a Saturday.
    static let fires: [(String, String, String)] = [
        ("*/15 * * * *", "2026-03-10T10:07:30Z", "2026-03-10T10:15:00Z"),
        ("*/15 * * * *", "2026-03-10T10:15:00Z", "2026-03-10T10:30:00Z"),  // strictly after
        ("*/15 * * * *", "2026-03-10T23:50:00Z", "2026-03-11T00:00:00Z"),
        ("* * * * *", "2026-03-10T10:00:59.999Z", "2026-03-10T10:01:00Z"),
        ("0 0 1 * *", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00Z"),
        ("0 0 1 * *", "2026-12-15T08:00:00Z", "2027-01-01T00:00:00Z"),  // year rollover
        ("30 9 * * MON-FRI", "2026-03-13T09:30:00Z", "2026-03-16T09:30:00Z"),  // Friday to Monday
        ("30 9 * * MON-FRI", "2026-03-10T08:00:00Z", "2026-03-10T09:30:00Z"),
        ("30 9 * * mon-fri", "2026-03-14T00:00:00Z", "2026-03-16T09:30:00Z"),  // names in any case
        ("0 22 * * 1-5", "2026-03-13T22:00:00Z", "2026-03-16T22:00:00Z"),
        ("0,20,40 8,17 * * *", "2026-03-10T08:40:00Z", "2026-03-10T17:00:00Z"),  // lists
        ("10-12 3 * * *", "2026-03-10T03:11:59Z", "2026-03-10T03:12:00Z"),  // ranges
        ("10-12 3 * * *", "2026-03-10T03:12:00Z", "2026-03-11T03:10:00Z"),
        ("5-50/15 * * * *", "2026-03-10T10:50:00Z", "2026-03-10T11:05:00Z"),  // stepped range
        ("0 */6 * * *", "2026-03-10T13:00:00Z", "2026-03-10T18:00:00Z"),  // stepped *
        ("23 0-20/2 * * *", "2026-03-10T20:23:00Z", "2026-03-11T00:23:00Z"),
        ("0 12 * JAN,JUL SUN", "2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"),
        ("0 12 * JAN,JUL SUN", "2026-01-31T12:00:00Z", "2026-07-05T12:00:00Z"),  // skips February to June
        ("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),  // the next leap day
        ("0 0 29 FEB *", "2028-02-28T23:59:00Z", "2028-02-29T00:00:00Z"),
        ("0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"),  // 2100 is not a leap year
        ("0 0 31 * *", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"),  // April has 30 days
        ("59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),
        ("0 0 1 1 *", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"),
        ("0 12 $ * *", "2026-02-10T00:00:00Z", "2026-02-28T12:00:00Z"),  // $: last day of the month
        ("0 12 $ * *", "2028-02-10T00:00:00Z", "2028-02-29T12:00:00Z"),
        ("0 12 $ * *", "2026-04-30T12:00:00Z", "2026-05-31T12:00:00Z"),
        // Both day fields restricted: either may match (Vixie cron, pg_cron).
        ("0 0 13 * FRI", "2026-03-01T00:00:00Z", "2026-03-06T00:00:00Z"),  // a Friday, not the 13th
        ("0 0 13 * FRI", "2026-04-10T00:00:00Z", "2026-04-13T00:00:00Z"),  // the 13th, a Monday
        // A day field starting with * counts as unrestricted, */2 included: both must match.
        ("0 0 */2 * MON", "2026-03-10T00:00:00Z", "2026-03-23T00:00:00Z"),  // odd day and Monday
        ("0 0 * * 7", "2026-03-10T00:00:00Z", "2026-03-15T00:00:00Z"),  // 7 is Sunday
        ("0 0 * * 0", "2026-03-10T00:00:00Z", "2026-03-15T00:00:00Z"),
        ("@yearly", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("@annually", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("@monthly", "2026-02-14T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("@weekly", "2026-03-10T00:00:00Z", "2026-03-15T00:00:00Z"),
        ("@daily", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z"),
        ("@midnight", "2026-03-10T23:59:00Z", "2026-03-11T00:00:00Z"),
        ("@hourly", "2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z"),
    ]

    @Test("the next fire time from a fixed instant", arguments: fires)
    func nextFire(schedule: String, after: String, expected: String) throws {
        let parsed = try CronSchedule(parsing: schedule)
        #expect(parsed.intervalSeconds == nil)
        #expect(parsed.nextFire(after: utc(after)) == utc(expected))
    }

    @Test("'N seconds' fires N seconds after the given instant", arguments: [
        ("10 seconds", 10), ("1 second", 1), ("59 seconds", 59), ("  5 SECONDS ", 5), ("30seconds", 30),
    ])
    func seconds(schedule: String, n: Int) throws {
        let parsed = try CronSchedule(parsing: schedule)
        #expect(parsed.intervalSeconds == n)
        let start = utc("2026-03-10T10:00:00.250Z")
        #expect(parsed.nextFire(after: start) == start.addingTimeInterval(TimeInterval(n)))
    }

    @Test("a schedule that can never match gives the distant future", arguments: ["0 0 31 2 *", "0 0 30 FEB *"])
    func never(schedule: String) throws {
        #expect(try CronSchedule(parsing: schedule).nextFire(after: utc("2026-03-10T00:00:00Z")) == .distantFuture)
    }

    /// The cases of sql/testing/cron_cases.tsv: accept or refuse, the
    /// schedule, why. The SQL that checks a schedule when a job is scheduled
    /// must judge them alike (sql/tests/job_schedule/shared_cases.test.sql).
    static let shared: [(String, String, String)] = {
        let path = TestPaths.sql + "/testing/cron_cases.tsv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return (fields[0], fields.count > 1 ? fields[1] : "", fields.count > 2 ? fields[2] : "")
        }
    }()

    @Test("the cases shared with the SQL parser are read")
    func sharedCasesRead() {
        #expect(Self.shared.filter { $0.0 == "accept" }.count >= 20)
        #expect(Self.shared.filter { $0.0 == "refuse" }.count >= 30)
        #expect(Self.shared.allSatisfy { $0.0 == "accept" || $0.0 == "refuse" })
    }

    @Test("a schedule is accepted or refused as sql/testing/cron_cases.tsv says", arguments: shared)
    func sharedCase(verdict: String, schedule: String, note: String) {
        let parsed = Result { () throws(CronSchedule.ParseError) in try CronSchedule(parsing: schedule) }
        switch (verdict, parsed) {
        case ("accept", .failure(let error)): Issue.record("'\(schedule)' (\(note)) refused: \(error)")
        case ("refuse", .success): Issue.record("'\(schedule)' (\(note)) accepted")
        default: break
        }
    }

    @Test("the error names the bad field and says what is wrong", arguments: [
        ("60 * * * *", "invalid schedule: minute field '60': 60 is out of range 0-59"),
        ("0 0 32 * *", "invalid schedule: day-of-month field '32': 32 is out of range 1-31"),
        ("0 0 * 13 *", "invalid schedule: month field '13': 13 is out of range 1-12"),
        ("* * * FOO *", "invalid schedule: month field 'FOO': 'FOO' is not a number or a month name (JAN-DEC)"),
        ("* * * * 8", "invalid schedule: day-of-week field '8': 8 is out of range 0-7"),
        ("*/0 * * * *", "invalid schedule: minute field '*/0': step 0 is out of range 1-59"),
        ("1-5 1- * * *", "invalid schedule: hour field '1-': '1-' is missing a number"),
        ("* * * *", "invalid schedule: '* * * *' has 4 field(s); expected five (minute hour day-of-month month day-of-week) or 'N seconds'"),
        ("60 seconds", "invalid schedule: '60 seconds': the seconds form takes 1 to 59 seconds"),
    ])
    func message(schedule: String, expected: String) {
        do throws(CronSchedule.ParseError) {
            _ = try CronSchedule(parsing: schedule)
            Issue.record("'\(schedule)' was accepted")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("the text is kept, trimmed")
    func text() throws {
        #expect(try CronSchedule(parsing: "  */5 * * * *\n").text == "*/5 * * * *")
    }

    private func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        if text.contains(".") { formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
        guard let date = formatter.date(from: text) else { fatalError("bad test date \(text)") }
        return date
    }
}
