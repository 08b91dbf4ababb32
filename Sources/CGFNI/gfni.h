// GFNI's affine byte transform for Swift (KernelsGFNI).
//
// The compiler's `_mm512_gf2p8affine_epi64_epi8` is a C macro (its constant is an immediate), so Swift cannot
// import it; this always-inline wrapper, read by the Swift compiler's Clang importer and compiled into
// KernelsGFNI (built with -mgfni), becomes the single `vgf2p8affineqb` instruction. No C library and nothing
// compiled here.
#ifndef TOKENMILL_CGFNI_H
#define TOKENMILL_CGFNI_H
#if defined(__x86_64__) && defined(__GFNI__) && defined(__AVX512BW__)
#include <immintrin.h>

/// Each byte x of `v` to A·x over GF(2), A the 8 x 8 bit matrix in the same qword of `a`: bit i of the result is
/// the parity of (byte 7 - i of A) AND x. A byte of A with one bit j set moves bit j of x to bit i; a zero byte
/// clears bit i.
static inline __attribute__((always_inline)) __m512i tm_gf2p8affine(__m512i v, __m512i a) {
    return _mm512_gf2p8affine_epi64_epi8(v, a, 0);
}
#endif
#endif
