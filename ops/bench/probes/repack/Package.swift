// swift-tools-version:6.0
// A probe, not part of TokenMill's build: one-sequence decode on weights repacked at load (rows
// interleaved, their scales gathered) against a row-at-a-time kernel on the GGUF layout, from memory and
// from cache: Q4_0 on AVX2 (`RepackProbe`, eight rows per vector) and AVX-512 VNNI (`RepackProbe512`,
// sixteen), Q4_K on AVX-512 VNNI (`RepackProbeQ4K512`).
// See README.md beside this file.
import PackageDescription

let common = ["-parse-stdlib", "-enforce-exclusivity=unchecked"]  // -parse-stdlib: LLVM's prefetch via `Builtin`
let package = Package(
    name: "RepackProbe",
    targets: [
        .target(name: "ProbeHarness", swiftSettings: [.unsafeFlags(common + ["-Xcc", "-march=x86-64-v3"])]),
        .executableTarget(name: "RepackProbe", dependencies: ["ProbeHarness"],
                          swiftSettings: [.unsafeFlags(common + ["-Xcc", "-march=x86-64-v3"])]),
        .executableTarget(name: "RepackProbe512", dependencies: ["ProbeHarness"],
                          swiftSettings: [.unsafeFlags(common + ["-Xcc", "-march=x86-64-v4", "-Xcc", "-mavx512vnni"])]),
        .executableTarget(name: "RepackProbeQ4K512", dependencies: ["ProbeHarness"],
                          swiftSettings: [.unsafeFlags(common + ["-Xcc", "-march=x86-64-v4", "-Xcc", "-mavx512vnni"])]),
    ],
    swiftLanguageModes: [.v5]
)
