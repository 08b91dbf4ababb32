import Foundation
import Testing
@testable import TensorKernels

/// Mirror of `gen/gen_fixtures.c`'s input generator (keep the two identical).
enum FixtureInputs {
    static let rows = 4, cols = 512

    static func make() -> (x: [Float], imatrix: [Float]) {
        var state: UInt32 = 12345
        func unit() -> Float {
            state = state &* 1664525 &+ 1013904223
            return Float(state >> 8) * (1.0 / 16777216.0)
        }
        let rowScale: [Float] = [1, 0.01, 3, 0.5]
        var x = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let u = unit() + unit() + unit()
                var v = (u - 1.5) * rowScale[r]
                if r == 2 && c % 37 == 0 { v = v * 8 }
                if r == 3 && c < 256 { v = 0 }
                x[r * cols + c] = v
            }
        }
        let imatrix = (0..<cols).map { _ in 0.1 + 2 * unit() }
        return (x, imatrix)
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures"),
                               "missing fixture \(name).bin")
        return [UInt8](try Data(contentsOf: url))
    }

    static func floats(_ bytes: [UInt8]) -> [Float] {
        bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// Quantizes `rows` rows of `x` with the Swift quantizer.
func quantizeRows(_ type: GGMLType, _ x: [Float], rows: Int, cols: Int, importance: [Float]? = nil) -> [UInt8] {
    let rowBytes = type.byteCount(elements: cols)
    var out = [UInt8](repeating: 0xAA, count: rowBytes * rows)
    x.withUnsafeBufferPointer { xb in
        out.withUnsafeMutableBytes { ob in
            for r in 0..<rows {
                if let imp = importance {
                    imp.withUnsafeBufferPointer {
                        Quantize.row(type, xb.baseAddress! + r * cols, into: ob.baseAddress! + r * rowBytes, count: cols, importance: $0.baseAddress!)
                    }
                } else {
                    Quantize.row(type, xb.baseAddress! + r * cols, into: ob.baseAddress! + r * rowBytes, count: cols)
                }
            }
        }
    }
    return out
}

func dequantizeRows(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { b in
        out.withUnsafeMutableBufferPointer { Dequantize.row(type, b.baseAddress!, into: $0.baseAddress!, count: count) }
    }
    return out
}

/// Index of the first differing byte, for readable failures.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
}

let referenceTypes: [GGMLType] = [.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
let imatrixTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

@Test func fixtureInputsMatchTheCGenerator() throws {
    let (x, imatrix) = FixtureInputs.make()
    let stored = FixtureInputs.floats(try FixtureInputs.fixture("inputs_f32"))
    #expect(stored.count == x.count + imatrix.count)
    #expect(Array(stored[0..<x.count]) == x)
    #expect(Array(stored[x.count...]) == imatrix)
}

@Test(arguments: referenceTypes)
func quantizerMatchesLlamaCppReferenceBytes(_ type: GGMLType) throws {
    let (x, _) = FixtureInputs.make()
    let expected = try FixtureInputs.fixture("\(type)")
    let got = quantizeRows(type, x, rows: FixtureInputs.rows, cols: FixtureInputs.cols)
    #expect(got.count == expected.count)
    let diff = firstDifference(got, expected)
    #expect(diff == nil, "\(type): first differing byte at \(diff ?? -1) (row bytes \(type.byteCount(elements: FixtureInputs.cols)))")
}

@Test(arguments: imatrixTypes)
func imatrixQuantizerMatchesLlamaCppBytes(_ type: GGMLType) throws {
    let (x, imatrix) = FixtureInputs.make()
    let expected = try FixtureInputs.fixture("\(type)_imatrix")
    let got = quantizeRows(type, x, rows: FixtureInputs.rows, cols: FixtureInputs.cols, importance: imatrix)
    let diff = firstDifference(got, expected)
    #expect(diff == nil, "\(type) imatrix: first differing byte at \(diff ?? -1)")
}

@Test(arguments: referenceTypes)
func dequantizeMatchesLlamaCppExactly(_ type: GGMLType) throws {
    let bytes = try FixtureInputs.fixture("\(type)")
    let expected = FixtureInputs.floats(try FixtureInputs.fixture("\(type)_dequant"))
    let got = dequantizeRows(type, bytes, count: FixtureInputs.rows * FixtureInputs.cols)
    let bad = zip(got, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
    #expect(bad == nil, "\(type): element \(bad?.offset ?? -1): \(bad?.element.0 ?? 0) != \(bad?.element.1 ?? 0)")
}

/// Relative RMS error bound per type: finer formats must be tighter.
let roundTripBound: [GGMLType: Double] = [
    .f16: 0.001, .bf16: 0.005, .q8_0: 0.01, .q6_K: 0.03, .q5_1: 0.05, .q5_0: 0.05, .q5_K: 0.05,
    .q4_1: 0.09, .q4_0: 0.11, .q4_K: 0.09, .q3_K: 0.2, .q2_K: 0.4,
]

@Test(arguments: referenceTypes)
func roundTripErrorIsWithinTypeBound(_ type: GGMLType) throws {
    // A smooth-ish Gaussian-like row (different from the fixture generator).
    let n = 1024
    var r = SplitMix64(seed: 1)
    func u() -> Double { Double(r.next() >> 11) / Double(1 << 53) }
    let x: [Float] = (0..<n).map { _ in Float((-2 * log(max(u(), 1e-12))).squareRoot() * cos(2 * Double.pi * u())) }
    for withImportance in [false, true] where !withImportance || imatrixTypes.contains(type) {
        let imp: [Float]? = withImportance ? [Float](repeating: 1, count: n) : nil
        let q = quantizeRows(type, x, rows: 1, cols: n, importance: imp)
        let y = dequantizeRows(type, q, count: n)
        var err = 0.0, ref = 0.0
        for i in 0..<n {
            let d = Double(y[i] - x[i])
            err += d * d
            ref += Double(x[i]) * Double(x[i])
        }
        let rel = (err / ref).squareRoot()
        let bound = try #require(roundTripBound[type])
        #expect(rel < bound, "\(type) importance=\(withImportance): relative RMSE \(rel) >= \(bound)")
        #expect(rel > bound / 50 || type == .f16 || type == .bf16, "\(type): suspiciously exact (\(rel))")
    }
}

@Test func quantizationErrorGrowsAsBitsShrink() {
    let n = 2048
    let x: [Float] = (0..<n).map { Float(sin(Double($0) * 0.37) + 0.3 * cos(Double($0) * 1.91)) }
    func rel(_ t: GGMLType) -> Double {
        let y = dequantizeRows(t, quantizeRows(t, x, rows: 1, cols: n), count: n)
        var e = 0.0, r = 0.0
        for i in 0..<n {
            let d = Double(y[i] - x[i])
            e += d * d
            r += Double(x[i] * x[i])
        }
        return (e / r).squareRoot()
    }
    let q8 = rel(.q8_0), q6 = rel(.q6_K), q5 = rel(.q5_K), q4 = rel(.q4_K), q4_0 = rel(.q4_0), q3 = rel(.q3_K), q2 = rel(.q2_K)
    #expect(q8 < q6 && q6 < q5 && q5 < q4 && q4 < q3 && q3 < q2)
    #expect(q8 < q4_0 && q4_0 < q2)
}

@Test func importanceWeightingReducesWeightedError() {
    // Columns with high importance should be reproduced better when the imatrix says so.
    let n = 512
    var x = [Float](repeating: 0, count: n)
    for i in 0..<n {
        let a = sin(Double(i) * 0.71) * 1.3
        let b = cos(Double(i * i) * 0.013)
        x[i] = Float(a + b)
    }
    let imp: [Float] = (0..<n).map { $0 % 8 == 0 ? 50 : 0.02 }
    for type in [GGMLType.q4_K, .q3_K, .q4_0] {
        func weightedErr(_ bytes: [UInt8]) -> Double {
            let y = dequantizeRows(type, bytes, count: n)
            var e = 0.0
            for i in 0..<n {
                let d = Double(y[i] - x[i])
                e += Double(imp[i]) * d * d
            }
            return e
        }
        let plain = weightedErr(quantizeRows(type, x, rows: 1, cols: n))
        let weighted = weightedErr(quantizeRows(type, x, rows: 1, cols: n, importance: imp))
        #expect(weighted < plain, "\(type): weighted \(weighted) !< plain \(plain)")
    }
}

@Test func q8_0RowDequantizesScaleTimesQuant() {
    var block = [UInt8](repeating: 0, count: 34)
    let d = Float16(0.5).bitPattern
    block[0] = UInt8(d & 0xff); block[1] = UInt8(d >> 8)
    for j in 0..<32 { block[2 + j] = UInt8(bitPattern: Int8(j - 16)) }
    let out = dequantizeRows(.q8_0, block, count: 32)
    #expect(out[0] == -8 && out[31] == 7.5)
}

@Test func matrixQuantizationInParallelEqualsRowByRow() {
    let (x, imatrix) = FixtureInputs.make()
    let pool = ComputePool(threads: 2)
    for type in [GGMLType.q4_K, .q8_0] {
        let rowBytes = type.byteCount(elements: FixtureInputs.cols)
        var out = [UInt8](repeating: 0, count: rowBytes * FixtureInputs.rows)
        x.withUnsafeBufferPointer { xb in
            imatrix.withUnsafeBufferPointer { ib in
                out.withUnsafeMutableBytes {
                    Quantize.matrix(type, xb.baseAddress!, rows: FixtureInputs.rows, cols: FixtureInputs.cols, into: $0.baseAddress!,
                                    importance: ib.baseAddress!, pool: pool)
                }
            }
        }
        #expect(out == quantizeRows(type, x, rows: FixtureInputs.rows, cols: FixtureInputs.cols, importance: imatrix))
    }
}
