import Testing
@testable import TensorKernels

@Test func hugePageModeIsTheBracketedWord() {
    #expect(HugePageArena.selectedMode("always [madvise] never\n") == "madvise")
    #expect(HugePageArena.selectedMode("[always] madvise never") == "always")
    #expect(HugePageArena.selectedMode("always madvise [never]\n") == "never")
    #expect(HugePageArena.selectedMode("always madvise never") == nil)
    #expect(HugePageArena.selectedMode("[]") == nil)
}

/// Allocations start on a 2 MiB boundary (where a huge page can back them), are 64-byte aligned, do not
/// overlap, and a request beyond the reserved capacity gets a mapping of its own.
@Test func arenaHandsOutAlignedDisjointMemory() throws {
    let arena = HugePageArena(capacity: 3 << 20)
    let sizes = [100, 1 << 20, 64, 1_500_000, 5 << 20, 7]
    var blocks: [(UnsafeMutableRawPointer, Int)] = []
    for (i, n) in sizes.enumerated() {
        let p = try arena.allocate(n)
        #expect(Int(bitPattern: p) % 64 == 0)
        if i == 0 { #expect(Int(bitPattern: p) % (2 << 20) == 0) }
        p.initializeMemory(as: UInt8.self, repeating: UInt8(i + 1), count: n)
        blocks.append((p, n))
    }
    for (i, (p, n)) in blocks.enumerated() {
        let bytes = UnsafeRawBufferPointer(start: p, count: n)
        #expect(bytes.allSatisfy { $0 == UInt8(i + 1) }, "block \(i) was overwritten")
    }
    // The 5 MiB request did not fit the 3 MiB reservation: it lies outside the first mapping.
    let first = Int(bitPattern: blocks[0].0), big = Int(bitPattern: blocks[4].0)
    #expect(big < first || big >= first + (3 << 20))
}
