import Testing
import TensorKernels
@testable import QuantizeJobs

@Suite struct RulesTests {
    let llama32 = ModelShapeInfo(layers: 32, gqa: 4, tiedEmbeddings: false)

    func t(_ name: String, _ ft: QuantFileType, cols: Int = 4096, _ info: ModelShapeInfo? = nil) -> GGMLType? {
        TensorRules.choose(name: name, dims: [cols, 4096], fileType: ft, model: info ?? llama32).type
    }

    @Test func parsesLlamaQuantizeNames() throws {
        #expect(try QuantFileType.parse("q4_k_m") == .q4_K_M)
        #expect(try QuantFileType.parse("Q8_0") == .q8_0)
        #expect(try QuantFileType.parse("15") == .q4_K_M)
        #expect(throws: QuantizeError.unknownType("Q9_K")) { try QuantFileType.parse("Q9_K") }
        #expect(QuantFileType.allCases.count == 17)
    }

    @Test func q4KMRules() {
        #expect(t("output.weight", .q4_K_M) == .q6_K)
        #expect(t("token_embd.weight", .q4_K_M) == .q4_K)
        #expect(t("blk.0.attn_q.weight", .q4_K_M) == .q4_K)
        #expect(t("blk.0.attn_k.weight", .q4_K_M) == .q4_K)
        // use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2
        #expect(TensorRules.useMoreBits(0, 32) && TensorRules.useMoreBits(6, 32) && TensorRules.useMoreBits(31, 32))
        #expect(!TensorRules.useMoreBits(4, 32) && !TensorRules.useMoreBits(5, 32) && !TensorRules.useMoreBits(7, 32))
        #expect(t("blk.0.attn_v.weight", .q4_K_M) == .q6_K)
        #expect(t("blk.4.attn_v.weight", .q4_K_M) == .q4_K)
        #expect(t("blk.6.attn_v.weight", .q4_K_M) == .q6_K)
        #expect(t("blk.6.ffn_down.weight", .q4_K_M) == .q6_K)
        #expect(t("blk.7.ffn_down.weight", .q4_K_M) == .q4_K)
        #expect(t("blk.7.ffn_up.weight", .q4_K_M) == .q4_K)
        #expect(t("blk.7.attn_output.weight", .q4_K_M) == .q4_K)
        // 1-D tensors and norms are never converted.
        #expect(TensorRules.choose(name: "blk.0.attn_norm.weight", dims: [4096], fileType: .q4_K_M, model: llama32).type == nil)
        #expect(TensorRules.choose(name: "blk.0.attn_q.bias", dims: [4096], fileType: .q4_K_M, model: llama32).type == nil)
    }

    @Test func otherMixes() {
        #expect(t("blk.3.attn_v.weight", .q2_K) == .q4_K)  // GQA 4
        #expect(t("blk.3.attn_v.weight", .q2_K, ModelShapeInfo(layers: 32, gqa: 1, tiedEmbeddings: false)) == .q3_K)
        #expect(t("blk.3.ffn_down.weight", .q2_K) == .q3_K)
        #expect(t("blk.3.attn_output.weight", .q2_K) == .q3_K)
        #expect(t("blk.3.attn_q.weight", .q2_K) == .q2_K)
        #expect(t("blk.1.attn_v.weight", .q3_K_M) == .q5_K)
        #expect(t("blk.2.attn_v.weight", .q3_K_M) == .q4_K)
        #expect(t("blk.1.ffn_down.weight", .q3_K_M) == .q5_K)  // 1 < 32/16
        #expect(t("blk.2.ffn_down.weight", .q3_K_M) == .q4_K)
        #expect(t("blk.2.attn_output.weight", .q3_K_M) == .q4_K)
        #expect(t("blk.2.attn_q.weight", .q3_K_S) == .q3_K)
        #expect(t("blk.2.ffn_down.weight", .q3_K_L) == .q5_K)
        #expect(t("blk.3.attn_v.weight", .q4_K_S) == .q5_K)
        #expect(t("blk.4.attn_v.weight", .q4_K_S) == .q4_K)
        #expect(t("blk.9.attn_v.weight", .q5_K_M) == .q6_K)
        #expect(t("blk.9.attn_q.weight", .q5_K_M) == .q5_K)
        #expect(t("output.weight", .q8_0) == .q8_0)
        #expect(t("output.weight", .q4_0) == .q6_K)
        #expect(t("blk.0.ffn_down.weight", .q4_0) == .q4_0)
        var im = llama32; im.hasImatrix = true
        #expect(t("blk.0.ffn_down.weight", .q4_0, im) == .q4_1)
        #expect(t("blk.0.ffn_down.weight", .q5_0, im) == .q5_1)
        #expect(t("blk.5.ffn_down.weight", .q4_0, im) == .q4_0)
        #expect(t("blk.5.attn_q.weight", .f16) == .f16)
        #expect(t("output.weight", .bf16) == .bf16)
        // Tied output: the token embedding is treated as the output.
        let tied = ModelShapeInfo(layers: 24, gqa: 1, tiedEmbeddings: true)
        #expect(t("token_embd.weight", .q4_K_M, tied) == .q6_K)
    }

    @Test func rowLengthFallbacks() {
        let c = TensorRules.choose(name: "blk.9.attn_q.weight", dims: [576, 576], fileType: .q4_K_M, model: llama32)
        #expect(c.type == .q5_0 && c.fellBack)
        #expect(t("blk.9.attn_q.weight", .q2_K, cols: 576) == .q4_0)
        #expect(t("blk.9.attn_q.weight", .q5_K_S, cols: 576) == .q5_1)
        #expect(t("blk.0.attn_v.weight", .q4_K_M, cols: 576) == .q8_0)  // Q6_K → Q8_0
        #expect(t("output.weight", .q4_K_M, cols: 576) == .q8_0)
        #expect(t("blk.9.attn_q.weight", .q4_K_M, cols: 48) == .f16)
        #expect(t("blk.9.attn_q.weight", .q4_0, cols: 48) == .f16)
        #expect(TensorRules.choose(name: "blk.9.attn_q.weight", dims: [4096, 4096], fileType: .q4_K_M, model: llama32).fellBack == false)
    }
}
