#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TensorKernels

#if os(Linux)
/// Pages of `m` the kernel has backed (`mincore`).
private func residentPages(_ m: ZeroPages) -> [Int] {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    var vec = [UInt8](repeating: 0, count: m.byteCount / page)
    _ = mincore(m.base, m.byteCount, &vec)
    return vec.indices.filter { vec[$0] & 1 != 0 }
}

/// A mapping costs nothing until written, then exactly the pages written; unwritten parts read as zeros.
@Test func zeroPagesBecomeResidentOnlyWhereWritten() {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let m = ZeroPages(of: Float.self, count: 64 * page / 4)
    defer { m.release() }
    #expect(m.byteCount == 64 * page)
    #expect(Int(bitPattern: m.base) % page == 0)
    #expect(residentPages(m).isEmpty)
    let f = m.pointer(to: Float.self)
    f[3 * page / 4] = 1.5      // page 3
    f[40 * page / 4 + 7] = -2  // page 40
    #expect(residentPages(m) == [3, 40])
    #expect(f[3 * page / 4] == 1.5 && f[40 * page / 4 + 7] == -2)
    #expect((0..<(64 * page / 4)).allSatisfy { i in i == 3 * page / 4 || i == 40 * page / 4 + 7 || f[i] == 0 })
}
#endif
