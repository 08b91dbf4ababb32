import Dispatch
import Foundation

/// An async PostgreSQL connection. Its blocking libpq calls run on a serial dispatch queue of its
/// own (one thread at a time per connection), never on Swift's cooperative thread pool; results come
/// back through continuations. Calls are serialised in submission order.
public final class PostgresConnection: @unchecked Sendable {
    private let queue: DispatchQueue
    private let conn: BlockingPostgresConnection

    private init(conn: BlockingPostgresConnection, label: String) {
        self.conn = conn
        self.queue = DispatchQueue(label: label)
    }

    /// Opens a connection (on a dedicated queue) from a URL such as `postgresql://user@host:port/db`.
    public static func connect(url: String, label: String = "tokenmill.pg") async throws -> PostgresConnection {
        let q = DispatchQueue(label: label + ".connect")
        let c: BlockingPostgresConnection = try await withCheckedThrowingContinuation { cont in
            q.async { cont.resume(with: Result { try BlockingPostgresConnection(url: url) }) }
        }
        return PostgresConnection(conn: c, label: label)
    }

    /// Runs `body` with the blocking connection on this connection's own queue. Use it to run a whole
    /// transaction in one hop (e.g. fenced completion plus the handler's extra statements).
    public func withBlocking<T>(_ body: @escaping (BlockingPostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            queue.async { [conn] in
                let r = Result { try body(conn) }
                cont.resume(with: r.map { UncheckedBox($0) }.map { $0.value })
            }
        }
    }

    /// Runs one parameterised statement.
    @discardableResult
    public func query(_ sql: String, _ params: [(any PostgresEncodable)?] = []) async throws -> PostgresResult {
        try await withBlocking { try $0.query(sql, params) }
    }

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) async throws {
        try await withBlocking { try $0.execute(sql) }
    }

    /// `COPY ... FROM STDIN` with data already in COPY format.
    @discardableResult
    public func copyIn(_ sql: String, chunks: [[UInt8]]) async throws -> Int {
        try await withBlocking { try $0.copyIn(sql, chunks: chunks) }
    }

    /// LISTEN on a channel.
    public func listen(_ channel: String) async throws {
        try await withBlocking { try $0.listen(channel) }
    }

    /// Waits (on this connection's thread, using no CPU) up to `timeout` seconds for notifications.
    /// `interrupt()` ends the wait early.
    public func waitForNotifications(timeout: Double) async throws -> [PostgresNotification] {
        try await withBlocking { try $0.waitForNotifications(timeout: timeout) }
    }

    /// Ends a pending `waitForNotifications` early. Callable from anywhere.
    public func interrupt() { conn.interrupt() }

    /// False once the connection is broken or closed.
    public func isHealthy() async -> Bool { (try? await withBlocking { $0.isHealthy }) ?? false }

    /// True when the connection is healthy and not inside a transaction block (safe to hand to someone else).
    public func isReusable() async -> Bool {
        (try? await withBlocking { $0.isHealthy && !$0.inTransaction }) ?? false
    }

    /// Closes the connection after queued calls finish.
    public func close() async {
        _ = try? await withBlocking { $0.close() }
    }
}

private struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }
