import Foundation
import Testing
@testable import PostgresClient

let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgresql://tokenmill@127.0.0.1:54329/tokenmill"

@Suite struct PostgresClientTests {
    @Test func parameterisedQueryAndDecoding() async throws {
        let c = try await PostgresConnection.connect(url: databaseURL)
        let r = try await c.query("SELECT $1::int + 1 AS n, $2::text AS s, $3::bool AS b, $4::float8 AS d, $5::text IS NULL AS isnull, $6::bigint[] AS arr, $7::text[] AS ta",
                                  [41, "it's \"quoted\"", true, 2.5, Optional<String>.none, [Int64(1), 2, 3], ["a,b", "c\"d", "e\\f"]])
        let row = try #require(r.rows.first)
        #expect(try row.decode("n", as: Int.self) == 42)
        #expect(try row.decode("s", as: String.self) == "it's \"quoted\"")
        #expect(try row.decode("b", as: Bool.self) == true)
        #expect(try row.decode("d", as: Double.self) == 2.5)
        #expect(try row.decode("isnull", as: Bool.self) == true)
        #expect(try row.decode("arr", as: [Int64].self) == [1, 2, 3])
        #expect(try row.decode("ta", as: [String].self) == ["a,b", "c\"d", "e\\f"])
        #expect(throws: PostgresError.self) { try row.decode("nope", as: Int.self) }
        await c.close()
    }

    @Test func errorsCarrySQLState() async throws {
        let c = try await PostgresConnection.connect(url: databaseURL)
        try await c.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
        try await c.query("INSERT INTO t VALUES ($1)", [1])
        do {
            try await c.query("INSERT INTO t VALUES ($1)", [1])
            Issue.record("duplicate insert succeeded")
        } catch let e as PostgresError {
            #expect(e.sqlState == "23505")
            #expect(e.kind == .queryFailed)
            #expect(e.message.contains("duplicate key"))
            #expect(e.detail?.contains("(id)=(1)") == true)
            #expect(!e.isConnectionError)
        }
        do {
            try await c.query("SELEC 1")
            Issue.record("syntax error not reported")
        } catch let e as PostgresError {
            #expect(e.sqlState == "42601")
        }
        // The connection is still usable after errors.
        #expect(try await c.query("SELECT 7").rows[0].decode(0, as: Int.self) == 7)
        await c.close()
    }

    @Test func wrongURLGivesClearError() async throws {
        do {
            _ = try await PostgresConnection.connect(url: "postgresql://tokenmill:secret@127.0.0.1:1/nowhere")
            Issue.record("connected to a closed port")
        } catch let e as PostgresError {
            #expect(e.kind == .connectionFailed)
            #expect(e.isConnectionError)
            #expect(e.description.contains("127.0.0.1:1"))
            #expect(!e.description.contains("secret"))
            #expect(e.description.contains("could not connect"))
        }
    }

    @Test func copyFromStdin() async throws {
        let c = try await PostgresConnection.connect(url: databaseURL)
        try await c.execute("CREATE TEMP TABLE cp (n int, s text)")
        let data = (1...1000).map { "\($0)\trow\\t\($0)\n" }.joined()
        let n = try await c.copyIn("COPY cp FROM STDIN", chunks: [Array(data.utf8)])
        #expect(n == 1000)
        let r = try await c.query("SELECT count(*), sum(n), max(s) FILTER (WHERE n = 5) FROM cp")
        #expect(try r.rows[0].decode(0, as: Int.self) == 1000)
        #expect(try r.rows[0].decode(1, as: Int.self) == 500500)
        #expect(r.rows[0][2] == "row\t5")
        // A bad row fails the whole COPY with the server's message and SQLSTATE.
        do {
            try await c.copyIn("COPY cp FROM STDIN", chunks: [Array("1\tok\nnotanumber\tx\n".utf8)])
            Issue.record("bad COPY accepted")
        } catch let e as PostgresError {
            #expect(e.kind == .copyFailed)
            #expect(e.sqlState == "22P02")
        }
        #expect(try await c.query("SELECT count(*) FROM cp").rows[0].decode(0, as: Int.self) == 1000)
        await c.close()
    }

    @Test func listenNotify() async throws {
        let l = try await PostgresConnection.connect(url: databaseURL)
        let s = try await PostgresConnection.connect(url: databaseURL)
        let channel = "tm_test_\(UInt32.random(in: 0...UInt32.max))"
        try await l.listen(channel)
        #expect(try await l.waitForNotifications(timeout: 0.05).isEmpty)
        try await s.query("SELECT pg_notify($1, $2)", [channel, "hello"])
        let start = Date()
        var got: [PostgresNotification] = []
        while got.isEmpty && Date().timeIntervalSince(start) < 5 {
            got = try await l.waitForNotifications(timeout: 2)
        }
        #expect(got.map(\.payload) == ["hello"])
        #expect(got.first?.channel == channel)
        // interrupt() ends a long wait early.
        let t0 = Date()
        Task { try await Task.sleep(nanoseconds: 100_000_000); l.interrupt() }
        _ = try await l.waitForNotifications(timeout: 10)
        #expect(Date().timeIntervalSince(t0) < 5)
        await l.close(); await s.close()
    }

    @Test func poolRecoversFromKilledConnection() async throws {
        let pool = PostgresPool(url: databaseURL, maxConnections: 1)
        let pid = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(0, as: Int.self)
        let killer = try await PostgresConnection.connect(url: databaseURL)
        try await killer.query("SELECT pg_terminate_backend($1)", [pid])
        try await Task.sleep(nanoseconds: 100_000_000)
        do {
            try await pool.query("SELECT 1")
        } catch let e as PostgresError {
            #expect(e.isConnectionError)
        }
        // The broken connection was dropped: the next call opens a new one.
        let pid2 = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(0, as: Int.self)
        #expect(pid2 != pid)
        await pool.close(); await killer.close()
    }

    @Test func aBrokenConnectionDropsItsIdleSiblings() async throws {
        // Three idle connections, then a server-side outage kills all three backends.
        let pool = PostgresPool(url: databaseURL, maxConnections: 3)
        let pids = try await withThrowingTaskGroup(of: Int.self) { g in
            for _ in 0..<3 { g.addTask { try await pool.query("SELECT pg_backend_pid() FROM pg_sleep(0.3)").rows[0].decode(0, as: Int.self) } }
            return try await g.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(pids).count == 3)
        let killer = try await PostgresConnection.connect(url: databaseURL)
        for pid in pids { try await killer.query("SELECT pg_terminate_backend($1)", [pid]) }
        try await Task.sleep(nanoseconds: 100_000_000)
        // One statement meets a dead connection; the next one gets a fresh connection, not the next
        // dead sibling (after a restart a worker's first heartbeat must get through).
        _ = try? await pool.query("SELECT 1")
        let fresh = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(0, as: Int.self)
        #expect(!pids.contains(fresh))
        await pool.close(); await killer.close()
    }

    @Test func transactionRollsBack() async throws {
        let c = try await PostgresConnection.connect(url: databaseURL)
        try await c.execute("CREATE TEMP TABLE tx (n int)")
        do {
            try await c.withBlocking { b in
                try b.transaction { t in
                    try t.query("INSERT INTO tx VALUES (1)")
                    try t.query("INSERT INTO tx VALUES ('x')")
                }
            }
            Issue.record("bad insert accepted")
        } catch {}
        #expect(try await c.query("SELECT count(*) FROM tx").rows[0].decode(0, as: Int.self) == 0)
        #expect(redactedDatabaseURL("postgresql://u:pw@h/db") == "postgresql://u:***@h/db")
        await c.close()
    }
}
