import Foundation

/// A job's schedule, in pg_cron's syntax, and when it next falls due.
///
/// Accepted, exactly as `app.job_schedule_error` in sql/procedures/80_jobs.sql
/// accepts it (the two give the same error texts):
/// - `'N seconds'` (or `'N second'`), N from 1 to 59: pg_cron's interval form;
/// - a macro: `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
///   `@midnight`, `@hourly` (lowercase, as in pg_cron);
/// - five fields separated by blanks: minute 0-59, hour 0-23, day of month 1-31
///   (or `$` alone, the last day of the month), month 1-12 or JAN-DEC, day of
///   week 0-7 (0 and 7 are Sunday) or SUN-SAT, names in any case. A field is a
///   comma list of `*`, a number or name, or a range `a-b`; `*` and ranges take
///   a step `/n`, n from 1 to the field's maximum.
///
/// Two ways it is stricter than pg_cron, which accepts both silently: a range
/// must not run backwards (`5-1` matches nothing in pg_cron), and nothing may
/// follow the fifth field. `@reboot` is refused: there is no start event to
/// run it on.
///
/// Days follow Vixie cron, as pg_cron does: when the day-of-month and the
/// day-of-week fields both start with something other than `*`, a day matches
/// if either matches (`0 0 1 * MON` is the 1st and every Monday); when either
/// field starts with `*` (`*/2` included), both must match.
///
/// Times are UTC. pg_cron evaluates schedules in its `cron.timezone` setting,
/// whose default is GMT, so the two agree unless a DBA changes that setting.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    /// The schedule as parsed, without surrounding blanks.
    public let text: String
    /// N of `'N seconds'`; nil for a cron schedule.
    public let intervalSeconds: Int?

    // One bit per allowed value: minute 0-59, hour 0-23, day of month 1-31,
    // month 1-12, day of week 0-6 (7 is folded into 0).
    private var minutes: UInt64 = 0
    private var hours: UInt64 = 0
    private var daysOfMonth: UInt64 = 0
    private var months: UInt64 = 0
    private var daysOfWeek: UInt64 = 0
    private var lastDayOfMonth = false
    private var dayOfMonthStar = false
    private var dayOfWeekStar = false

    public var description: String { text }

    /// Why a schedule was refused. `description` names the field and the fault,
    /// e.g. `invalid schedule: minute field '60': 60 is out of range 0-59`.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The schedule text that was refused.
        public let schedule: String
        /// The fault, worded as app.job_schedule_error words it.
        public let reason: String
        public var description: String { "invalid schedule: \(reason)" }
    }

    private struct Field {
        let label: String
        let low: Int
        let high: Int
        let names: [String]  // names[i] stands for low + i
    }

    private static let fields = [
        Field(label: "minute", low: 0, high: 59, names: []),
        Field(label: "hour", low: 0, high: 23, names: []),
        Field(label: "day-of-month", low: 1, high: 31, names: []),
        Field(label: "month", low: 1, high: 12,
              names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        Field(label: "day-of-week", low: 0, high: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    ]

    public init(parsing schedule: String) throws(ParseError) {
        let text = schedule.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n"))
        self.text = text
        func fail(_ reason: String) -> ParseError { ParseError(schedule: schedule, reason: reason) }

        if text.isEmpty { throw fail("schedule is empty") }

        if let seconds = Self.seconds(in: text) {
            guard let n = seconds, (1...59).contains(n) else {
                throw fail("'\(text)': the seconds form takes 1 to 59 seconds")
            }
            intervalSeconds = n
            return
        }
        intervalSeconds = nil

        if text.hasPrefix("@") {
            // as Vixie cron sets them, flags included
            minutes = 1
            hours = 1
            daysOfMonth = 0xFFFF_FFFE  // 1-31
            months = 0x1FFE  // 1-12
            daysOfWeek = 0x7F  // 0-6
            switch text {
            case "@yearly", "@annually": daysOfMonth = 1 << 1; months = 1 << 1; dayOfWeekStar = true
            case "@monthly": daysOfMonth = 1 << 1; dayOfWeekStar = true
            case "@weekly": daysOfWeek = 1; dayOfWeekStar = true
            case "@daily", "@midnight": break
            case "@hourly": hours = 0xFF_FFFF  // 0-23
            case "@reboot", "@restart":
                throw fail("'\(text)' is not supported: the scheduler has no start event to run it on")
            default:
                throw fail("unknown macro '\(text)'; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
            }
            return
        }

        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw fail("'\(text)' has \(parts.count) field(s); expected five (minute hour day-of-month month day-of-week) or 'N seconds'")
        }
        var sets = [UInt64](repeating: 0, count: 5)
        for (i, (part, field)) in zip(parts, Self.fields).enumerated() {
            if i == 2 && part == "$" {
                lastDayOfMonth = true
                continue
            }
            do throws(FieldError) {
                sets[i] = try Self.parse(part, field, dollarHint: i == 2)
            } catch {
                throw fail("\(field.label) field '\(part)': \(error.reason)")
            }
        }
        minutes = sets[0]
        hours = sets[1]
        daysOfMonth = sets[2]
        months = sets[3]
        daysOfWeek = sets[4] & 0x7F | (sets[4] >> 7 & 1)  // 7 is Sunday too
        dayOfMonthStar = parts[2].hasPrefix("*")
        dayOfWeekStar = parts[4].hasPrefix("*")
    }

    /// nil when text is not of the seconds form; .some(nil) when N is too big to hold.
    private static func seconds(in text: String) -> Int?? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty else { return nil }
        let unit = text.dropFirst(digits.count).drop(while: { $0 == " " || $0 == "\t" }).lowercased()
        guard unit == "second" || unit == "seconds" else { return nil }
        return .some(digits.count <= 9 ? Int(digits) : nil)
    }

    private struct FieldError: Error { let reason: String }

    /// The bit set of one field: a comma list of `*`, n, a-b, `*`/s, a-b/s.
    private static func parse(_ part: String, _ field: Field, dollarHint: Bool) throws(FieldError) -> UInt64 {
        if dollarHint && part.contains("$") {
            throw FieldError(reason: "$ (the last day of the month) must stand alone")
        }
        var set: UInt64 = 0
        for item in part.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if item.isEmpty { throw FieldError(reason: "empty list item") }
            let slash = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if slash.count > 2 { throw FieldError(reason: "'\(item)' has more than one /") }
            var from = field.low
            var to = field.high
            if slash[0] != "*" {
                let bounds = slash[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                if slash[0].isEmpty || bounds.count > 2 {
                    throw FieldError(reason: "'\(slash[0])' is not a number, a name, a range a-b or *")
                }
                for (b, bound) in bounds.enumerated() {
                    let value = try number(bound, item: item, field)
                    if b == 0 { from = value }
                    to = value
                }
                if slash.count == 2 && bounds.count == 1 {
                    throw FieldError(reason: "a step needs * or a range before it, as in */15 or 0-30/15, not '\(item)'")
                }
                if from > to { throw FieldError(reason: "range '\(slash[0])' runs backwards") }
            }
            var step = 1
            if slash.count == 2 {
                let text = slash[1]
                guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw FieldError(reason: "step '\(text)' is not a number")
                }
                guard text.count <= 9, let n = Int(text), (1...field.high).contains(n) else {
                    throw FieldError(reason: "step \(text) is out of range 1-\(field.high)")
                }
                step = n
            }
            for value in stride(from: from, through: to, by: step) { set |= 1 << UInt64(value) }
        }
        return set
    }

    /// One end of a range: digits, or a month or weekday name in its own field.
    private static func number(_ text: String, item: String, _ field: Field) throws(FieldError) -> Int {
        if text.isEmpty { throw FieldError(reason: "'\(item)' is missing a number") }
        let value: Int
        if text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            value = text.count <= 9 ? Int(text)! : Int.max
        } else if let index = field.names.firstIndex(of: text.uppercased()) {
            value = field.low + index
        } else {
            let what = switch field.label {
            case "month": "a number or a month name (JAN-DEC)"
            case "day-of-week": "a number or a weekday name (SUN-SAT)"
            default: "a number"
            }
            throw FieldError(reason: "'\(text)' is not \(what)")
        }
        guard (field.low...field.high).contains(value) else {
            throw FieldError(reason: "\(text) is out of range \(field.low)-\(field.high)")
        }
        return value
    }
}

extension CronSchedule {
    /// The first time strictly after `date` at which the schedule falls due.
    ///
    /// For `'N seconds'`, `date + N`: pass the start of the last run (pg_cron
    /// starts an interval job again once N seconds have passed since its last
    /// start). For cron schedules, the next whole UTC minute that matches. A
    /// schedule that can never match (`0 0 31 2 *`, which pg_cron also accepts)
    /// gives `Date.distantFuture`.
    public func nextFire(after date: Date) -> Date {
        if let intervalSeconds { return date.addingTimeInterval(TimeInterval(intervalSeconds)) }
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 1e14 else { return .distantFuture }
        let minute = Int64((seconds / 60).rounded(.down)) + 1
        var day = Self.floorDiv(minute, 1440)
        var hour = Int((minute - day * 1440) / 60)
        var min = Int((minute - day * 1440) % 60)
        let lastDay = day + 146_097 + 366  // the Gregorian calendar repeats every 400 years
        while day <= lastDay {
            let (y, m, d) = Self.civil(fromDays: day)
            if months & (1 << UInt64(m)) == 0 {
                // skip to the first day of the next month
                day += Int64(Self.daysIn(month: m, year: y) - d + 1)
                (hour, min) = (0, 0)
                continue
            }
            if !dayMatches(year: y, month: m, day: d, weekday: Int(Self.floorMod(day + 4, 7))) {
                day += 1
                (hour, min) = (0, 0)
                continue
            }
            guard let h = Self.firstBit(hours, from: hour, to: 23) else {
                day += 1
                (hour, min) = (0, 0)
                continue
            }
            if h != hour { (hour, min) = (h, 0) }
            guard let mm = Self.firstBit(minutes, from: min, to: 59) else {
                (hour, min) = (hour + 1, 0)
                if hour == 24 { day += 1; hour = 0 }
                continue
            }
            let total = (day * 1440 + Int64(hour * 60 + mm)) * 60
            return Date(timeIntervalSince1970: TimeInterval(total))
        }
        return .distantFuture
    }

    private func dayMatches(year: Int64, month: Int, day: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(day)) != 0
            || (lastDayOfMonth && day == Self.daysIn(month: month, year: year))
        let dow = daysOfWeek & (1 << UInt64(weekday)) != 0
        return dayOfMonthStar || dayOfWeekStar ? dom && dow : dom || dow
    }

    private static func firstBit(_ set: UInt64, from: Int, to: Int) -> Int? {
        guard from <= to else { return nil }
        let rest = set >> UInt64(from)
        guard rest != 0 else { return nil }
        let bit = from + rest.trailingZeroBitCount
        return bit <= to ? bit : nil
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { (a - floorMod(a, b)) / b }
    private static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }

    private static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Year, month, day of a count of days since 1970-01-01 (proleptic
    /// Gregorian; Howard Hinnant's civil_from_days).
    private static func civil(fromDays days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
