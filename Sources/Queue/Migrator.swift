import PostgresClient

/// Applies migrations (migrations/NNNN_name.sql) to schema `tokenmill`: the queue's own and those of
/// the job kinds a binary runs, in one order of file names.
public enum Migrator {
    /// Advisory lock key shared by every `tokenmill migrate` ("TOKNMILL" as 64-bit integer).
    static let lockKey: Int64 = 0x544F_4B4E_4D49_4C4C

    /// The queue's own migrations (its tables, views and roles), which every binary applies.
    public static let queueMigrations: [Migration] = EmbeddedResources.migrations

    /// The queue's migrations and every kind's, each file once, in version (file name) order. Throws if
    /// two different migrations share a name (two modules claiming one file).
    public static func migrations(for kinds: [any JobKind.Type]) throws -> [Migration] {
        var byName: [String: Migration] = [:]
        for m in queueMigrations + kinds.flatMap({ $0.migrations }) {
            if let seen = byName[m.name], seen != m {
                throw QueueError.invalidArgument("two different migrations are named \(m.name): give one of them a new number")
            }
            byName[m.name] = m
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    /// Applies the queue's migrations and those of `kinds` (see `migrations(for:)`).
    @discardableResult
    public static func migrate(url: String, kinds: [any JobKind.Type]) async throws -> [String] {
        try await migrate(url: url, migrations: try migrations(for: kinds))
    }

    /// Applies pending migrations in order, each in its own transaction, recorded in
    /// tokenmill.schema_migrations. Safe to run twice and from several processes at once (a session
    /// advisory lock serialises them). Returns the names applied by this call.
    @discardableResult
    public static func migrate(url: String, migrations: [Migration]) async throws -> [String] {
        let conn = try await PostgresConnection.connect(url: url, label: "tokenmill.migrate")
        defer { Task { await conn.close() } }
        return try await conn.withBlocking { c in
            try c.query("SELECT pg_advisory_lock($1)", [lockKey])
            defer { _ = try? c.query("SELECT pg_advisory_unlock($1)", [lockKey]) }
            try c.execute("""
                CREATE SCHEMA IF NOT EXISTS tokenmill;
                CREATE TABLE IF NOT EXISTS tokenmill.schema_migrations (
                    version    text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
                """)
            let done = Set(try c.query("SELECT version FROM tokenmill.schema_migrations").rows.compactMap { $0[0] })
            var applied: [String] = []
            for m in migrations.sorted(by: { $0.name < $1.name }) where !done.contains(m.name) {
                do {
                    try c.transaction { tx in
                        try tx.execute(m.sql)
                        try tx.query("INSERT INTO tokenmill.schema_migrations (version) VALUES ($1)", [m.name])
                    }
                } catch var e as PostgresError {
                    e.message = "migration \(m.name) failed: \(e.message)"
                    throw e
                }
                applied.append(m.name)
            }
            return applied
        }
    }

    /// Registers `registry`'s kinds and their payload schemas in tokenmill.job_kinds, so jobs of those
    /// kinds are accepted (jobs of other kinds fail at insert with an error naming the known kinds).
    public static func registerKinds(_ registry: JobRegistry, pool: PostgresPool) async throws {
        for kind in registry.kinds {
            try await pool.query("""
                INSERT INTO tokenmill.job_kinds (kind, payload_schema) VALUES ($1, $2::jsonb)
                ON CONFLICT (kind) DO UPDATE SET payload_schema = excluded.payload_schema, registered_at = now()
                """, [kind, registry.schemaText(for: kind)])
        }
    }
}
