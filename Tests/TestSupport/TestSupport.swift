import DistillJobs
import Foundation
import GenerateJobs
import PostgresClient
import QuantizeJobs
import Queue

/// The job kinds of the `tokenmill` binary (its `jobKinds` list, which an executable cannot export):
/// test databases get their migrations, and QueueTests checks that `tokenmill migrate` builds the same schema.
public let testJobKinds: [any JobKind.Type] = [NoopKind.self, GenerateKind.self, DistillKind.self, QuantizeKind.self, ImatrixKind.self]

/// The payload schema of the registered kind `kind` (for stand-in handlers registered under a real kind).
public func payloadSchema(of kind: String) -> String? {
    testJobKinds.first { $0.name == kind }?.payloadSchema
}

/// Shared by the test targets that need a real PostgreSQL: throwaway databases and the built binary.
/// The server comes from $DATABASE_URL (ops/test.sh starts one).
public let testServerURL = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgresql://tokenmill@127.0.0.1:54329/tokenmill"

/// `base` with its database name replaced by `database`.
public func urlWithDatabase(_ base: String, _ database: String = "postgres") -> String {
    var u = base
    var query = ""
    if let q = u.firstIndex(of: "?") { query = String(u[q...]); u = String(u[..<q]) }
    let schemeEnd = u.range(of: "://")!.upperBound
    if let slash = u[schemeEnd...].firstIndex(of: "/") { u = String(u[..<slash]) }
    return u + "/" + database + query
}

/// A throwaway database (`tm_test_<random>`), migrated, dropped by `drop()`.
public final class TestDatabase: @unchecked Sendable {
    public let name: String
    public let url: String
    public let pool: PostgresPool
    public let queue: JobQueue
    let admin: String

    public init(server: String = testServerURL, migrate: Bool = true) async throws {
        name = "tm_test_\(UInt32.random(in: 0...UInt32.max))"
        admin = urlWithDatabase(server)
        let c = try await PostgresConnection.connect(url: admin)
        try await c.execute("CREATE DATABASE \(name)")
        await c.close()
        url = urlWithDatabase(server, name)
        pool = PostgresPool(url: url, maxConnections: 4)
        queue = JobQueue(pool: pool)
        if migrate {
            try await Migrator.migrate(url: url, kinds: testJobKinds)
        }
    }

    public func drop() async {
        await pool.close()
        if let c = try? await PostgresConnection.connect(url: admin) {
            _ = try? await c.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            for r in roles.value { _ = try? await c.execute("DROP ROLE IF EXISTS \(r)") }
            await c.close()
        }
    }

    private let roles = RoleList()
    private final class RoleList: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []
        var value: [String] { lock.lock(); defer { lock.unlock() }; return names }
        func add(_ n: String) { lock.lock(); names.append(n); lock.unlock() }
    }

    /// A new LOGIN role that is a member of `group` (`tokenmill_worker`, `tokenmill_submitter` or
    /// `tokenmill_reader`) and nothing else, and this database's URL as that role. Dropped by `drop()`.
    public func loginRole(_ group: String) async throws -> (name: String, url: String) {
        let role = "tm_\(group.replacingOccurrences(of: "tokenmill_", with: ""))_\(UInt32.random(in: 0...UInt32.max))"
        try await pool.query("CREATE ROLE \(role) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT IN ROLE \(group)")
        roles.add(role)
        return (role, urlWithUser(url, role))
    }
}

/// `url` with its user name replaced by `user` (any password dropped).
public func urlWithUser(_ url: String, _ user: String) -> String {
    let schemeEnd = url.range(of: "://")!.upperBound
    let rest = url[schemeEnd...]
    let hostStart = rest.firstIndex(of: "@").map { rest.index(after: $0) } ?? rest.startIndex
    return String(url[..<schemeEnd]) + user + "@" + rest[hostStart...]
}

extension TestDatabase {

    /// The first column of the first row as an integer.
    public func int(_ sql: String, _ params: [(any PostgresEncodable)?] = []) async throws -> Int {
        guard let row = try await pool.query(sql, params).rows.first else {
            throw QueueError.notFound("no row from: \(sql)")
        }
        return try row.decode(0)
    }

    public func register(_ registry: JobRegistry) async throws {
        try await Migrator.registerKinds(registry, pool: pool)
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return try await condition()
}

/// The built `tokenmill` executable next to the test bundle (.build/<config>/tokenmill).
public func tokenmillBinary() throws -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("tokenmill")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/tokenmill")
    if FileManager.default.isExecutableFile(atPath: fallback.path) { return fallback }
    throw QueueError.notFound("tokenmill binary not found next to \(CommandLine.arguments[0]); run `swift build` first")
}

/// Runs the tokenmill binary to completion; returns (status, stdout, stderr).
public func runTokenmill(_ args: [String], env: [String: String] = [:]) throws -> (Int32, String, String) {
    let p = try startTokenmill(args, env: env, output: true)
    let o = (p.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
    let r = (p.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
}

/// Starts the tokenmill binary (e.g. a worker) and returns the running process.
public func startTokenmill(_ args: [String], env: [String: String] = [:], output: Bool = false) throws -> Process {
    let p = Process()
    p.executableURL = try tokenmillBinary()
    p.arguments = args
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    if output {
        p.standardOutput = Pipe()
        p.standardError = Pipe()
    } else {
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
    }
    try p.run()
    return p
}
