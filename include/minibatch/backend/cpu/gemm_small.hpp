// Matrix products with one small side, computed straight from the row-major operands in
// registers, without packing. These are the products of a training step at small batch
// sizes (m = batch rows, K = fan-in, N = fan-out, W stored K × N):
//
//   forward    C[m × N] = X[m × K] · W[K × N]        small_rows_nn   (small m)
//   backward   C[K × N] = Xᵀ · D,  X m × K, D m × N  small_inner_tn  (small inner m)
//   backward   C[m × K] = D[m × N] · Wᵀ              small_rows_nt   (small m)
//
// Eigen's GEMM packs both operands into cache-sized blocks on every call. With m ≤ 16 the
// packed copy of W costs as much memory traffic as the arithmetic it feeds (a 10-row
// product does 10 multiply-adds per element of W), and the backward product needs C zeroed
// in a separate pass first. Here each element of the large operand is loaded once per
// block of rows and used for every row in registers, and C is written once: C ← β·C + product,
// where β = 0 ignores what C held (NaN included), as BLAS does.
//
// Vectorized with Eigen's packet primitives (SSE, AVX, AVX-512, NEON, or scalar), so these
// kernels follow whatever instruction set the including program is compiled for. Sums run
// over the inner dimension in ascending order (split over packet lanes in small_rows_nt);
// results match a plain loop to rounding (tests/kernels/test_cpu_gemm.cpp). Like the rest of
// gemm they run on the calling thread, allocate nothing and give the same bits every call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include <Eigen/Core>

namespace minibatch::cpu_backend::small {

// Products whose small side has at most this many rows (or inner length) take these kernels,
// except D·Wᵀ, which beats Eigen's packed product up to max_small_nt rows (measured on
// AVX-512 against Eigen 3.4: 1.1–3.2× at 1–10 rows, 0.7× at 16; benchmarks/RESULTS.md).
inline constexpr Eigen::Index max_small = 16;
inline constexpr Eigen::Index max_small_nt = 12;

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <class T>
inline constexpr int packet_size = Eigen::internal::unpacket_traits<Packet<T>>::size;
// Rows of C kept in registers at once (two packets of columns each): 24 accumulators with
// 32 vector registers (AVX-512), 12 with 16.
inline constexpr int max_block_rows = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 12 : 6;

// Calls f(std::integral_constant<int, n>) for a run-time n in [1, Max].
template <int Max, class F>
inline void with_rows(int n, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (void)((n == I + 1 ? (f(std::integral_constant<int, I + 1>{}), true) : false) || ...);
  }(std::make_integer_sequence<int, Max>{});
}

// ---- C[m × N] = A[m × K] · B[K × N], small m ---------------------------------------------
// B is read in chunks of nn_chunk rows, and each chunk across all columns before the next
// one: a block of columns read down all K rows at once would touch one page per row (a
// 784 × 512 float B has 2 rows per 4 KiB page), which defeats the hardware prefetchers;
// a chunk is nn_chunk short streams. C carries the partial sums between chunks (it is
// small: m rows).
inline constexpr Eigen::Index nn_chunk = 16;

enum class Start { zero, scaled, load };  // acc ← 0, β·C or C

// How the register block reads op(A)(r, p), row r of the block and step p of the inner
// dimension. Strided: a[r·a_row + p·a_inner] (X·W: a_row = lda, a_inner = 1; Xᵀ·D: a_row = 1,
// a_inner = lda). The gathered forms read a minibatch's rows where the data set keeps them
// (gemm_packed.hpp): RowPointers, row r of op(A) at row[r] (the rows of X·W); IndexedInner,
// step p of op(A)ᵀ at base + index[p]·stride (the rows of X in Xᵀ·D).
template <class T>
struct Strided {
  const T* a;
  Eigen::Index a_row, a_inner;
  T operator()(int r, Eigen::Index p) const { return a[r * a_row + p * a_inner]; }
};
template <class T>
struct RowPointers {
  const T* row[max_block_rows];
  T operator()(int r, Eigen::Index p) const { return row[r][p]; }
};
template <class T>
struct IndexedInner {
  const T* base;
  const std::size_t* index;
  Eigen::Index stride;
  T operator()(int r, Eigen::Index p) const { return base[static_cast<Eigen::Index>(index[p]) * stride + r]; }
};

// The register block of every product with a packet-wide B: rows [0, R) and columns
// [0, W·packet) of C ← start + Σ_{p ∈ [p0, p1)} A(r, p)·B[p, :], A(r, p) read through one of
// the accessors above.
template <int R, int W, class T, class A>
inline void block(const A& a, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc, Eigen::Index p0, Eigen::Index p1,
                  Start start, T beta) {
  using namespace Eigen::internal;
  constexpr int P = packet_size<T>;
  Packet<T> acc[R][W];
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < W; ++w)
      acc[r][w] = start == Start::zero     ? pset1<Packet<T>>(T(0))
                  : start == Start::scaled ? pmul(pset1<Packet<T>>(beta), ploadu<Packet<T>>(c + r * ldc + w * P))
                                           : ploadu<Packet<T>>(c + r * ldc + w * P);
  for (Eigen::Index p = p0; p < p1; ++p) {
    Packet<T> bw[W];
    for (int w = 0; w < W; ++w) bw[w] = ploadu<Packet<T>>(b + p * ldb + w * P);
    for (int r = 0; r < R; ++r) {
      const Packet<T> x = pset1<Packet<T>>(a(r, p));
      for (int w = 0; w < W; ++w) acc[r][w] = pmadd(x, bw[w], acc[r][w]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < W; ++w) pstoreu(c + r * ldc + w * P, acc[r][w]);
}

// The same with op(A) strided.
template <int R, int W, class T>
inline void block(const T* a, Eigen::Index a_row, Eigen::Index a_inner, const T* b, Eigen::Index ldb, T* c,
                  Eigen::Index ldc, Eigen::Index p0, Eigen::Index p1, Start start, T beta) {
  block<R, W>(Strided<T>{a, a_row, a_inner}, b, ldb, c, ldc, p0, p1, start, beta);
}

// R rows of C, inner rows [p0, p1) of B; cols ≥ packet. The last cols mod packet columns
// come from one more block that ends at the last column (it overlaps the one before): it
// accumulates in `tail` (R × packet, β·C in its new lanes to begin with), from which
// small_rows_nn copies them to C at the end.
template <int R, class T>
inline void nn_rows(const T* a, Eigen::Index lda, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc,
                    Eigen::Index cols, Eigen::Index p0, Eigen::Index p1, T beta, T* tail) {
  constexpr int P = packet_size<T>;
  const Eigen::Index full = cols / P * P;
  const Start start = p0 > 0 ? Start::load : beta == T(0) ? Start::zero : Start::scaled;
  Eigen::Index j = 0;
  for (; j + 2 * P <= full; j += 2 * P) block<R, 2>(a, lda, 1, b + j, ldb, c + j, ldc, p0, p1, start, beta);
  if (j < full) block<R, 1>(a, lda, 1, b + j, ldb, c + j, ldc, p0, p1, start, beta);
  if (full < cols) block<R, 1>(a, lda, 1, b + cols - P, ldb, tail, P, p0, p1, Start::load, beta);
}

// Needs rows ≤ max_small, cols ≥ packet_size<T>, inner ≥ 1. Each chunk of B serves every
// block of rows while it is in L1.
template <class T>
void small_rows_nn(const T* a, Eigen::Index lda, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc,
                   Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, T beta) {
  constexpr int P = packet_size<T>;
  const Eigen::Index extra = cols % P;
  T tail[max_small * P];
  if (extra)
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index l = 0; l < P; ++l)
        tail[r * P + l] = beta != T(0) && l >= P - extra ? beta * c[r * ldc + cols - P + l] : T(0);
  // Equal blocks of at most max_block_rows rows: 16 rows → 8 + 8, not 12 + 4.
  const Eigen::Index blocks = (rows + max_block_rows - 1) / max_block_rows;
  for (Eigen::Index p0 = 0; p0 < inner; p0 += nn_chunk) {
    const Eigen::Index p1 = std::min(inner, p0 + nn_chunk);
    for (Eigen::Index i = 0, done = 0; done < blocks; ++done) {
      const int r = static_cast<int>((rows - i) / (blocks - done));
      with_rows<max_block_rows>(r, [&](auto R) {
        nn_rows<decltype(R)::value>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, cols, p0, p1, beta, tail + i * P);
      });
      i += r;
    }
  }
  if (extra)
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index l = P - extra; l < P; ++l) c[r * ldc + cols - P + l] = tail[r * P + l];
}

// ---- C[M × N] = Aᵀ · D, A[k × M], D[k × N], small k ----------------------------------------
// Rows [0, R) of C: C[r, j] = Σ_p A[p, r]·D[p, j]; D stays in L1, each entry of C is
// written once.
template <int R, class T>
inline void tn_rows(const T* a, Eigen::Index lda, const T* d, Eigen::Index ldd, T* c, Eigen::Index ldc,
                    Eigen::Index cols, Eigen::Index inner, T beta) {
  constexpr int P = packet_size<T>;
  const Eigen::Index full = cols / P * P, extra = cols - full;
  const Start start = beta == T(0) ? Start::zero : Start::scaled;
  Eigen::Index j = 0;
  for (; j + 2 * P <= full; j += 2 * P) block<R, 2>(a, 1, lda, d + j, ldd, c + j, ldc, 0, inner, start, beta);
  if (j < full) block<R, 1>(a, 1, lda, d + j, ldd, c + j, ldc, 0, inner, start, beta);
  if (extra) {  // a block ending at the last column; its new lanes go to C
    T tail[R * P];
    block<R, 1>(a, 1, lda, d + cols - P, ldd, tail, P, 0, inner, Start::zero, beta);
    for (int r = 0; r < R; ++r)
      for (Eigen::Index l = P - extra; l < P; ++l) {
        T& out = c[r * ldc + cols - P + l];
        out = beta == T(0) ? tail[r * P + l] : tail[r * P + l] + beta * out;
      }
  }
}

// Needs inner ≤ max_small, cols ≥ packet_size<T>.
template <class T>
void small_inner_tn(const T* a, Eigen::Index lda, const T* d, Eigen::Index ldd, T* c, Eigen::Index ldc,
                    Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, T beta) {
  constexpr int R = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 8 : 4;
  Eigen::Index i = 0;
  for (; i + R <= rows; i += R) tn_rows<R>(a + i, lda, d, ldd, c + i * ldc, ldc, cols, inner, beta);
  if (i < rows)
    with_rows<R - 1>(static_cast<int>(rows - i), [&](auto Rest) {
      tn_rows<decltype(Rest)::value>(a + i, lda, d, ldd, c + i * ldc, ldc, cols, inner, beta);
    });
}

// ---- C[m × M] = D[m × N] · Bᵀ, B[M × N], small m --------------------------------------------
// Rows [0, I) of D against rows [0, J) of B: C[i, j] = dot(D[i, :], B[j, :]), each dot a
// packet of partial sums over the inner dimension, added across lanes at the end. The
// last inner mod packet elements come from one more packet that ends at the last element,
// its lanes already counted masked to zero.
template <int I, int J, class T>
inline void nt_block(const T* d, Eigen::Index ldd, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc,
                     Eigen::Index inner, T beta) {
  using namespace Eigen::internal;
  constexpr int P = packet_size<T>;
  Packet<T> acc[I][J];
  for (int i = 0; i < I; ++i)
    for (int j = 0; j < J; ++j) acc[i][j] = pset1<Packet<T>>(T(0));
  const auto step = [&](Eigen::Index p, const Packet<T>& mask, bool masked) {
    Packet<T> bj[J];
    for (int j = 0; j < J; ++j) bj[j] = ploadu<Packet<T>>(b + j * ldb + p);
    for (int i = 0; i < I; ++i) {
      Packet<T> di = ploadu<Packet<T>>(d + i * ldd + p);
      if (masked) di = pand(di, mask);
      for (int j = 0; j < J; ++j) acc[i][j] = pmadd(di, bj[j], acc[i][j]);
    }
  };
  const Packet<T> none = pset1<Packet<T>>(T(0));
  Eigen::Index p = 0;
  for (; p + P <= inner; p += P) step(p, none, false);
  if (p < inner)  // lanes [0, P − (inner − p)) of this last packet were counted above
    step(inner - P, pcmp_le(pset1<Packet<T>>(T(P - (inner - p))), plset<Packet<T>>(T(0))), true);
  for (int i = 0; i < I; ++i)
    for (int j = 0; j < J; ++j) {
      const T s = predux(acc[i][j]);
      T& out = c[i * ldc + j];
      out = beta == T(0) ? s : s + beta * out;
    }
}

// Rows [0, J) of B against every row of D, in blocks of I rows (D is small: it stays in L1
// while each block of B is read once).
template <int J, class T>
inline void nt_cols(const T* d, Eigen::Index ldd, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc,
                    Eigen::Index rows, Eigen::Index inner, T beta) {
  constexpr int I = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 4 : 2;
  Eigen::Index i = 0;
  for (; i + I <= rows; i += I) nt_block<I, J>(d + i * ldd, ldd, b, ldb, c + i * ldc, ldc, inner, beta);
  if (i < rows)
    with_rows<I - 1>(static_cast<int>(rows - i), [&](auto Rest) {
      nt_block<decltype(Rest)::value, J>(d + i * ldd, ldd, b, ldb, c + i * ldc, ldc, inner, beta);
    });
}

// Needs rows ≤ max_small, inner ≥ packet_size<T>.
template <class T>
void small_rows_nt(const T* d, Eigen::Index ldd, const T* b, Eigen::Index ldb, T* c, Eigen::Index ldc,
                   Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, T beta) {
  constexpr int J = 4;
  Eigen::Index j = 0;
  for (; j + J <= cols; j += J) nt_cols<J>(d, ldd, b + j * ldb, ldb, c + j, ldc, rows, inner, beta);
  if (j < cols)
    with_rows<J - 1>(static_cast<int>(cols - j), [&](auto Rest) {
      nt_cols<decltype(Rest)::value>(d, ldd, b + j * ldb, ldb, c + j, ldc, rows, inner, beta);
    });
}

}  // namespace minibatch::cpu_backend::small
