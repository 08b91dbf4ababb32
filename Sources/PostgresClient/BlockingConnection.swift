import CLibPQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif

private func silentNotice(_ arg: UnsafeMutableRawPointer?, _ message: UnsafePointer<CChar>?) {}

/// A synchronous libpq connection. Every call blocks the calling thread, so use it only from
/// a thread of its own (see `PostgresConnection`, which owns one). Not thread-safe, except
/// `interrupt()`.
public final class BlockingPostgresConnection {
    private var conn: OpaquePointer?
    /// The URL this connection was opened with (may hold a password: use `redactedDatabaseURL` to print it).
    public let url: String
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1

    /// Opens a connection from a libpq URL or key=value string (`postgresql://user@host:port/db`).
    public init(url: String) throws {
        self.url = url
        guard let c = PQconnectdb(url) else {
            throw PostgresError(kind: .connectionFailed, message: "libpq could not allocate a connection")
        }
        if PQstatus(c) != CONNECTION_OK {
            let msg = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(c)
            throw PostgresError(kind: .connectionFailed,
                                message: "\(redactedDatabaseURL(url)): \(msg)",
                                hint: "check DATABASE_URL (or --database-url) and that the server is running")
        }
        conn = c
        PQsetNoticeProcessor(c, silentNotice, nil)
        var fds: [Int32] = [0, 0]
        if pipe(&fds) == 0 {
            wakeRead = fds[0]; wakeWrite = fds[1]
            _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
            _ = fcntl(wakeWrite, F_SETFL, fcntl(wakeWrite, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit { close() }

    /// Closes the connection; later calls fail with `.connectionLost`.
    public func close() {
        if let c = conn { PQfinish(c); conn = nil }
        if wakeRead >= 0 { _ = Glibc.close(wakeRead); wakeRead = -1 }
        if wakeWrite >= 0 { _ = Glibc.close(wakeWrite); wakeWrite = -1 }
    }

    /// False once the connection is closed or broken; a pool drops such connections.
    public var isHealthy: Bool {
        guard let c = conn else { return false }
        return PQstatus(c) == CONNECTION_OK
    }

    /// Whether a transaction block is open (or failed) on this connection.
    public var inTransaction: Bool {
        guard let c = conn else { return false }
        let s = PQtransactionStatus(c)
        return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE
    }

    private func live() throws -> OpaquePointer {
        guard let c = conn else { throw PostgresError(kind: .connectionLost, message: "connection is closed") }
        return c
    }

    private func lastError(_ c: OpaquePointer) -> PostgresError {
        let msg = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
        let kind: PostgresError.Kind = PQstatus(c) == CONNECTION_OK ? .queryFailed : .connectionLost
        return PostgresError(kind: kind, message: msg.isEmpty ? "unknown libpq error" : msg)
    }

    private func field(_ r: OpaquePointer, _ code: Character) -> String? {
        guard let p = PQresultErrorField(r, Int32(code.asciiValue!)) else { return nil }
        return String(cString: p)
    }

    /// Converts a PGresult into a `PostgresResult` or a thrown `PostgresError`, and frees it.
    private func consume(_ result: OpaquePointer?, _ c: OpaquePointer) throws -> PostgresResult {
        guard let r = result else { throw lastError(c) }
        defer { PQclear(r) }
        let status = PQresultStatus(r)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            let nf = Int(PQnfields(r)), nt = Int(PQntuples(r))
            var columns: [String] = []
            columns.reserveCapacity(nf)
            for f in 0..<nf { columns.append(String(cString: PQfname(r, Int32(f)))) }
            var rows: [PostgresRow] = []
            rows.reserveCapacity(nt)
            for t in 0..<nt {
                var vals: [String?] = []
                vals.reserveCapacity(nf)
                for f in 0..<nf {
                    if PQgetisnull(r, Int32(t), Int32(f)) != 0 { vals.append(nil) }
                    else { vals.append(String(cString: PQgetvalue(r, Int32(t), Int32(f)))) }
                }
                rows.append(PostgresRow(columns: columns, values: vals))
            }
            let tuples = String(cString: PQcmdTuples(r))
            return PostgresResult(columns: columns, rows: rows, affectedRows: Int(tuples) ?? nt)
        default:
            let sqlState = field(r, "C")
            let primary = field(r, "M") ?? String(cString: PQresultErrorMessage(r)).trimmingCharacters(in: .whitespacesAndNewlines)
            var kind: PostgresError.Kind = .queryFailed
            if PQstatus(c) != CONNECTION_OK { kind = .connectionLost }
            return try { throw PostgresError(kind: kind, sqlState: sqlState, message: primary.isEmpty ? "\(status)" : primary,
                                             detail: field(r, "D"), hint: field(r, "H")) }()
        }
    }

    /// Runs one statement with `$1, $2, ...` parameters sent separately from the SQL text (no injection).
    @discardableResult
    public func query(_ sql: String, _ params: [(any PostgresEncodable)?] = []) throws -> PostgresResult {
        let c = try live()
        if params.isEmpty {
            return try consume(PQexecParams(c, sql, 0, nil, nil, nil, nil, 0), c)
        }
        let texts: [String?] = params.map { $0?.postgresText }
        var cStrings: [UnsafeMutablePointer<CChar>?] = texts.map { $0.flatMap { strdup($0) } }
        defer { for p in cStrings { free(p) } }
        return try cStrings.withUnsafeMutableBufferPointer { buf in
            try buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { ptr in
                try consume(PQexecParams(c, sql, Int32(texts.count), nil, ptr, nil, nil, 0), c)
            }
        }
    }

    /// Runs one or more `;`-separated statements without parameters (e.g. a migration file).
    public func execute(_ sql: String) throws {
        let c = try live()
        _ = try consume(PQexec(c, sql), c)
    }

    /// Runs `body` inside BEGIN/COMMIT; rolls back if it throws.
    public func transaction<T>(_ body: (BlockingPostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let v = try body(self)
            try execute("COMMIT")
            return v
        } catch {
            if isHealthy { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `COPY ... FROM STDIN` and streams `data` (already in COPY text or CSV format) to it.
    /// Returns the number of rows copied.
    @discardableResult
    public func copyIn(_ sql: String, chunks: [[UInt8]]) throws -> Int {
        let c = try live()
        guard let r = PQexec(c, sql) else { throw lastError(c) }
        if PQresultStatus(r) != PGRES_COPY_IN {
            _ = try consume(r, c)
            throw PostgresError(kind: .copyFailed, message: "statement did not start COPY FROM STDIN: \(sql)")
        }
        PQclear(r)
        for chunk in chunks where !chunk.isEmpty {
            let ok = chunk.withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { PQputCopyData(c, $0, Int32(b.count)) }
            }
            if ok != 1 { break }
        }
        if PQputCopyEnd(c, nil) != 1 { throw lastError(c) }
        var affected = 0
        var firstError: Error?
        while let res = PQgetResult(c) {
            do { affected = try consume(res, c).affectedRows } catch { if firstError == nil { firstError = error } }
        }
        if var e = firstError as? PostgresError {
            if e.kind == .queryFailed { e.kind = .copyFailed }
            throw e
        }
        if let e = firstError { throw e }
        return affected
    }

    /// Starts listening on `channel` (quoted as an identifier).
    public func listen(_ channel: String) throws {
        try execute("LISTEN \"\(channel.replacingOccurrences(of: "\"", with: "\"\""))\"")
    }

    /// Waits up to `timeout` seconds for notifications on LISTENed channels. Returns early (possibly
    /// with none) when `interrupt()` is called from another thread. Uses no CPU while waiting.
    public func waitForNotifications(timeout: Double) throws -> [PostgresNotification] {
        let c = try live()
        var out = drainNotifications(c)
        if !out.isEmpty { return out }
        let sock = PQsocket(c)
        if sock < 0 { throw lastError(c) }
        var fds = [pollfd(fd: sock, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let ms = Int32(max(0, min(timeout, 86_400)) * 1000)
        let n = poll(&fds, wakeRead >= 0 ? 2 : 1, ms)
        if n < 0 && errno != EINTR { throw PostgresError(kind: .connectionLost, message: "poll failed: errno \(errno)") }
        if fds[1].revents != 0 {
            var buf = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &buf, 64) > 0 {}
        }
        if fds[0].revents != 0 {
            if PQconsumeInput(c) == 0 { throw lastError(c) }
            out = drainNotifications(c)
        }
        return out
    }

    private func drainNotifications(_ c: OpaquePointer) -> [PostgresNotification] {
        var out: [PostgresNotification] = []
        while let n = PQnotifies(c) {
            out.append(PostgresNotification(channel: String(cString: n.pointee.relname),
                                            payload: String(cString: n.pointee.extra),
                                            pid: n.pointee.be_pid))
            PQfreemem(n)
        }
        return out
    }

    /// Wakes a thread blocked in `waitForNotifications`. Safe to call from any thread.
    public func interrupt() {
        if wakeWrite >= 0 { var b: UInt8 = 1; _ = write(wakeWrite, &b, 1) }
    }
}
