import Foundation

/// A small pool of `PostgresConnection`s opened lazily from one URL. Broken connections are dropped
/// and replaced on the next use, so callers recover from a database restart by retrying.
public actor PostgresPool {
    public let url: String
    public let maxConnections: Int
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    public init(url: String, maxConnections: Int = 4) {
        self.url = url
        self.maxConnections = max(1, maxConnections)
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            if closed { throw PostgresError(kind: .connectionLost, message: "pool is closed") }
            if let c = idle.popLast() { return c }
            if open < maxConnections {
                open += 1
                do {
                    return try await PostgresConnection.connect(url: url, label: "tokenmill.pool")
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func release(_ c: PostgresConnection, healthy: Bool) async {
        if healthy && !closed {
            idle.append(c)
        } else {
            open -= 1
            await c.close()
            // A connection that broke usually means the server went away (restart, failover): its idle
            // siblings date from before that too. Dropping them now makes the next caller connect afresh
            // instead of finding the dead ones one failed statement at a time (after an outage a
            // worker's first heartbeat must get through, before its leases are rescued).
            let stale = idle
            idle.removeAll()
            open -= stale.count
            for s in stale { await s.close() }
            for _ in stale { wakeOne() }
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Borrows a connection for `body`. A connection that broke (or was left inside a transaction)
    /// is closed instead of being returned to the pool.
    public func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let c = try await acquire()
        do {
            let v = try await body(c)
            await release(c, healthy: await c.isReusable())
            return v
        } catch {
            await release(c, healthy: await c.isReusable())
            throw error
        }
    }

    /// Shorthand for one statement on a pooled connection.
    @discardableResult
    public func query(_ sql: String, _ params: [(any PostgresEncodable)?] = []) async throws -> PostgresResult {
        try await withConnection { try await $0.query(sql, params) }
    }

    /// Closes idle connections and refuses new work.
    public func close() async {
        closed = true
        for c in idle { await c.close() }
        idle.removeAll()
        for w in waiters { w.resume() }
        waiters.removeAll()
    }
}
