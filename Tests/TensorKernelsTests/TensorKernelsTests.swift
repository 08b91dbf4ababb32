import Testing
@testable import TensorKernels

@Test func q8_0RowDequantizesScaleTimesQuant() {
    var block = [UInt8](repeating: 0, count: 34)
    let d = Float16(0.5).bitPattern
    block[0] = UInt8(d & 0xff); block[1] = UInt8(d >> 8)
    for j in 0..<32 { block[2 + j] = UInt8(bitPattern: Int8(j - 16)) }
    var out = [Float](repeating: 0, count: 32)
    block.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { Dequantize.row(.q8_0, src.baseAddress!, into: $0.baseAddress!, count: 32) }
    }
    #expect(out[0] == -8 && out[31] == 7.5)
}

@Test func matMulMatchesNaiveProduct() {
    let rows = 5, cols = 8, nSeq = 3
    let w: [Float] = (0..<(rows * cols)).map { Float($0 % 7) - 3 }
    let x: [Float] = (0..<(nSeq * cols)).map { Float($0 % 5) * 0.5 }
    var y = [Float](repeating: 0, count: rows * nSeq)
    let engine = MatMulEngine(pool: ComputePool(threads: 2), maxCols: cols, maxSeq: nSeq)
    w.withUnsafeBytes { wb in
        let m = WeightMatrix(type: .f32, rows: rows, cols: cols, data: wb.baseAddress!)
        engine.multiply(m, x: x, nSeq: nSeq, y: &y)
    }
    for s in 0..<nSeq {
        for r in 0..<rows {
            var e: Float = 0
            for k in 0..<cols { e += w[r * cols + k] * x[s * cols + k] }
            #expect(y[s * rows + r] == e)
        }
    }
}
