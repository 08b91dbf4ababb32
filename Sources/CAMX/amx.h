// AMX tile instructions for Swift (KernelsAMX), and the Linux request that lets a process use them.
//
// The compiler's AMX intrinsics (_tile_loadd, _tile_dpbsud, ...) are C macros over builtins whose tile
// operands are immediates, so Swift cannot import them; these always-inline wrappers name one fixed tile
// assignment each and compile, inlined into KernelsAMX (built with -mamx-tile -mamx-int8), to the single
// instruction. No C library and nothing compiled here: the header is read by the Swift compiler's
// Clang importer. Only the assignments the kernels use: sums in tiles 0-1 (the K-quants) or 0-3 (the
// 32-block formats, a tile a block), activations 4-5, weights 6-7.
#ifndef TOKENMILL_CAMX_H
#define TOKENMILL_CAMX_H
#include <stddef.h>
#if defined(__linux__)
#include <unistd.h>
#include <sys/syscall.h>
#endif

/// Asks Linux for the AMX tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA):
/// 0 when granted (once per process; later calls return 0 again), -1 otherwise and off Linux.
static inline long tm_amx_request_permission(void) {
#if defined(__linux__) && defined(__x86_64__)
    return syscall(SYS_arch_prctl, 0x1023, 18);
#else
    return -1;
#endif
}

#if defined(__x86_64__) && defined(__AMX_TILE__) && defined(__AMX_INT8__)
#include <immintrin.h>
#define TM_AMX static inline __attribute__((always_inline))
/// Loads the 64-byte tile configuration (palette 1, rows and bytes per row of each tile).
TM_AMX void tm_tile_loadconfig(const void *config) { _tile_loadconfig(config); }
/// Returns the tiles to their initial state (what a thread does when it is done with them).
TM_AMX void tm_tile_release(void) { _tile_release(); }
/// The sums: tiles 0 (K-quants: low bytes' products) and 1 (high bytes'); 32-block formats: 0-3, a block each.
TM_AMX void tm_tile_zero0(void) { _tile_zero(0); }
TM_AMX void tm_tile_zero1(void) { _tile_zero(1); }
TM_AMX void tm_tile_zero2(void) { _tile_zero(2); }
TM_AMX void tm_tile_zero3(void) { _tile_zero(3); }
TM_AMX void tm_tile_store0(void *base, size_t stride) { _tile_stored(0, base, stride); }
TM_AMX void tm_tile_store1(void *base, size_t stride) { _tile_stored(1, base, stride); }
TM_AMX void tm_tile_store2(void *base, size_t stride) { _tile_stored(2, base, stride); }
TM_AMX void tm_tile_store3(void *base, size_t stride) { _tile_stored(3, base, stride); }
/// The activations (tiles 4, 5) and the weights' low and high bytes (tiles 6, 7).
TM_AMX void tm_tile_load4(const void *base, size_t stride) { _tile_loadd(4, base, stride); }
TM_AMX void tm_tile_load5(const void *base, size_t stride) { _tile_loadd(5, base, stride); }
TM_AMX void tm_tile_load6(const void *base, size_t stride) { _tile_loadd(6, base, stride); }
TM_AMX void tm_tile_load7(const void *base, size_t stride) { _tile_loadd(7, base, stride); }
/// C += A (signed bytes) x B (unsigned bytes, four per dword): tm_tile_dpbsud_C_A_B.
TM_AMX void tm_tile_dpbsud_0_4_6(void) { _tile_dpbsud(0, 4, 6); }
TM_AMX void tm_tile_dpbsud_0_5_6(void) { _tile_dpbsud(0, 5, 6); }
TM_AMX void tm_tile_dpbsud_1_4_7(void) { _tile_dpbsud(1, 4, 7); }
TM_AMX void tm_tile_dpbsud_1_5_7(void) { _tile_dpbsud(1, 5, 7); }
TM_AMX void tm_tile_dpbsud_2_4_6(void) { _tile_dpbsud(2, 4, 6); }
TM_AMX void tm_tile_dpbsud_3_5_7(void) { _tile_dpbsud(3, 5, 7); }
/// C += A (signed bytes) x B (signed bytes, four per dword): tm_tile_dpbssd_C_A_B.
TM_AMX void tm_tile_dpbssd_0_4_6(void) { _tile_dpbssd(0, 4, 6); }
TM_AMX void tm_tile_dpbssd_1_4_7(void) { _tile_dpbssd(1, 4, 7); }
TM_AMX void tm_tile_dpbssd_1_5_7(void) { _tile_dpbssd(1, 5, 7); }
TM_AMX void tm_tile_dpbssd_2_4_6(void) { _tile_dpbssd(2, 4, 6); }
TM_AMX void tm_tile_dpbssd_3_5_7(void) { _tile_dpbssd(3, 5, 7); }
#endif
#endif
