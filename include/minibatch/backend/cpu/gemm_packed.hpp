// The blocked matrix product of the cpu backend for every product that is too large for
// gemm_small.hpp and at least one register block (two packets) wide: C[m × N] ← op(A)[m × K]·op(B)[K × N] + β·C, row-major, with the operands
// packed into cache-sized blocks (the loop order of BLIS / Goto's GEMM, with rows and
// columns swapped because C is row-major here):
//
//   for each chunk of the inner dimension (kc rows of op(B), kc columns of op(A)):
//     for each block of nc columns:
//       pack op(B)[chunk, block] into slivers of 2·packet columns      → stays in L2
//       for each sliver of R rows of op(A) (read in place, or packed: below):
//         for each sliver of B: the R × 2·packet register block of C
//
// The register block broadcasts one scalar of op(A) per row and step, so it reads op(A)
// where it is stored (R rows of kc scalars, or kc rows of R scalars when transposed), as
// the small-batch kernels do; packing it first was pure overhead: without the pack,
// A's products (128 columns: 4 register blocks per sliver) run 5–12% faster and B's as
// fast or up to 5% faster (AMD EPYC, AVX-512). The exception is a transposed op(A) whose row stride is a
// multiple of 1 KiB (B's 512-wide activations in a weight gradient): its kc rows of a
// sliver fall into a few cache sets and evict each other (3% slower in place), so it is
// packed: for each p, its R values together, a block that stays in L1. A gathered op(A)
// (a minibatch's rows, read through their indices: gemm.hpp's gemm_rows) is read in place
// too, except a transposed one under a C of many register blocks (packs_a).
//
// The register block is small::block, the kernel of the small-batch products (R = 12 rows
// of two packets each on a target with 32 vector registers, 24 accumulators: with AVX-512
// 12 × 32 floats; 6 × 16 with AVX2). Each C entry is accumulated in registers over a chunk
// and written once per chunk, and the first chunk starts from 0 (β = 0), β·C or C, so C is
// never cleared or scaled in a pass of its own.
//
// The chunks depend on the inner dimension alone, and every entry of C is computed by the
// same sequence of operations whichever tile it falls in (a partial tile at the right edge
// runs on a copy of C's columns, padded), so any split of C into slabs along tile edges
// gives the same bits as the whole product.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <Eigen/Core>

#include "minibatch/backend/cpu/gemm_small.hpp"

namespace minibatch::cpu_backend::packed {

using Eigen::Index;

// Rows of C per register block, and columns (two packets).
inline constexpr int rows_per_block = small::max_block_rows;
template <class T>
inline constexpr Index cols_per_block = 2 * small::packet_size<T>;

// A chunk of the inner dimension is at most kc_bytes of scalars: the A sliver (R × kc, 24 KiB
// of floats at R = 12, in place or packed) stays in L1 while the B slivers stream past it
// from L2, where the packed block of B (kc × nc, nc_bytes) stays. Measured on a 48 KiB L1 /
// 2 MiB L2 core (Xeon, AVX-512) for 1000 × 512 × 784 and the other products of a step, with
// op(A) always packed: 2048 bytes beat 512, 1024 and 1536 by 5–15%; longer chunks also mean
// fewer passes over C. On a 32 KiB L1 / 1 MiB L2 core (AMD EPYC, AVX-512), kc of 1024–3200
// bytes and nc of 512 KiB or 1 MiB tied within 2% for the products of both models.
inline constexpr std::size_t kc_bytes = 2048;
inline constexpr std::size_t nc_bytes = 1 << 20;  // the packed block of B

template <class T>
inline constexpr Index kc_max = static_cast<Index>(kc_bytes / sizeof(T));

// The length of each chunk when the inner dimension is split into equal chunks of at most
// kc_max (the last one may be shorter).
template <class T>
Index chunk_size(Index inner) {
  const Index count = std::max<Index>(1, (inner + kc_max<T> - 1) / kc_max<T>);
  return (inner + count - 1) / count;
}

// Columns per block of B: whole slivers, kc × nc in nc_bytes.
template <class T>
Index block_cols(Index kc) {
  const Index cap = static_cast<Index>(nc_bytes / sizeof(T)) / std::max<Index>(kc, 1);
  return std::max<Index>(cols_per_block<T>, cap / cols_per_block<T> * cols_per_block<T>);
}

// Packing space for a rows × cols × inner product, in scalars: one block of B, one sliver of A
// (used when packs_a), and a packet of slack.
template <class T>
std::size_t space(Index cols, Index inner) {
  const Index kc = chunk_size<T>(inner);
  const Index nc = std::min(block_cols<T>(kc), (cols + cols_per_block<T> - 1) / cols_per_block<T> * cols_per_block<T>);
  return static_cast<std::size_t>(kc * nc + rows_per_block * kc + small::packet_size<T>);
}

// One row-major operand as stored: op(X)(i, p) is x[i·stride + p], or x[p·stride + i] when
// transposed. With an index (op(A) only), the stored rows are gathered: stored row k is
// x + index[k]·stride, so op(X)(i, p) is x[index[i]·stride + p], or x[index[p]·stride + i]
// when transposed: a minibatch read where the data set keeps it, never copied.
template <class T>
struct Operand {
  const T* data;
  Index stride;
  bool transposed;
  const std::size_t* index = nullptr;
};

// dst[p·ld_dst + r] = src[r·ld_src + p] for r < rows ≤ packet, p < kc: the transpose of a
// few rows, a packet × packet block at a time. Each p stores a whole packet (lanes past
// `rows` are 0), so dst needs packet − ld_dst scalars of slack past (kc − 1)·ld_dst + ld_dst
// when ld_dst < packet; the stores go in ascending order, so each one's spill into the next
// p is overwritten by that p.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // PacketBlock<__m512, …>, as in Eigen's own code
#endif
template <class T>
inline void transpose_rows(const T* src, Index ld_src, Index rows, Index kc, T* dst, Index ld_dst) {
  using namespace Eigen::internal;
  constexpr int P = small::packet_size<T>;
  Index p = 0;
  if constexpr (P > 1) {
    for (; p + P <= kc; p += P) {
      PacketBlock<small::Packet<T>, P> block;
      for (int r = 0; r < P; ++r)
        block.packet[r] = r < rows ? ploadu<small::Packet<T>>(src + r * ld_src + p) : pset1<small::Packet<T>>(T(0));
      ptranspose(block);
      for (int q = 0; q < P; ++q) pstoreu(dst + (p + q) * ld_dst, block.packet[q]);
    }
  }
  for (; p < kc; ++p)
    for (Index r = 0; r < rows; ++r) dst[p * ld_dst + r] = src[r * ld_src + p];
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

// Whether op(A) is packed rather than read in place, for C `cols` wide: transposed, with a
// row stride that is a multiple of 1 KiB (see the top of this file); or transposed and
// gathered, with C at least pack_gathered_blocks register blocks wide. Each register block
// of a sliver reads the sliver's kc rows again; gathered, they are kc scattered cache lines
// or more (32 KiB at kc = 512 floats), which do not stay in L1 next to B's slivers, and
// packed they are read once into R·kc contiguous scalars. On a Xeon (48 KiB L1, AVX-512),
// Xᵀ·D with X's 784-float rows gathered from 60000, inner 10000, packing ran at 0.92× of
// reading in place for C 128 wide (4 blocks), 1.01× at 192, 1.11× at 256, 1.06× at 384 and
// 1.08× at 512 (one-off program, one thread, one round each). Gathered rows of a product
// that is not transposed are read in place: transposing them into a packed sliver ran at
// 0.75–0.84× (A's X·W1, 128 columns) and 0.96–1.00× (B's, 512) of that.
inline constexpr Index pack_gathered_blocks = 8;

template <class T>
inline bool packs_a(Operand<T> a, Index cols) {
  if (!a.transposed) return false;
  if (a.index) return cols >= pack_gathered_blocks * cols_per_block<T>;
  return static_cast<std::size_t>(a.stride) * sizeof(T) % 1024 == 0;
}

// ap[p·R + r] = op(A)(i0 + r, p0 + p) for r < rows, p < kc, of a transposed op(A): R
// contiguous scalars per p (a copy of known length, which the compiler inlines), from
// a[(p0 + p)·stride + i0 + r], or from a[index[p0 + p]·stride + i0 + r] when gathered.
//
// Gathered, each p starts in a row of its own, a miss the hardware prefetcher cannot
// foresee (for model B's X[rows]ᵀ·D, 512 rows of the data set per sliver, most of them
// not cached): the values of the row pack_ahead steps on are requested first. In B's step
// at batch 60000 (perf, AMD EPYC Zen 5) the packing took 10% of the time without it, 6%
// with 8 rows ahead and 5.5% with 32 or 64.
inline constexpr Index pack_ahead = 32;

template <class T>
inline void pack_a(Operand<T> a, Index i0, Index rows, Index p0, Index kc, T* ap) {
  constexpr Index R = rows_per_block;
  for (Index p = 0; p < kc; ++p) {
    const Index row = a.index ? static_cast<Index>(a.index[p0 + p]) : p0 + p;
    const T* src = a.data + row * a.stride + i0;
#if defined(__GNUC__)
    if (a.index && p + pack_ahead < kc) {
      const T* ahead = a.data + static_cast<Index>(a.index[p0 + p + pack_ahead]) * a.stride + i0;
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + R - 1);
    }
#endif
    if (rows == R)
      std::memcpy(ap + p * R, src, R * sizeof(T));
    else
      for (Index r = 0; r < rows; ++r) ap[p * R + r] = src[r];
  }
}

// A transposed, gathered op(A) read in place (C narrower than pack_gathered_blocks register
// blocks: model A's X[rows]ᵀ·D, 128 columns): step p of a sliver reads R scalars of row
// index[p] of the data set, and the next sliver the next R of the same kc rows. Those are kc
// streams, more than the hardware prefetcher follows, so many of their new cache lines are
// demand misses. Before each sliver, the last scalar of the next one is requested in each of
// the kc rows: one prefetch per step, beside the R × cols multiply-adds of the step. Measured
// on X[rows]ᵀ·D of 784 × 128 alone (one-off program, one thread, rows of a shuffled 60000 ×
// 784 set, with and without it call by call, medians, 3 runs; AMD EPYC Zen 4): 1.03–1.04×
// at inner 1000 and 10000. Two slivers ahead: 1.02–1.03×.
template <class T>
inline void prefetch_next_sliver(Operand<T> a, Index i0, Index p0, Index kc) {
#if defined(__GNUC__)
  const T* next = a.data + i0 + 2 * rows_per_block - 1;
  for (Index p = 0; p < kc; ++p) __builtin_prefetch(next + static_cast<Index>(a.index[p0 + p]) * a.stride);
#else
  (void)a, (void)i0, (void)p0, (void)kc;
#endif
}

// Slivers of W = cols_per_block columns: bp[s·kc·W + p·W + j] = op(B)(p0 + p, j0 + s·W + j),
// 0 past the last column.
template <class T>
inline void pack_b(Operand<T> b, Index p0, Index kc, Index j0, Index cols, T* bp) {
  constexpr Index W = cols_per_block<T>, P = small::packet_size<T>;
  for (Index s0 = 0; s0 < cols; s0 += W, bp += kc * W) {
    const Index w = std::min(W, cols - s0);
    if (!b.transposed) {
      const T* src = b.data + p0 * b.stride + j0 + s0;
      if (w == W) {
        using namespace Eigen::internal;
        for (Index p = 0; p < kc; ++p, src += b.stride) {
          pstoreu(bp + p * W, ploadu<small::Packet<T>>(src));
          pstoreu(bp + p * W + P, ploadu<small::Packet<T>>(src + P));
        }
      } else {
        for (Index p = 0; p < kc; ++p, src += b.stride) {
          std::copy(src, src + w, bp + p * W);
          std::fill(bp + p * W + w, bp + (p + 1) * W, T(0));
        }
      }
    } else {  // columns of op(B) are rows of B: two transposes of up to P rows each
      const T* src = b.data + (j0 + s0) * b.stride + p0;
      for (Index p = 0; p < kc; ++p) std::fill(bp + p * W + w, bp + (p + 1) * W, T(0));
      transpose_rows(src, b.stride, std::min(w, P), kc, bp, W);
      if (w > P) transpose_rows(src + P * b.stride, b.stride, w - P, kc, bp + P, W);
    }
  }
}

#if defined(__GNUC__)
#define MINIBATCH_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define MINIBATCH_NOINLINE __declspec(noinline)
#else
#define MINIBATCH_NOINLINE
#endif

// One register block of a sliver, kept out of the loop over the sliver's blocks. Inlined
// there, GCC 12 kept that loop's invariants (β and 0 as packets, pointers, strides) live in
// vector registers across the steps, beside the 24 accumulators, and spilled accumulators
// to the stack inside the step loop: the weight gradients Hᵀ·D and Xᵀ·D of model B ran at
// 154–168 GFLOP/s, 63–69% of the FMA ceiling, out of line at 183–199 (75–82%; AMD EPYC,
// Zen 5, BM_Product at batch 10000, 3 interleaved rounds). The products that are not
// transposed ran at 85–94% either way. One call per block of kc steps costs nothing measurable.
template <int Rows, class T, class A>
MINIBATCH_NOINLINE void register_block(const A& a, const T* bp, Index kc, T* c, Index ldc, small::Start start,
                                       T beta) {
  small::block<Rows, 2>(a, bp, cols_per_block<T>, c, ldc, 0, kc, start, beta);
}

// The register blocks of one sliver of Rows rows of op(A), read through the accessor a
// (small::Strided, RowPointers or IndexedInner, steps [0, kc)), across a packed block of B
// (cols columns).
template <int Rows, class T, class A>
inline void sliver(const A& a, const T* bp, Index kc, T* c, Index ldc, Index cols, small::Start start, T beta) {
  constexpr Index W = cols_per_block<T>;
  Index j = 0;
  for (; j + W <= cols; j += W, bp += kc * W) register_block<Rows>(a, bp, kc, c + j, ldc, start, beta);
  if (j < cols) {  // the right edge: on a padded copy of C's last columns
    const Index w = cols - j;
    alignas(64) T tile[Rows * W];
    for (int r = 0; r < Rows; ++r)
      for (Index l = 0; l < W; ++l) tile[r * W + l] = l < w && start != small::Start::zero ? c[r * ldc + j + l] : T(0);
    register_block<Rows>(a, bp, kc, tile, W, start, beta);
    for (int r = 0; r < Rows; ++r) std::copy(tile + r * W, tile + r * W + w, c + r * ldc + j);
  }
}

// One sliver, rows [i0, i0 + rows) of op(A) and steps [p0, p0 + kc): reads op(A) through
// the accessor its operand needs (ap: the packed sliver, when packs_a).
template <int Rows, class T>
inline void sliver_of(Operand<T> a, const T* ap, Index i0, Index p0, const T* bp, Index kc, T* c, Index ldc,
                      Index cols, small::Start start, T beta) {
  if (ap) {
    sliver<Rows>(small::Strided<T>{ap, 1, rows_per_block}, bp, kc, c, ldc, cols, start, beta);
  } else if (!a.index) {
    const T* as = a.transposed ? a.data + p0 * a.stride + i0 : a.data + i0 * a.stride + p0;
    sliver<Rows>(small::Strided<T>{as, a.transposed ? 1 : a.stride, a.transposed ? a.stride : 1}, bp, kc, c, ldc, cols,
                 start, beta);
  } else if (a.transposed) {
    sliver<Rows>(small::IndexedInner<T>{a.data + i0, a.index + p0, a.stride}, bp, kc, c, ldc, cols, start, beta);
  } else {
    small::RowPointers<T> rows{};
    for (int r = 0; r < Rows; ++r) rows.row[r] = a.data + static_cast<Index>(a.index[i0 + r]) * a.stride + p0;
    sliver<Rows>(rows, bp, kc, c, ldc, cols, start, beta);
  }
}

// C[rows × cols] (row stride ldc) ← op(A)·op(B) + β·C (β = 0: C's old values, NaN
// included, are ignored), with `space` scalars of packing space.
template <class T>
void product(Operand<T> a, Operand<T> b, T* c, Index ldc, Index rows, Index cols, Index inner, T beta, T* space) {
  constexpr Index R = rows_per_block;
  if (inner == 0) {
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < cols; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  const Index chunk = chunk_size<T>(inner);
  const bool packed_a = packs_a(a, cols);
  const bool prefetches_a = !packed_a && a.index && a.transposed;  // prefetch_next_sliver
  // Blocks of B as wide as a whole chunk's, in every chunk: a shorter last chunk would take
  // wider ones (block_cols rounds to whole slivers), and its block and sliver of A would
  // then overrun `space` (inner 1025 and cols ≥ 768 in floats: chunks of 342 and 341,
  // blocks of 736 and 768 columns).
  const Index nc_max = block_cols<T>(chunk);
  for (Index p0 = 0; p0 < inner; p0 += chunk) {
    const Index kc = std::min(chunk, inner - p0);
    const small::Start start = p0 > 0 || beta == T(1) ? small::Start::load
                               : beta == T(0)         ? small::Start::zero
                                                      : small::Start::scaled;
    for (Index j0 = 0; j0 < cols; j0 += nc_max) {
      const Index nc = std::min(nc_max, cols - j0);
      T* bp = space;
      T* ap = space + (nc + cols_per_block<T> - 1) / cols_per_block<T> * cols_per_block<T> * kc;
      pack_b(b, p0, kc, j0, nc, bp);
      for (Index i0 = 0; i0 < rows; i0 += R) {
        const Index r = std::min(R, rows - i0);
        if (packed_a) pack_a(a, i0, r, p0, kc, ap);
        else if (prefetches_a && i0 + 2 * R <= rows) prefetch_next_sliver(a, i0, p0, kc);
        const T* packed_sliver = packed_a ? ap : nullptr;
        T* ci = c + i0 * ldc + j0;
        if (r == R) sliver_of<rows_per_block>(a, packed_sliver, i0, p0, bp, kc, ci, ldc, nc, start, beta);
        else
          small::with_rows<rows_per_block - 1>(static_cast<int>(r), [&](auto Rows) {
            sliver_of<decltype(Rows)::value>(a, packed_sliver, i0, p0, bp, kc, ci, ldc, nc, start, beta);
          });
      }
    }
  }
}

}  // namespace minibatch::cpu_backend::packed
