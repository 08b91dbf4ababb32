import Foundation
import PostgresClient
import Testing
@testable import Queue

/// Migrations moved into the modules that own their tables (each kind's grants split out of
/// 0050_hardening into 0051-0053): a database migrated before keeps its recorded versions, upgrades by
/// applying only the new files, and ends with the schema a fresh database gets.
@Suite(.serialized) struct MigrationUpgradeTests {
    static let splitOut = ["0051_generate_roles.sql", "0052_quantize_roles.sql", "0053_distill_roles.sql"]
    /// The last file released before the split; everything after it came later and is applied by the upgrade.
    static let lastBeforeTheSplit = "0060_openai_batch.sql"
    /// Files added after the split (0070_reasoning_effort.sql, ...): an upgrade applies them after the split-out ones.
    static func addedLater() throws -> [String] {
        try Migrator.migrations(for: testJobKinds).map(\.name).filter { $0 > lastBeforeTheSplit }
    }

    /// The migrations as released before the split: the same files, 0050 as it was then.
    static func migrationsBeforeTheSplit() throws -> [Migration] {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/0050_hardening.before-kinds.sql")
        let old0050 = try String(contentsOf: fixture, encoding: .utf8)
        return try Migrator.migrations(for: testJobKinds)
            .filter { !splitOut.contains($0.name) && $0.name <= lastBeforeTheSplit }
            .map { $0.name == "0050_hardening.sql" ? Migration(name: $0.name, sql: old0050) : $0 }
    }

    /// Schema tokenmill as catalog rows: relations, columns, constraints, indexes, views, functions,
    /// triggers, enum types, privileges (tables, sequences, columns, the schema, defaults) and the
    /// recorded migration versions.
    static func snapshot(_ db: TestDatabase) async throws -> [String] {
        let queries = [
            "SELECT c.relkind::text, c.relname FROM pg_class c WHERE c.relnamespace = 'tokenmill'::regnamespace",
            """
            SELECT table_name, ordinal_position::text, column_name, data_type, is_nullable, coalesce(column_default, ''),
                   is_identity FROM information_schema.columns WHERE table_schema = 'tokenmill'
            """,
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'tokenmill'::regnamespace",
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'tokenmill'",
            "SELECT viewname, definition FROM pg_views WHERE schemaname = 'tokenmill'",
            "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'tokenmill'::regnamespace AND prokind IN ('f', 'p')",
            """
            SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger
             WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'tokenmill'::regnamespace)
            """,
            """
            SELECT t.typname, e.enumsortorder::text, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
             WHERE t.typnamespace = 'tokenmill'::regnamespace
            """,
            """
            SELECT c.relname, a.grantee::regrole::text, a.privilege_type, a.is_grantable::text
              FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'tokenmill'::regnamespace
            """,
            """
            SELECT c.relname, t.attname, a.grantee::regrole::text, a.privilege_type
              FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a
             WHERE c.relnamespace = 'tokenmill'::regnamespace
            """,
            "SELECT a.grantee::regrole::text, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'tokenmill'",
            """
            SELECT d.defaclobjtype::text, a.grantee::regrole::text, a.privilege_type
              FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE d.defaclnamespace = 'tokenmill'::regnamespace
            """,
            "SELECT version FROM tokenmill.schema_migrations",
        ]
        var lines: [String] = []
        for (i, q) in queries.enumerated() {
            let rows = try await db.pool.query(q).rows.map { r in "\(i)|" + r.values.map { $0 ?? "NULL" }.joined(separator: "|") }
            lines += rows.sorted()
        }
        return lines
    }

    @Test func aDatabaseMigratedBeforeTheSplitUpgradesToTheFreshSchema() async throws {
        let before = try Self.migrationsBeforeTheSplit()
        // The versions databases migrated before the split have recorded: unchanged.
        #expect(before.map(\.name) == ["0001_queue.sql", "0010_generate.sql", "0020_quantize.sql", "0030_distill.sql",
                                       "0045_reasoning_mode.sql", "0050_hardening.sql", "0060_openai_batch.sql"])
        let old = try await TestDatabase(migrate: false)
        let fresh = try await TestDatabase()
        let cli = try await TestDatabase(migrate: false)
        let partial = try await TestDatabase(migrate: false)
        defer { Task { await old.drop(); await fresh.drop(); await cli.drop(); await partial.drop() } }

        #expect(try await Migrator.migrate(url: old.url, migrations: before) == before.map(\.name))
        // Upgrading applies only the split-out files (and those added since), and ends where a fresh database does.
        #expect(try await Migrator.migrate(url: old.url, kinds: testJobKinds) == Self.splitOut + (try Self.addedLater()))
        let freshSchema = try await Self.snapshot(fresh)
        #expect(freshSchema.count > 300)
        #expect(try await Self.snapshot(old) == freshSchema)

        // `tokenmill migrate` (the binary's own list of kinds) builds the same schema.
        let (status, out, err) = try runTokenmill(["migrate", "--database-url", cli.url])
        #expect(status == 0, "\(out)\(err)")
        #expect(try await Self.snapshot(cli) == freshSchema)

        // The comparison sees grants: without 0053 the submitter cannot build datasets.
        let all = try Migrator.migrations(for: testJobKinds)
        try await Migrator.migrate(url: partial.url, migrations: all.filter { $0.name != "0053_distill_roles.sql" })
        let missing = Set(freshSchema).subtracting(try await Self.snapshot(partial))
        #expect(missing.contains("8|datasets|tokenmill_submitter|INSERT|false"))
        #expect(missing.contains("12|0053_distill_roles.sql"))
    }

    @Test func twoModulesClaimingOneMigrationNameIsAnError() throws {
        enum Clash: JobKind {
            typealias Payload = NoopHandler.Payload
            static let name = "clash"
            static let payloadSchema = #"{"type": "object"}"#
            static let migrations = [Migration(name: "0001_queue.sql", sql: "SELECT 1")]
            static func makeHandler(_ environment: JobKindEnvironment) -> NoopHandler { NoopHandler() }
        }
        #expect(throws: QueueError.self) { try Migrator.migrations(for: [Clash.self]) }
        // The same file listed by two kinds of one module is kept once.
        #expect(try Migrator.migrations(for: testJobKinds).count == Set(try Migrator.migrations(for: testJobKinds).map(\.name)).count)
    }
}
