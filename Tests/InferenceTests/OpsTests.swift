import Foundation
import TensorKernels
import Testing
@testable import Inference

/// The SIMD helpers against plain loops, at lengths that exercise the 8/16-wide bodies and the tails.
@Test(arguments: [1, 7, 8, 13, 16, 29, 64, 100])
func opsMatchPlainLoops(n: Int) {
    var r = SplitMix64(seed: UInt64(n))
    let a = (0..<n).map { _ in r.nextSymmetric() * 3 }
    let b = (0..<n).map { _ in r.nextSymmetric() * 3 }
    let w = (0..<n).map { _ in 1 + r.nextSymmetric() * 0.2 }
    let ah = a.map { Float16($0).bitPattern }
    func close(_ x: Float, _ y: Float, _ tol: Float = 1e-5) -> Bool { abs(x - y) <= tol * max(1, abs(y)) }

    let dotRef = zip(a, b).map(*).reduce(0, +)
    #expect(close(VectorOps.dot(a, b, n), dotRef))
    let dotHRef = zip(ah, b).map { Float(Float16(bitPattern: $0)) * $1 }.reduce(0, +)
    #expect(close(ah.withUnsafeBufferPointer { VectorOps.dotF16($0.baseAddress!, b, n) }, dotHRef))

    var y = b
    VectorOps.axpy(0.5, a, &y, n)
    #expect(zip(y, zip(a, b)).allSatisfy { close($0, $1.1 + 0.5 * $1.0) })
    var yh = b
    ah.withUnsafeBufferPointer { VectorOps.axpyF16(-2, $0.baseAddress!, &yh, n) }
    #expect(zip(yh, zip(ah, b)).allSatisfy { close($0, $1.1 - 2 * Float(Float16(bitPattern: $1.0))) })

    var s = b
    VectorOps.add(a, into: &s, n)
    #expect(zip(s, zip(a, b)).allSatisfy { close($0, $1.0 + $1.1) })

    var out = [Float](repeating: 0, count: n)
    VectorOps.rmsNorm(a, w, &out, n, eps: 1e-6)
    let rms = (a.map { Double($0 * $0) }.reduce(0, +) / Double(n) + 1e-6).squareRoot()
    #expect((0..<n).allSatisfy { close(out[$0], Float(Double(a[$0]) / rms) * w[$0]) })

    var g = a
    VectorOps.swiglu(g, b, &g, n)
    #expect((0..<n).allSatisfy { close(g[$0], a[$0] / (1 + expf(-a[$0])) * b[$0]) })

    var sm = a
    VectorOps.softmax(&sm, n)
    let m = a.max()!
    let z = a.map { expf($0 - m) }.reduce(0, +)
    #expect((0..<n).allSatisfy { close(sm[$0], expf(a[$0] - m) / z) })
    #expect(VectorOps.max(a, n) == m)
}
