// swift-tools-version:6.0
import PackageDescription

/// Compute-heavy modules are built for the host CPU: without it FMA and Float16
/// conversion become library calls (DESIGN.md section 5).
let fast: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native", "-enforce-exclusivity=unchecked"]),
]

let package = Package(
    name: "TokenMill",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tokenmill", targets: ["TokenMillCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // MARK: Database I/O
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),

        // MARK: Queue: pure logic, then the Postgres-backed queue and worker daemon
        .target(name: "QueueCore"),
        .target(
            name: "Queue",
            dependencies: [
                "QueueCore", "PostgresClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Inference core
        .target(name: "GGUF", dependencies: ["TensorKernels"], swiftSettings: fast),
        .target(name: "TensorKernels", swiftSettings: fast),
        .target(name: "Tokenizers", dependencies: ["GGUF"], swiftSettings: fast),
        .target(name: "Inference", dependencies: ["GGUF", "TensorKernels", "Tokenizers"], swiftSettings: fast),

        // MARK: Job kinds: pure reasoning-budget logic, then the handlers on queue + core
        .target(name: "Verification"),
        .target(name: "Reasoning", dependencies: ["Verification"]),
        .target(name: "GenerateJobs", dependencies: ["Queue", "Inference", "Tokenizers", "Reasoning"]),
        .target(name: "DistillJobs", dependencies: ["GenerateJobs", "Verification"]),
        .target(name: "QuantizeJobs", dependencies: ["Queue", "Inference", "GGUF", "TensorKernels", "Tokenizers"], swiftSettings: fast),

        // MARK: The one executable
        .executableTarget(
            name: "TokenMillCLI",
            dependencies: [
                "Queue", "Inference", "Reasoning", "Verification", "GenerateJobs", "DistillJobs", "QuantizeJobs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Tests: one target per module, plus shared support for tests on a real PostgreSQL
        .target(name: "TestSupport", dependencies: ["Queue", "PostgresClient"], path: "Tests/TestSupport"),
        .testTarget(name: "ReasoningTests", dependencies: ["Reasoning"]),
        .testTarget(name: "VerificationTests", dependencies: ["Verification"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GenerateJobsTests", dependencies: ["GenerateJobs", "TestSupport"]),
        .testTarget(name: "DistillJobsTests", dependencies: ["DistillJobs", "TestSupport"]),
        .testTarget(name: "QuantizeJobsTests", dependencies: ["QuantizeJobs", "TestSupport"]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient"]),
        .testTarget(name: "QueueCoreTests", dependencies: ["QueueCore"]),
        .testTarget(name: "QueueTests", dependencies: ["Queue", "TestSupport"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels"], exclude: ["gen"], resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "TestSupport"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
