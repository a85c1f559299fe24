import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension BenchOptions {
    /// Ids as the command line gives them: `7`, `1-100`, `3,5,9` or a mix.
    public static func ids(_ text: String) throws -> [Int64] {
        var ids: [Int64] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1).map { Int64($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1 where bounds[0] != nil && bounds[0]! > 0:
                ids.append(bounds[0]!)
            case 2 where bounds[0] != nil && bounds[1] != nil && 0 < bounds[0]! && bounds[0]! <= bounds[1]!:
                ids += Array(bounds[0]!...bounds[1]!)
            default:
                throw BenchFailure("\(part): expected an id or a range like 1-100")
            }
        }
        guard !ids.isEmpty else { throw BenchFailure("no ids in \(text)") }
        return ids
    }

    /// Raises the open-files limit to what `users` connections need (the soft
    /// limit up to the hard one); fails when even that is not enough.
    public static func ensureFileLimit(users: Int) throws {
        let needed = rlim_t(users + 256)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur >= needed { return }
        limit.rlim_cur = min(max(needed, limit.rlim_cur), limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        guard limit.rlim_cur >= needed else {
            throw BenchFailure("\(users) connections need \(needed) open files; the limit is \(limit.rlim_max) (ulimit -n)")
        }
    }
}
