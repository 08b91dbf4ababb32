import Foundation
import Testing
@testable import GenerateJobs

@Test func autoConcurrencyFitsKVCachesInTheFreeMemoryUpToTheCeiling() {
    let mib = 1 << 20
    let qwen05 = ConcurrencyPlan.ModelNeeds(name: "q05", weightsBytes: 463 * mib, kvBytesPerSequence: 96 * mib)
    // Plenty of memory: the ceiling.
    #expect(ConcurrencyPlan.plan(models: [qwen05], availableBytes: 16 << 30).sequences == ConcurrencyPlan.ceiling)
    // 1 GiB available: 0.8 GiB - 463 MiB = 356 MiB leaves room for 3 sequences of 96 MiB.
    let tight = ConcurrencyPlan.plan(models: [qwen05], availableBytes: 1 << 30)
    #expect(tight.sequences == 3, "\(tight)")
    #expect(tight.description.contains("q05") && tight.description.contains("fits 3"))
    // Two models: each engine has that many slots, so their KV caches add up.
    let two = ConcurrencyPlan.plan(models: [qwen05, qwen05], availableBytes: 2 << 30)
    #expect(two.sequences == Int((Double(2 << 30) * 0.8 - Double(2 * 463 * mib)) / Double(2 * 96 * mib)))
    // Not even the weights fit: one sequence, never zero.
    #expect(ConcurrencyPlan.plan(models: [qwen05], availableBytes: 256 * mib).sequences == 1)
    #expect(ConcurrencyPlan.plan(models: [], availableBytes: 1 << 30).sequences == ConcurrencyPlan.fallback)
    #expect(ConcurrencyPlan.plan(models: [qwen05], availableBytes: nil).sequences == ConcurrencyPlan.ceiling)
}

@Test func availableMemoryIsReadFromMeminfo() {
    let text = "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   12345678 kB\n"
    #expect(ConcurrencyPlan.availableMemory(meminfo: text) == 12345678 * 1024)
    #expect(ConcurrencyPlan.availableMemory(meminfo: "MemTotal: 1 kB\n") == nil)
    #expect(ConcurrencyPlan.availableMemory(meminfo: nil) == nil)
}
