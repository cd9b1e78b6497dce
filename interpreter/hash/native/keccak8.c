/*
 * Batched Merkle-node hashing for interpreter/hash/keccak.ts (and the dirty-leaf scan of the memory
 * commitment, marksAbove below), as a Node-API addon:
 *
 *   out[32 i .. 32 i + 32) = keccak256(prefix ‖ in[64 i .. 64 i + 64))   for i < n   (prefix < 0: no prefix byte)
 *
 * Four or eight nodes per keccak-f[1600] permutation, one per 64-bit lane of 256- or 512-bit AVX-512
 * registers (the width rule is at hash_pairs): rotations are single vprolq instructions, theta's five-way XORs and chi's a ^ (~b & c) single vpternlogq ones.
 * This is the same function as hashPairs in assembly/keccak.ts (the WebAssembly module, which has at
 * most two 64-bit lanes per vector and no rotate); the loader uses it only when the CPU has AVX-512
 * and test/hash checks the two agree. Built on first use by native.ts with the system C compiler.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

static const uint64_t RC[24] = {
  0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
  0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
  0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
  0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
  0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
  0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* The round is written once over these vector operations; they are defined for 512-bit vectors
 * (eight lanes, permute8) and 256-bit ones (four lanes, permute4) below. */
#define XOR3(a, b, c) VTERN((a), (b), (c), 0x96)
#define CHI(a, b, c) VTERN((a), (b), (c), 0xD2) /* a ^ (~b & c) */

/* One round on the lane variables a0..a24 (index x + 5 y). Rho offsets and the pi permutation are
 * spelled out so every rotation is an immediate; the compiler keeps the state in zmm registers. */
#define ROUND(r) do { \
    c0 = XOR3(a0, a5, XOR3(a10, a15, a20)); c1 = XOR3(a1, a6, XOR3(a11, a16, a21)); c2 = XOR3(a2, a7, XOR3(a12, a17, a22)); \
    c3 = XOR3(a3, a8, XOR3(a13, a18, a23)); c4 = XOR3(a4, a9, XOR3(a14, a19, a24)); \
    d0 = VXOR(c4, ROL(c1, 1)); \
    d1 = VXOR(c0, ROL(c2, 1)); \
    d2 = VXOR(c1, ROL(c3, 1)); \
    d3 = VXOR(c2, ROL(c4, 1)); \
    d4 = VXOR(c3, ROL(c0, 1)); \
    b0 = VXOR(a0, d0); \
    b10 = ROL(VXOR(a1, d1), 1); \
    b20 = ROL(VXOR(a2, d2), 62); \
    b5 = ROL(VXOR(a3, d3), 28); \
    b15 = ROL(VXOR(a4, d4), 27); \
    b16 = ROL(VXOR(a5, d0), 36); \
    b1 = ROL(VXOR(a6, d1), 44); \
    b11 = ROL(VXOR(a7, d2), 6); \
    b21 = ROL(VXOR(a8, d3), 55); \
    b6 = ROL(VXOR(a9, d4), 20); \
    b7 = ROL(VXOR(a10, d0), 3); \
    b17 = ROL(VXOR(a11, d1), 10); \
    b2 = ROL(VXOR(a12, d2), 43); \
    b12 = ROL(VXOR(a13, d3), 25); \
    b22 = ROL(VXOR(a14, d4), 39); \
    b23 = ROL(VXOR(a15, d0), 41); \
    b8 = ROL(VXOR(a16, d1), 45); \
    b18 = ROL(VXOR(a17, d2), 15); \
    b3 = ROL(VXOR(a18, d3), 21); \
    b13 = ROL(VXOR(a19, d4), 8); \
    b14 = ROL(VXOR(a20, d0), 18); \
    b24 = ROL(VXOR(a21, d1), 2); \
    b9 = ROL(VXOR(a22, d2), 61); \
    b19 = ROL(VXOR(a23, d3), 56); \
    b4 = ROL(VXOR(a24, d4), 14); \
    a0 = CHI(b0, b1, b2); \
    a1 = CHI(b1, b2, b3); \
    a2 = CHI(b2, b3, b4); \
    a3 = CHI(b3, b4, b0); \
    a4 = CHI(b4, b0, b1); \
    a5 = CHI(b5, b6, b7); \
    a6 = CHI(b6, b7, b8); \
    a7 = CHI(b7, b8, b9); \
    a8 = CHI(b8, b9, b5); \
    a9 = CHI(b9, b5, b6); \
    a10 = CHI(b10, b11, b12); \
    a11 = CHI(b11, b12, b13); \
    a12 = CHI(b12, b13, b14); \
    a13 = CHI(b13, b14, b10); \
    a14 = CHI(b14, b10, b11); \
    a15 = CHI(b15, b16, b17); \
    a16 = CHI(b16, b17, b18); \
    a17 = CHI(b17, b18, b19); \
    a18 = CHI(b18, b19, b15); \
    a19 = CHI(b19, b15, b16); \
    a20 = CHI(b20, b21, b22); \
    a21 = CHI(b21, b22, b23); \
    a22 = CHI(b22, b23, b24); \
    a23 = CHI(b23, b24, b20); \
    a24 = CHI(b24, b20, b21); \
    a0 = VXOR(a0, VSET1((long long)RC[r])); \
  } while (0)

/* A permutation function over vector type T, on the VTERN/ROL/VXOR/VSET1 defined at its use. */
#define DEFINE_PERMUTE(name, T, isa) \
  __attribute__((target(isa))) static void name(T A[25]) { \
    T a0 = A[0], a1 = A[1], a2 = A[2], a3 = A[3], a4 = A[4], a5 = A[5], a6 = A[6], a7 = A[7], a8 = A[8], a9 = A[9], a10 = A[10], a11 = A[11], a12 = A[12], a13 = A[13], a14 = A[14], a15 = A[15], a16 = A[16], a17 = A[17], a18 = A[18], a19 = A[19], a20 = A[20], a21 = A[21], a22 = A[22], a23 = A[23], a24 = A[24]; \
    T b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24; \
    T c0, c1, c2, c3, c4, d0, d1, d2, d3, d4; \
    for (int r = 0; r < 24; r++) ROUND(r); \
    A[0] = a0; A[1] = a1; A[2] = a2; A[3] = a3; A[4] = a4; A[5] = a5; A[6] = a6; A[7] = a7; A[8] = a8; A[9] = a9; A[10] = a10; A[11] = a11; A[12] = a12; A[13] = a13; A[14] = a14; A[15] = a15; A[16] = a16; A[17] = a17; A[18] = a18; A[19] = a19; A[20] = a20; A[21] = a21; A[22] = a22; A[23] = a23; A[24] = a24; \
  }

/* permute8: eight states, one per 64-bit lane of a 512-bit vector. */
#define VTERN(a, b, c, k) _mm512_ternarylogic_epi64(a, b, c, k)
#define ROL(v, r) _mm512_rol_epi64((v), (r))
#define VXOR(a, b) _mm512_xor_si512(a, b)
#define VSET1(x) _mm512_set1_epi64(x)
DEFINE_PERMUTE(permute8, __m512i, "avx512f")
#undef VTERN
#undef ROL
#undef VXOR
#undef VSET1

/* permute4: the same rounds on four states (AVX-512VL on 256-bit vectors, which issue on more
 * ports than 512-bit ones): a lone path node is hashed in about two thirds of permute8's time. */
#define VTERN(a, b, c, k) _mm256_ternarylogic_epi64(a, b, c, k)
#define ROL(v, r) _mm256_rol_epi64((v), (r))
#define VXOR(a, b) _mm256_xor_si256(a, b)
#define VSET1(x) _mm256_set1_epi64x(x)
DEFINE_PERMUTE(permute4, __m256i, "avx512f,avx512vl")
#undef VTERN
#undef ROL
#undef VXOR
#undef VSET1

/* Eight nodes: inputs at in + 64 j, outputs at out + 32 j, j < 8 (all inputs are read before any output is written). */
__attribute__((target("avx512f")))
static void hash8(int prefix, const uint8_t *in, uint8_t *out) {
  const __m512i idx = _mm512_setr_epi64(0, 64, 128, 192, 256, 320, 384, 448);
  __m512i w[8], A[25];
  for (int k = 0; k < 8; k++) w[k] = _mm512_i64gather_epi64(idx, (const void *)(in + 8 * k), 1);
  if (prefix >= 0) {
    /* message prefix ‖ in: lane k holds bytes 8k-1 .. 8k+6 of in (byte -1 is the prefix) */
    A[0] = _mm512_or_si512(_mm512_slli_epi64(w[0], 8), _mm512_set1_epi64(prefix & 0xff));
    for (int k = 1; k < 8; k++) A[k] = _mm512_or_si512(_mm512_slli_epi64(w[k], 8), _mm512_srli_epi64(w[k - 1], 56));
    A[8] = _mm512_or_si512(_mm512_srli_epi64(w[7], 56), _mm512_set1_epi64(0x0100)); /* pad byte 0x01 at 65 */
  } else {
    for (int k = 0; k < 8; k++) A[k] = w[k];
    A[8] = _mm512_set1_epi64(0x01); /* pad byte 0x01 at 64 */
  }
  for (int k = 9; k < 25; k++) A[k] = _mm512_setzero_si512();
  A[16] = _mm512_set1_epi64((long long)0x8000000000000000ULL); /* final pad bit, byte 135 */
  permute8(A);
  uint64_t d[4][8];
  for (int k = 0; k < 4; k++) _mm512_storeu_si512((void *)d[k], A[k]);
  for (int j = 0; j < 8; j++)
    for (int k = 0; k < 4; k++) memcpy(out + 32 * j + 8 * k, &d[k][j], 8);
}

/* Four nodes with permute4: inputs at in + 64 j, outputs at out + 32 j, j < 4 (all read before any is written). */
__attribute__((target("avx512f,avx512vl")))
static void hash4(int prefix, const uint8_t *in, uint8_t *out) {
  const __m256i idx = _mm256_setr_epi64x(0, 64, 128, 192);
  __m256i w[8], A[25];
  for (int k = 0; k < 8; k++) w[k] = _mm256_i64gather_epi64((const long long *)(in + 8 * k), idx, 1);
  if (prefix >= 0) {
    A[0] = _mm256_or_si256(_mm256_slli_epi64(w[0], 8), _mm256_set1_epi64x(prefix & 0xff));
    for (int k = 1; k < 8; k++) A[k] = _mm256_or_si256(_mm256_slli_epi64(w[k], 8), _mm256_srli_epi64(w[k - 1], 56));
    A[8] = _mm256_or_si256(_mm256_srli_epi64(w[7], 56), _mm256_set1_epi64x(0x0100));
  } else {
    /* lane by lane: a whole-array copy here compiled to 512-bit moves (see "Vector width") */
    for (int k = 0; k < 8; k++) A[k] = _mm256_i64gather_epi64((const long long *)(in + 8 * k), idx, 1);
    A[8] = _mm256_set1_epi64x(0x01);
  }
  for (int k = 9; k < 25; k++) A[k] = _mm256_setzero_si256();
  A[16] = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
  permute4(A);
  uint64_t d[4][4];
  for (int k = 0; k < 4; k++) _mm256_storeu_si256((__m256i *)d[k], A[k]);
  for (int j = 0; j < 4; j++)
    for (int k = 0; k < 4; k++) memcpy(out + 32 * j + 8 * k, &d[k][j], 8);
}

/*
 * Vector width. 512-bit instructions make this core (Xeon, Cascade Lake) drop its clock for about
 * the next two milliseconds; the interpreter's run right after a state root was measured 15% slower
 * after a single permute8, and not at all slower after permute4 (docs/HASHING.md, "Vector width").
 * So 512-bit vectors are kept for calls whose work is large enough to earn that back (a first full
 * build), and everything else runs on 256-bit ones: permute4, about 1.3x slower per node in bulk.
 */
#define WIDE_MIN_NODES 4096

/* n nodes: eight per permute8 when wide, else four per permute4; a short tail goes through scratch. */
static void hash_pairs(int prefix, const uint8_t *in, uint8_t *out, size_t n, int wide) {
  size_t i = 0;
  if (wide)
    for (; i + 8 <= n; i += 8) hash8(prefix, in + 64 * i, out + 32 * i);
  for (; i + 4 <= n; i += 4) hash4(prefix, in + 64 * i, out + 32 * i);
  if (i < n) {
    uint8_t tin[4 * 64] = { 0 }, tout[4 * 32];
    memcpy(tin, in + 64 * i, 64 * (n - i));
    hash4(prefix, tin, tout);
    memcpy(out + 32 * i, tout, 32 * (n - i));
  }
}

/* hashPairs(prefix, bytes, inOffset, outOffset, n): bytes is any TypedArray (offsets in its bytes). */
static napi_value HashPairs(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
    napi_throw_type_error(env, NULL, "hashPairs(prefix, bytes, inOffset, outOffset, n)");
    return NULL;
  }
  int32_t prefix, inOff, outOff, n;
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t byteOffset;
  if (napi_get_value_int32(env, argv[0], &prefix) != napi_ok || napi_get_value_int32(env, argv[2], &inOff) != napi_ok ||
      napi_get_value_int32(env, argv[3], &outOff) != napi_ok || napi_get_value_int32(env, argv[4], &n) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &byteOffset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "hashPairs: expected (int, Uint8Array, int, int, int)");
    return NULL;
  }
  if (prefix > 255 || inOff < 0 || outOff < 0 || n < 0 || (uint64_t)inOff + 64ULL * (uint64_t)n > length ||
      (uint64_t)outOff + 32ULL * (uint64_t)n > length) {
    napi_throw_range_error(env, NULL, "hashPairs: range outside the array");
    return NULL;
  }
  hash_pairs(prefix, (const uint8_t *)data + inOff, (uint8_t *)data + outOff, (size_t)n, n >= WIDE_MIN_NODES);
  return NULL;
}

/*
 * Stored levels. A MerkleTree keeps the nodes of heights low .. depth only (low = 2 for all but the
 * smallest trees): a node of height low is the root of its 2^low leaves, rehashed from them when one
 * changes (three hashes instead of the two on its path), and the levels below it would be three
 * quarters of the node memory, whose first touch (page faults) was most of a first build's
 * non-hashing time.
 *
 *   leaf c = bytes[32 c ..] zero-padded past leafLen; node j of level l >= low = lv[l] + 32 j when
 *   j < count[l], else the zero subtree zh + 32 l.
 */
#define UPDATE_BATCH 256
#define PREFETCH_AHEAD 8

static inline const uint8_t *child_node(uint8_t *const *lv, const uint32_t *count, const uint8_t *zh, uint32_t l, uint32_t c) {
  return c < count[l] ? lv[l] + 32 * (size_t)c : zh + 32 * (size_t)l;
}

/*
 * Nodes j0 .. j0 + k - 1 of level low >= 1 to out, each from its 2^low leaves: level 1 hashed from
 * the leaf bytes in place where whole pairs are there (a pair past leafLen is zero-padded), the
 * levels above in place in tmp, which holds the k 2^(low - 1) level-1 nodes.
 */
static void chunk_roots(int prefix, const uint8_t *bytes, size_t leafLen, uint32_t low, size_t j0, size_t k,
                        uint8_t *out, uint8_t *tmp, int wide) {
  const size_t pairs = k << (low - 1), p0 = j0 << (low - 1);
  size_t full = 0;
  if (64 * p0 < leafLen) {
    full = (leafLen - 64 * p0) / 64;
    if (full > pairs) full = pairs;
    hash_pairs(prefix, bytes + 64 * p0, tmp, full, wide);
  }
  for (size_t p = full; p < pairs; p++) {
    uint8_t pair[64];
    const size_t at = 64 * (p0 + p), have = at < leafLen ? (leafLen - at < 64 ? leafLen - at : 64) : 0;
    memset(pair, 0, 64);
    if (have > 0) memcpy(pair, bytes + at, have);
    hash_pairs(prefix, pair, tmp + 32 * p, 1, 0);
  }
  for (uint32_t l = 2; l <= low; l++) hash_pairs(prefix, tmp, tmp, pairs >> (l - 1), wide); /* in place: pair i is read before node i is written */
  if (out != tmp) memcpy(out, tmp, 32 * k);
}

/*
 * The dirty-path update of interpreter/hash/merkle.ts (MerkleTree.update), whole: first the level-low
 * nodes over the dirty leaves (chunk_roots on their gathered leaves), then for each level above, the
 * parents of the dirty nodes are gathered as child pairs, hashed (hash_pairs) and written back.
 * Doing it here rather than level by level from JS saves a call per level and, for scattered
 * leaves, hides memory latency: the children of parents a few places ahead are prefetched while the
 * current ones are gathered (each path node of a large tree is a cache miss).
 *
 *   idx[0..m): sorted distinct dirty leaf indices (overwritten: ancestors are computed in place).
 * The caller has checked that every path is stored: the last (largest) leaf's ancestor at each
 * stored level is below that level's count.
 */
static void update_levels(int prefix, const uint8_t *bytes, size_t bytesLen, uint8_t *const *lv, const uint32_t *count,
                          const uint8_t *zh, uint32_t *idx, uint32_t m, uint32_t depth, uint32_t low) {
  uint8_t in[UPDATE_BATCH * 64], out[UPDATE_BATCH * 32];
  /* the work: 2^low - 1 nodes per dirty leaf at most, then min(m, count[l]) per level (a state
   * root's few dirty leaves: ~100) */
  size_t work = (size_t)m * ((1u << low) - 1);
  for (uint32_t l = low + 1; l <= depth; l++) work += m < count[l] ? m : count[l];
  const int wide = work >= WIDE_MIN_NODES;

  /* level low: the distinct chunks of 2^low leaves, their leaves gathered (zero past bytesLen) */
  uint32_t q = 0;
  for (uint32_t j = 0; j < m; j++) {
    const uint32_t c = idx[j] >> low;
    if (q == 0 || idx[q - 1] != c) idx[q++] = c;
  }
  m = q;
  const size_t chunkBytes = (size_t)32 << low, per = UPDATE_BATCH >> (low - 1);
  for (uint32_t b0 = 0; b0 < m; b0 += per) {
    const uint32_t k = m - b0 < per ? m - b0 : (uint32_t)per;
    for (uint32_t j = 0; j < k; j++) {
      if (j + PREFETCH_AHEAD < k) {
        const size_t ahead = chunkBytes * idx[b0 + j + PREFETCH_AHEAD];
        if (ahead + chunkBytes <= bytesLen) __builtin_prefetch(bytes + ahead), __builtin_prefetch(bytes + ahead + chunkBytes - 1);
      }
      const size_t at = chunkBytes * idx[b0 + j];
      uint8_t *dst = in + chunkBytes * j;
      if (at + chunkBytes <= bytesLen) memcpy(dst, bytes + at, chunkBytes);
      else {
        memset(dst, 0, chunkBytes);
        if (at < bytesLen) memcpy(dst, bytes + at, bytesLen - at);
      }
    }
    chunk_roots(prefix, in, chunkBytes * k, low, 0, k, out, out, wide);
    for (uint32_t j = 0; j < k; j++) memcpy(lv[low] + 32 * (size_t)idx[b0 + j], out + 32 * (size_t)j, 32);
  }

  /* the stored levels above */
  for (uint32_t l = low + 1; l <= depth && m > 0; l++) {
    q = 0;
    for (uint32_t j = 0; j < m; j++) {
      const uint32_t p = idx[j] >> 1;
      if (q == 0 || idx[q - 1] != p) idx[q++] = p;
    }
    m = q;
    for (uint32_t b0 = 0; b0 < m; b0 += UPDATE_BATCH) {
      const uint32_t k = m - b0 < UPDATE_BATCH ? m - b0 : UPDATE_BATCH;
      for (uint32_t j = 0; j < k; j++) {
        if (j + PREFETCH_AHEAD < k) {
          /* parent p, PREFETCH_AHEAD places on: its child pair (64 bytes, maybe two lines) and its own slot */
          const size_t p = idx[b0 + j + PREFETCH_AHEAD], a = 2 * p;
          if (a + 1 < count[l - 1]) __builtin_prefetch(lv[l - 1] + 32 * a), __builtin_prefetch(lv[l - 1] + 32 * a + 63);
          __builtin_prefetch(lv[l] + 32 * p, 1);
        }
        const uint32_t c = 2 * idx[b0 + j];
        uint8_t *dst = in + 64 * (size_t)j;
        memcpy(dst, child_node(lv, count, zh, l - 1, c), 32);
        memcpy(dst + 32, child_node(lv, count, zh, l - 1, c + 1), 32);
      }
      hash_pairs(prefix, in, out, k, wide);
      for (uint32_t j = 0; j < k; j++) memcpy(lv[l] + 32 * (size_t)idx[b0 + j], out + 32 * (size_t)j, 32);
    }
  }
}

/*
 * The full build of MerkleTree.rebuild (interpreter/hash/merkle.ts), whole: level low from the
 * leaves in rounds (chunk_roots: level 1 read in place from the leaf bytes), then each level above
 * hashed straight from the one below (child pairs read in place by hash_pairs), so no stored node is
 * copied through a buffer. Leaves past the first count[0] (and past bytesLen) are zero; a child c
 * of level l > low past count[l - 1] is the zero subtree zh + 32 (l - 1).
 */
static void build_levels(int prefix, const uint8_t *bytes, size_t bytesLen, uint8_t *const *lv, const uint32_t *count,
                         const uint8_t *zh, uint32_t depth, uint32_t low) {
  size_t total = ((size_t)count[low] << low) - count[low];
  for (uint32_t l = low + 1; l <= depth; l++) total += count[l];
  const int wide = total >= WIDE_MIN_NODES;
  uint8_t tmp[UPDATE_BATCH * 32];
  size_t leafLen = 32 * (size_t)count[0];
  if (bytesLen < leafLen) leafLen = bytesLen;
  const size_t per = UPDATE_BATCH >> (low - 1);
  for (size_t j0 = 0; j0 < count[low]; j0 += per) {
    const size_t k = count[low] - j0 < per ? count[low] - j0 : per;
    chunk_roots(prefix, bytes, leafLen, low, j0, k, lv[low] + 32 * j0, tmp, wide);
  }
  for (uint32_t l = low + 1; l <= depth; l++) {
    const uint8_t *ch = lv[l - 1];
    const size_t chLen = 32 * (size_t)count[l - 1];
    const uint32_t n = count[l];
    uint32_t full = (uint32_t)(chLen / 64);
    if (full > n) full = n;
    hash_pairs(prefix, ch, lv[l], full, wide);
    /* the last pair may lack its right child: the zero subtree */
    for (uint32_t j = full; j < n; j++) {
      uint8_t pair[64];
      for (int h = 0; h < 2; h++) {
        const size_t c = 2 * (size_t)j + h;
        memcpy(pair + 32 * h, 32 * c < chLen ? ch + 32 * c : zh + 32 * (size_t)(l - 1), 32);
      }
      hash_pairs(prefix, pair, lv[l] + 32 * (size_t)j, 1, 0);
    }
  }
}

/*
 * The levels of updateLevels/buildLevels, checked: stored level l (low <= l <= depth) is nodes
 * first[l] .. first[l] + count[l] - 1 of block (32 bytes each); count[0] is the number of leaves
 * stored. One block and two small arrays, so a call reads three typed arrays whatever the depth.
 * Returns 0 on a bad argument (thrown).
 */
#define MAX_DEPTH 32
#define MAX_LOW 8 /* chunk_roots' rounds hold at least one chunk */
static int get_levels(napi_env env, napi_value blockV, napi_value firstV, napi_value countV, uint32_t depth, uint32_t low,
                      uint8_t **lv, uint32_t *count) {
  napi_value ab;
  napi_typedarray_type t1, t2, t3;
  size_t blockLen, firstLen, countLen, off;
  void *block, *first, *cnt;
  if (napi_get_typedarray_info(env, blockV, &t1, &blockLen, &block, &ab, &off) != napi_ok ||
      napi_get_typedarray_info(env, firstV, &t2, &firstLen, &first, &ab, &off) != napi_ok ||
      napi_get_typedarray_info(env, countV, &t3, &countLen, &cnt, &ab, &off) != napi_ok || t1 != napi_uint8_array ||
      t2 != napi_uint32_array || t3 != napi_uint32_array) {
    napi_throw_type_error(env, NULL, "levels: expected block: Uint8Array, first: Uint32Array, count: Uint32Array");
    return 0;
  }
  if (depth > MAX_DEPTH || low < 1 || low > MAX_LOW || low > depth || firstLen <= depth || countLen <= depth) {
    napi_throw_range_error(env, NULL, "levels: need 1 <= low <= depth, low <= 8, and depth + 1 entries of first and count");
    return 0;
  }
  memcpy(count, cnt, 4 * ((size_t)depth + 1));
  for (uint32_t l = low; l <= depth; l++) {
    const uint64_t at = ((const uint32_t *)first)[l];
    if (32 * (at + count[l]) > blockLen) {
      napi_throw_range_error(env, NULL, "a level's nodes run past the block");
      return 0;
    }
    lv[l] = (uint8_t *)block + 32 * at;
  }
  return 1;
}

/*
 * buildLevels(prefix, bytes: Uint8Array, block: Uint8Array, first: Uint32Array, count: Uint32Array,
 *             zh: Uint8Array, depth, low): see build_levels and get_levels; count[0] is the number
 * of leaves stored (the high-water mark).
 */
static napi_value BuildLevels(napi_env env, napi_callback_info info) {
  size_t argc = 8, bytesLen, zhLen, off;
  napi_value argv[8], ab;
  napi_typedarray_type t;
  void *bytes, *zh;
  int32_t prefix;
  uint32_t depth, low;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8 ||
      napi_get_value_int32(env, argv[0], &prefix) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &t, &bytesLen, &bytes, &ab, &off) != napi_ok || t != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[5], &t, &zhLen, &zh, &ab, &off) != napi_ok || t != napi_uint8_array ||
      napi_get_value_uint32(env, argv[6], &depth) != napi_ok || napi_get_value_uint32(env, argv[7], &low) != napi_ok) {
    napi_throw_type_error(env, NULL, "buildLevels(prefix, bytes, block, first, count, zh, depth, low)");
    return NULL;
  }
  if (prefix > 255 || depth > MAX_DEPTH || zhLen < 32 * (size_t)(depth + 1)) {
    napi_throw_range_error(env, NULL, "buildLevels: argument out of range");
    return NULL;
  }
  uint8_t *lv[MAX_DEPTH + 1] = { 0 };
  uint32_t count[MAX_DEPTH + 1] = { 0 };
  if (!get_levels(env, argv[2], argv[3], argv[4], depth, low, lv, count)) return NULL;
  for (uint32_t l = low; l <= depth; l++) {
    const uint32_t h = l == low ? low : 1, below = l == low ? count[0] : count[l - 1];
    if (count[l] != (uint32_t)(((uint64_t)below + (1u << h) - 1) >> h)) {
      napi_throw_range_error(env, NULL, "buildLevels: each count must be the one below halved (per level), rounded up");
      return NULL;
    }
  }
  build_levels(prefix, (const uint8_t *)bytes, bytesLen, lv, count, (const uint8_t *)zh, depth, low);
  return NULL;
}

/*
 * Root of a values tree (interpreter/state.ts valuesRoot: locals, globals): value i of lo/hi[off ..
 * off + n) is the big-endian u64 (hi, lo) at byte 8 i of the leaves, four per 32-byte leaf, zero
 * padded; the tree has depth `depth` and zero subtrees zh. One call instead of packing the leaves in
 * JavaScript and a call per level: a state root computes one or two of these on every look.
 */
static void values_root(int prefix, const int32_t *lo, const int32_t *hi, uint32_t n, const uint8_t *zh, uint32_t depth, uint8_t *out) {
  uint8_t small[64 * 32 + 32], *buf = small;
  uint32_t cnt = (n + 3) / 4;
  if ((size_t)cnt + 1 > sizeof small / 32) buf = (uint8_t *)malloc(32 * ((size_t)cnt + 1));
  if (buf == NULL) abort();
  memset(buf, 0, 32 * (size_t)cnt);
  for (uint32_t i = 0; i < n; i++) {
    const uint64_t v = ((uint64_t)(uint32_t)hi[i] << 32) | (uint32_t)lo[i];
    for (int b = 0; b < 8; b++) buf[8 * (size_t)i + b] = (uint8_t)(v >> (56 - 8 * b));
  }
  for (uint32_t d = 0; d < depth && cnt > 0; d++) {
    if (cnt & 1) memcpy(buf + 32 * (size_t)cnt, zh + 32 * (size_t)d, 32); /* an odd level's last sibling */
    cnt = (cnt + 1) / 2;
    hash_pairs(prefix, buf, buf, cnt, 0); /* in place: pair i is read before node i is written (a frame's locals: never large) */
  }
  memcpy(out, cnt > 0 ? buf : zh + 32 * (size_t)depth, 32);
  if (buf != small) free(buf);
}

/* valuesRoot(prefix, lo: Int32Array, hi: Int32Array, off, n, zh: Uint8Array, depth, out: Uint8Array) */
static napi_value ValuesRoot(napi_env env, napi_callback_info info) {
  size_t argc = 8, loLen, hiLen, zhLen, outLen, off;
  napi_value argv[8], ab;
  napi_typedarray_type t1, t2, t3, t4;
  void *lo, *hi, *zh, *out;
  int32_t prefix;
  uint32_t start, n, depth;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8 ||
      napi_get_value_int32(env, argv[0], &prefix) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &t1, &loLen, &lo, &ab, &off) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &t2, &hiLen, &hi, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &start) != napi_ok || napi_get_value_uint32(env, argv[4], &n) != napi_ok ||
      napi_get_typedarray_info(env, argv[5], &t3, &zhLen, &zh, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[6], &depth) != napi_ok ||
      napi_get_typedarray_info(env, argv[7], &t4, &outLen, &out, &ab, &off) != napi_ok || t1 != napi_int32_array ||
      t2 != napi_int32_array || t3 != napi_uint8_array || t4 != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "valuesRoot(prefix, lo: Int32Array, hi: Int32Array, off, n, zh, depth, out)");
    return NULL;
  }
  if (prefix > 255 || depth > MAX_DEPTH || zhLen < 32 * (size_t)(depth + 1) || outLen < 32 || (uint64_t)start + n > loLen ||
      (uint64_t)start + n > hiLen || ((uint64_t)n + 3) / 4 > (1ULL << depth)) {
    napi_throw_range_error(env, NULL, "valuesRoot: argument out of range");
    return NULL;
  }
  values_root(prefix, (const int32_t *)lo + start, (const int32_t *)hi + start, n, (const uint8_t *)zh, depth, (uint8_t *)out);
  return NULL;
}

/*
 * updateLevels(prefix, bytes: Uint8Array, block: Uint8Array, first: Uint32Array, count: Uint32Array,
 *              zh: Uint8Array, idx: Uint32Array, m, depth, low): see update_levels and get_levels.
 * Every argument is checked, so a bad call throws instead of writing outside an array.
 */
static napi_value UpdateLevels(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10], ab;
  napi_typedarray_type t;
  size_t off, bytesLen, zhLen, idxLen;
  void *bytes, *zh, *idxData;
  int32_t prefix;
  uint32_t m, depth, low;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 10 ||
      napi_get_value_int32(env, argv[0], &prefix) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &t, &bytesLen, &bytes, &ab, &off) != napi_ok || t != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[5], &t, &zhLen, &zh, &ab, &off) != napi_ok || t != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[6], &t, &idxLen, &idxData, &ab, &off) != napi_ok || t != napi_uint32_array ||
      napi_get_value_uint32(env, argv[7], &m) != napi_ok || napi_get_value_uint32(env, argv[8], &depth) != napi_ok ||
      napi_get_value_uint32(env, argv[9], &low) != napi_ok) {
    napi_throw_type_error(env, NULL, "updateLevels(prefix, bytes, block, first, count, zh, idx, m, depth, low)");
    return NULL;
  }
  if (prefix > 255 || depth > MAX_DEPTH || m > idxLen || zhLen < 32 * (size_t)(depth + 1)) {
    napi_throw_range_error(env, NULL, "updateLevels: argument out of range");
    return NULL;
  }
  uint8_t *lv[MAX_DEPTH + 1] = { 0 };
  uint32_t count[MAX_DEPTH + 1] = { 0 };
  if (!get_levels(env, argv[2], argv[3], argv[4], depth, low, lv, count)) return NULL;
  /* every dirty path must be stored: the last (largest) index's ancestor at each stored level is below count */
  const uint32_t *idx = (const uint32_t *)idxData;
  for (uint32_t j = 0; j < m; j++) {
    if (j > 0 && idx[j] <= idx[j - 1]) {
      napi_throw_range_error(env, NULL, "updateLevels: dirty indices must be increasing");
      return NULL;
    }
  }
  for (uint32_t l = low; m > 0 && l <= depth; l++) {
    if (((uint64_t)idx[m - 1] >> l) >= count[l]) {
      napi_throw_range_error(env, NULL, "updateLevels: a dirty path is not stored (a count is too small)");
      return NULL;
    }
  }
  update_levels(prefix, (const uint8_t *)bytes, bytesLen, lv, count, (const uint8_t *)zh, (uint32_t *)idxData, m, depth, low);
  return NULL;
}

/*
 * Dirty-leaf scan for the memory commitment (interpreter/state.ts): the indices l < n with
 * marks[l] > since, in increasing order, into out; returns how many. Eight marks per compare, on
 * 256-bit vectors (AVX-512VL compares and compress-stores): it runs before every state root, and a
 * 512-bit loop here would slow the run after the root (see "Vector width" above).
 */
__attribute__((target("avx512f,avx512vl")))
static uint32_t marks_above(const uint32_t *marks, uint32_t n, uint32_t since, uint32_t *out) {
  const __m256i s = _mm256_set1_epi32((int)since), step = _mm256_set1_epi32(8);
  __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  uint32_t k = 0, l = 0;
  for (; l + 8 <= n; l += 8, idx = _mm256_add_epi32(idx, step)) {
    const __mmask8 m = _mm256_cmpgt_epu32_mask(_mm256_loadu_si256((const __m256i *)(marks + l)), s);
    if (m) {
      _mm256_mask_compressstoreu_epi32((void *)(out + k), m, idx);
      k += (uint32_t)__builtin_popcount(m);
    }
  }
  for (; l < n; l++) if (marks[l] > since) out[k++] = l;
  return k;
}

/* marksAbove(marks: Uint32Array, n, since, out: Uint32Array) -> count; out must hold n entries. */
static napi_value MarksAbove(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_typedarray_type t1, t2;
  size_t len1, len2, off;
  void *d1, *d2;
  napi_value ab, result;
  uint32_t n, since;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_typedarray_info(env, argv[0], &t1, &len1, &d1, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &n) != napi_ok || napi_get_value_uint32(env, argv[2], &since) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &t2, &len2, &d2, &ab, &off) != napi_ok || t1 != napi_uint32_array ||
      t2 != napi_uint32_array) {
    napi_throw_type_error(env, NULL, "marksAbove(marks: Uint32Array, n, since, out: Uint32Array)");
    return NULL;
  }
  if (n > len1 || n > len2) {
    napi_throw_range_error(env, NULL, "marksAbove: n exceeds an array");
    return NULL;
  }
  napi_create_uint32(env, marks_above((const uint32_t *)d1, n, since, (uint32_t *)d2), &result);
  return result;
}

/*
 * Single messages: keccak256 of any length on lane 0 of permute4 (~850 cycles a block, against
 * ~1,200 for a scalar permutation and ~2,500 for the WebAssembly module's): a state root's lone
 * hashes (chain pushes, the cold and state hashes) are a few of these each.
 */
__attribute__((target("avx512f,avx512vl")))
static void keccak1(const uint8_t *msg, size_t len, uint8_t *out) {
  __m256i A[25];
  for (int k = 0; k < 25; k++) A[k] = _mm256_setzero_si256();
  for (;;) {
    /* the block lane by lane, 8-byte moves only: a zeroed 136-byte block array compiled to 512-bit
     * stores, and a single one of those slowed the interpreter's next ~2 ms (see "Vector width") */
    const int last = len < 136;
    for (size_t k = 0; k < 17; k++) {
      uint64_t w = 0;
      if (8 * k + 8 <= len) memcpy(&w, msg + 8 * k, 8);
      else if (8 * k < len) memcpy(&w, msg + 8 * k, len - 8 * k); /* little-endian: the low bytes */
      if (last && len / 8 == k) w ^= (uint64_t)0x01 << (8 * (len % 8));
      if (last && k == 16) w ^= (uint64_t)0x80 << 56;
      A[k] = _mm256_xor_si256(A[k], _mm256_set_epi64x(0, 0, 0, (long long)w));
    }
    permute4(A);
    if (last) break;
    msg += 136;
    len -= 136;
  }
  for (int k = 0; k < 4; k++) {
    const uint64_t w = (uint64_t)_mm256_extract_epi64(A[k], 0);
    memcpy(out + 8 * k, &w, 8);
  }
}

/* keccak(bytes: Uint8Array, len, out: Uint8Array): out[0..32) = keccak256(bytes[0..len)). */
static napi_value Keccak(napi_env env, napi_callback_info info) {
  size_t argc = 3, bytesLen, outLen, off;
  napi_value argv[3], ab;
  napi_typedarray_type t1, t2;
  void *bytes, *out;
  uint32_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_typedarray_info(env, argv[0], &t1, &bytesLen, &bytes, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &len) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &t2, &outLen, &out, &ab, &off) != napi_ok || t1 != napi_uint8_array ||
      t2 != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "keccak(bytes: Uint8Array, len, out: Uint8Array)");
    return NULL;
  }
  if (len > bytesLen || outLen < 32) {
    napi_throw_range_error(env, NULL, "keccak: len past the bytes, or out shorter than 32");
    return NULL;
  }
  keccak1((const uint8_t *)bytes, len, (uint8_t *)out);
  return NULL;
}

/*
 * chainHashes(prefix, items: Uint8Array, itemLen, from, to, hashes: Uint8Array): for from <= i < to,
 *   hashes[32 i ..] = keccak256(prefix ‖ below ‖ items[itemLen i .. itemLen (i + 1))),
 * below = hashes[32 (i - 1) ..] (32 zero bytes for i = 0): the pushes of a hash chain (the operand
 * stack's, the frames'), each on the one before, in one call.
 */
#define CHAIN_MAX_ITEM (135 - 33)
static napi_value ChainHashes(napi_env env, napi_callback_info info) {
  size_t argc = 6, itemsLen, hashesLen, off;
  napi_value argv[6], ab;
  napi_typedarray_type t1, t2;
  void *items, *hashes;
  int32_t prefix;
  uint32_t itemLen, from, to;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 ||
      napi_get_value_int32(env, argv[0], &prefix) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &t1, &itemsLen, &items, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &itemLen) != napi_ok || napi_get_value_uint32(env, argv[3], &from) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &to) != napi_ok ||
      napi_get_typedarray_info(env, argv[5], &t2, &hashesLen, &hashes, &ab, &off) != napi_ok || t1 != napi_uint8_array ||
      t2 != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "chainHashes(prefix, items: Uint8Array, itemLen, from, to, hashes: Uint8Array)");
    return NULL;
  }
  if (prefix < 0 || prefix > 255 || itemLen > CHAIN_MAX_ITEM || from > to || (uint64_t)itemLen * to > itemsLen ||
      32 * (uint64_t)to > hashesLen) {
    napi_throw_range_error(env, NULL, "chainHashes: argument out of range");
    return NULL;
  }
  uint8_t msg[136];
  msg[0] = (uint8_t)prefix;
  uint8_t *h = (uint8_t *)hashes;
  if (from == 0) memset(msg + 1, 0, 32);
  else memcpy(msg + 1, h + 32 * ((size_t)from - 1), 32);
  for (uint32_t i = from; i < to; i++) {
    memcpy(msg + 33, (const uint8_t *)items + (size_t)itemLen * i, itemLen);
    keccak1(msg, 33 + (size_t)itemLen, h + 32 * (size_t)i);
    memcpy(msg + 1, h + 32 * (size_t)i, 32);
  }
  return NULL;
}

static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
  __builtin_cpu_init();
  napi_value v;
  napi_get_boolean(env, __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"), &v);
  return v;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } exported[] = {
    { "hashPairs", HashPairs }, { "updateLevels", UpdateLevels }, { "buildLevels", BuildLevels },
    { "valuesRoot", ValuesRoot }, { "marksAbove", MarksAbove }, { "keccak", Keccak }, { "chainHashes", ChainHashes },
    { "supported", Supported },
  };
  for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++) {
    napi_value f;
    napi_create_function(env, exported[i].name, NAPI_AUTO_LENGTH, exported[i].fn, NULL, &f);
    napi_set_named_property(env, exports, exported[i].name, f);
  }
  return exports;
}
