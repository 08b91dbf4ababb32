// swift-tools-version:6.0
// A probe, not part of TokenMill's build: AVX2 one-sequence Q4_0 decode on weights repacked at load
// (eight rows interleaved, their scales gathered) against a row-at-a-time kernel on the GGUF layout,
// both from memory and from cache. See README.md beside this file.
import PackageDescription

let package = Package(
    name: "RepackProbe",
    targets: [
        // -parse-stdlib reaches LLVM's prefetch through `Builtin` (as TokenMill's Sources/Prefetch).
        .executableTarget(name: "RepackProbe", swiftSettings: [
            .unsafeFlags(["-parse-stdlib", "-Xcc", "-march=x86-64-v3", "-enforce-exclusivity=unchecked"]),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
