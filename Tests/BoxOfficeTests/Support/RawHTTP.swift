import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Bytes written to the server as they are, for requests no HTTP client
/// would send (a malformed chunked body), for several requests on one
/// connection, and for clients that hang up; an answer read until the server
/// closes the connection, its body is complete or `timeout` passes, split
/// into status and body.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The blocking socket calls run on a Dispatch thread: on a thread of the
    /// test pool they could hold up the in-process server that is to answer.
    static func exchange(port: Int, _ request: String, timeout: Int = 10) async throws -> (status: Int, body: String) {
        try await exchanges(port: port, [request], timeout: timeout)[0]
    }

    /// `requests` one after the other on one connection (keep-alive), each
    /// sent once the answer to the one before it has been read.
    static func exchanges(port: Int, _ requests: [String], timeout: Int = 10) async throws -> [(status: Int, body: String)] {
        try await offThread {
            let fd = try connected(port: port, timeout: timeout)
            defer { close(fd) }
            return try requests.map { request in
                try write(fd, request)
                return readAnswer(fd)
            }
        }
    }

    /// Connects, sends `request` and returns the socket without reading the
    /// answer: the caller closes it to hang up on a request in flight.
    static func sendOnly(port: Int, _ request: String) throws -> Int32 {
        let fd = try connected(port: port, timeout: 60)
        do {
            try write(fd, request)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Shuts down the sending side of a `sendOnly` socket, reads the answer
    /// and closes the socket.
    static func halfCloseAndRead(_ fd: Int32) async throws -> (status: Int, body: String) {
        guard shutdown(fd, Int32(SHUT_WR)) == 0 else {
            close(fd)
            throw Failure(description: "shutdown() failed")
        }
        return await offThread {
            defer { close(fd) }
            return readAnswer(fd)
        }
    }

    private static func offThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    private static func offThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    /// A socket connected to the server on loopback, whose reads give up
    /// after `timeout` seconds.
    private static func connected(port: Int, timeout: Int) throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var wait = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect() failed")
        }
        return fd
    }

    private static func write(_ fd: Int32, _ request: String) throws {
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw Failure(description: "send() failed")
        }
    }

    /// One answer: read until the end of its body (by Content-Length), the
    /// server closes the connection, or the read times out.
    private static func readAnswer(_ fd: Int32) -> (status: Int, body: String) {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[..<n]
            let text = String(decoding: answer, as: UTF8.self)
            if let head = text.range(of: "\r\n\r\n"),
                let length = text[..<head.lowerBound].split(separator: "\r\n")
                    .first(where: { $0.lowercased().hasPrefix("content-length:") })
                    .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
                answer.count - text[..<head.upperBound].utf8.count >= length
            {
                break
            }
        }
        let text = String(decoding: answer, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
