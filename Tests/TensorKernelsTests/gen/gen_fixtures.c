// Writes llama.cpp reference quantizations of deterministic inputs for the TensorKernels tests.
// The input generator is mirrored in Tests/TensorKernelsTests/FixtureInputs.swift; change both together.
//
// Build and run (from the repository root), with LLAMA=<llama.cpp source dir that has build/bin>:
//   cc -O2 -I$LLAMA/ggml/include Tests/TensorKernelsTests/gen/gen_fixtures.c
//      -L$LLAMA/build/bin -lggml-base -Wl,-rpath,$LLAMA/build/bin -o /tmp/gen_fixtures   (one line)
//   /tmp/gen_fixtures Tests/TensorKernelsTests/Fixtures
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"

enum { ROWS = 4, COLS = 512 };

static uint32_t lcg_state;
static float lcg_unit(void) { // uniform in [0, 1), exact in float
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) * (1.0f / 16777216.0f);
}

// Row r: a sum of three uniforms (bell-shaped) times a per-row scale; row 2 has outliers,
// row 3 starts with an all-zero super-block.
static void make_inputs(float *x, float *imatrix) {
    lcg_state = 12345u;
    const float row_scale[ROWS] = {1.0f, 0.01f, 3.0f, 0.5f};
    for (int r = 0; r < ROWS; ++r) {
        for (int c = 0; c < COLS; ++c) {
            float u = lcg_unit() + lcg_unit() + lcg_unit();
            float v = (u - 1.5f) * row_scale[r];
            if (r == 2 && c % 37 == 0) v = v * 8.0f;
            if (r == 3 && c < 256) v = 0.0f;
            x[r * COLS + c] = v;
        }
    }
    for (int c = 0; c < COLS; ++c) imatrix[c] = 0.1f + 2.0f * lcg_unit();
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s <fixture dir>\n", argv[0]); return 2; }
    static float x[ROWS * COLS], imatrix[COLS];
    make_inputs(x, imatrix);
    const struct { enum ggml_type t; const char *name; int imat; } types[] = {
        {GGML_TYPE_F16, "f16", 0}, {GGML_TYPE_BF16, "bf16", 0}, {GGML_TYPE_Q8_0, "q8_0", 0},
        {GGML_TYPE_Q4_0, "q4_0", 1}, {GGML_TYPE_Q4_1, "q4_1", 1}, {GGML_TYPE_Q5_0, "q5_0", 1},
        {GGML_TYPE_Q5_1, "q5_1", 1}, {GGML_TYPE_Q2_K, "q2_K", 1}, {GGML_TYPE_Q3_K, "q3_K", 1},
        {GGML_TYPE_Q4_K, "q4_K", 1}, {GGML_TYPE_Q5_K, "q5_K", 1}, {GGML_TYPE_Q6_K, "q6_K", 1},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); ++i) {
        for (int w = 0; w <= types[i].imat; ++w) {
            size_t size = ggml_row_size(types[i].t, COLS) * ROWS;
            void *buf = calloc(1, size);
            size_t n = ggml_quantize_chunk(types[i].t, x, buf, 0, ROWS, COLS, w ? imatrix : NULL);
            if (n != size) { fprintf(stderr, "%s: size %zu != %zu\n", types[i].name, n, size); return 1; }
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s%s.bin", argv[1], types[i].name, w ? "_imatrix" : "");
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(buf, 1, size, f) != size) { perror(path); return 1; }
            fclose(f);
            if (!w) { // ggml's own dequantization of the reference bytes
                static float deq[ROWS * COLS];
                ggml_get_type_traits(types[i].t)->to_float(buf, deq, ROWS * COLS);
                snprintf(path, sizeof(path), "%s/%s_dequant.bin", argv[1], types[i].name);
                f = fopen(path, "wb");
                if (!f || fwrite(deq, sizeof(float), ROWS * COLS, f) != ROWS * COLS) { perror(path); return 1; }
                fclose(f);
            }
            free(buf);
        }
    }
    // The inputs themselves, so the Swift mirror of the generator can be checked.
    char path[4096];
    snprintf(path, sizeof(path), "%s/inputs_f32.bin", argv[1]);
    FILE *f = fopen(path, "wb");
    fwrite(x, sizeof(float), ROWS * COLS, f);
    fwrite(imatrix, sizeof(float), COLS, f);
    fclose(f);
    return 0;
}
