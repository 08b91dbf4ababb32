// swift-tools-version:6.0
import PackageDescription

// One binary for every host of a fleet: nothing is built for the build machine's own CPU.
//
// On x86-64 the compute modules are built for x86-64-v3 (AVX2, FMA, F16C, BMI2: every x86 server
// since 2013-2015); without FMA and F16C, float products and Float16 conversion become slow
// instruction sequences or library calls. The CLI checks at start that the host has them
// (`CPUFeatures`, built for plain x86-64) and exits with a message instead of dying on SIGILL.
// The 8-bit integer kernels come per instruction level in modules of their own: `KernelsAVX2`
// (x86-64-v3), `KernelsAVX512` (x86-64-v4 + AVX-512 VNNI), `KernelsGFNI` (that + GFNI) and `KernelsAMX` (that +
// VBMI + AMX), chosen at start from cpuid
// (`KernelLevel` in TensorKernels); the portable level is plain Swift SIMD in TensorKernels and
// is what arm64 runs. See docs/kernels.md.
#if arch(x86_64)
let baseline = ["-Xcc", "-march=x86-64-v3"]
// fast-dpwssd (a tuning feature, no new instructions): generic x86-64-v4 tuning lets LLVM split each
// vpdpwssd into vpmaddwd + vpaddd, one vector op more in the K-quant kernels' inner loops.
let avx512Flags = ["-Xcc", "-march=x86-64-v4", "-Xcc", "-mavx512vnni",
                   "-Xcc", "-Xclang", "-Xcc", "-target-feature", "-Xcc", "-Xclang", "-Xcc", "+fast-dpwssd"]
// The GFNI level: the AVX-512 flags plus GFNI (Ice Lake, Sapphire Rapids, Zen 4 and later).
let gfniFlags = avx512Flags + ["-Xcc", "-mgfni"]
// The AMX level: the GFNI flags plus the tile instructions (and VBMI; every AMX CPU has both).
let amxFlags = gfniFlags + ["-Xcc", "-mavx512vbmi", "-Xcc", "-mamx-tile", "-Xcc", "-mamx-int8"]
#else
let baseline: [String] = []
let avx512Flags: [String] = []
let gfniFlags: [String] = []
let amxFlags: [String] = []
#endif

/// Compute-heavy modules: the x86-64-v3 baseline, no exclusivity checks in hot loops.
let fast: [SwiftSetting] = [
    .unsafeFlags(baseline + ["-enforce-exclusivity=unchecked"]),
]

let package = Package(
    name: "TokenMill",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tokenmill", targets: ["TokenMillCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
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
        // Plain x86-64: runs on any host.
        .target(name: "CPUFeatures"),
        // `-parse-stdlib`: reaches LLVM's prefetch intrinsic (Sources/Prefetch/Prefetch.swift).
        .target(name: "Prefetch", swiftSettings: [.unsafeFlags(["-parse-stdlib"])]),
        .target(name: "KernelsAVX2", dependencies: ["CPUFeatures", "Prefetch"], swiftSettings: fast),
        .target(name: "KernelsAVX512", dependencies: ["KernelsAVX2", "Prefetch"],
                swiftSettings: [.unsafeFlags(avx512Flags + ["-enforce-exclusivity=unchecked"])]),
        // GFNI's affine transform and the AMX tile instructions as inline wrappers (C macros Swift cannot
        // import): headers, no C library.
        .systemLibrary(name: "CGFNI"),
        .target(name: "KernelsGFNI", dependencies: ["CGFNI", "KernelsAVX2", "KernelsAVX512"],
                swiftSettings: [.unsafeFlags(gfniFlags + ["-enforce-exclusivity=unchecked"])]),
        .systemLibrary(name: "CAMX"),
        .target(name: "KernelsAMX", dependencies: ["CAMX", "CPUFeatures", "KernelsAVX2", "KernelsAVX512", "KernelsGFNI", "Prefetch"],
                swiftSettings: [.unsafeFlags(amxFlags + ["-enforce-exclusivity=unchecked"])]),
        .target(name: "TensorKernels", dependencies: ["CPUFeatures", "KernelsAVX2", "KernelsAVX512", "KernelsGFNI", "KernelsAMX", "Prefetch"],
                swiftSettings: fast),
        .target(name: "Tokenizers", dependencies: ["GGUF"], swiftSettings: fast),
        .target(name: "Inference", dependencies: ["GGUF", "TensorKernels", "Tokenizers"], swiftSettings: fast),

        // MARK: Job kinds: pure reasoning-budget logic, then the handlers on queue + core
        .target(name: "Verification"),
        .target(name: "Reasoning", dependencies: ["Verification", "Inference"]),
        .target(name: "GenerateJobs", dependencies: ["Queue", "Inference", "Tokenizers", "Reasoning"]),
        .target(name: "DistillJobs", dependencies: ["GenerateJobs", "Verification"]),
        .target(name: "QuantizeJobs", dependencies: ["Queue", "QueueCore", "Inference", "GGUF", "TensorKernels", "Tokenizers"], swiftSettings: fast),

        // MARK: OpenAI Batch API files <-> generate jobs (pure mapping and output layout)
        .target(name: "OpenAIBatch", dependencies: ["QueueCore"]),

        // MARK: The one executable
        .executableTarget(
            name: "TokenMillCLI",
            dependencies: [
                "Queue", "Inference", "Reasoning", "Verification", "GenerateJobs", "DistillJobs", "QuantizeJobs", "OpenAIBatch", "CPUFeatures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Tests: one target per module, plus shared support for tests on a real PostgreSQL
        .target(name: "TestSupport", dependencies: ["Queue", "PostgresClient", "GenerateJobs", "DistillJobs", "QuantizeJobs"],
                path: "Tests/TestSupport"),
        .testTarget(name: "ReasoningTests", dependencies: ["Reasoning"]),
        .testTarget(name: "VerificationTests", dependencies: ["Verification"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GenerateJobsTests", dependencies: ["GenerateJobs", "TestSupport"]),
        .testTarget(name: "DistillJobsTests", dependencies: ["DistillJobs", "TestSupport"]),
        .testTarget(name: "QuantizeJobsTests", dependencies: ["QuantizeJobs", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient"]),
        .testTarget(name: "QueueCoreTests", dependencies: ["QueueCore"]),
        .testTarget(name: "OpenAIBatchTests", dependencies: ["OpenAIBatch", "Inference", "TestSupport"]),
        .testTarget(name: "QueueTests", dependencies: ["Queue", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CPUFeaturesTests", dependencies: ["CPUFeatures"]),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels", "KernelsAVX2"], exclude: ["gen"], resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "TestSupport"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
