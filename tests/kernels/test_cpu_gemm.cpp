// ops<cpu>::gemm against a plain triple loop, over the shapes that pick each of its paths:
// the small-batch kernels (backend/cpu/gemm_small.hpp: up to 16 rows, or an inner
// dimension up to 16, with column and inner tails shorter than a packet), the thin
// matrix-vector paths, the packed product (backend/cpu/gemm_packed.hpp: several chunks of
// the inner dimension, several column blocks, partial register blocks at the right and
// bottom edges), a narrow C computed as its transpose, and Eigen's GEMM; every transpose,
// β = 0 (which must ignore NaN in C), β = 1 and other β, float and double, and operands
// that are not packet-aligned; then shapes drawn at random from a fixed seed. Built with
// OpenMP, it also checks that 1 and 2 threads give the same bits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <utility>
#include <vector>

#include "kernels/random_sweep.hpp"
#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace mb = minibatch;

namespace {

struct Case {
  mb::index_t rows, cols, inner;
  bool trans_a, trans_b;
};

// Worst |c − ref| − (atol + rtol·Σ|terms|) over C, and where; ≤ 0 passes.
template <class T>
double worst_excess(const Case& k, T beta, mb::index_t offset, std::string& where) {
  mb::Rng rng(static_cast<std::uint64_t>(k.rows * 1000003 + k.cols * 1009 + k.inner * 7 + k.trans_a * 2 + k.trans_b));
  // Storage one element longer than needed, viewed from `offset`: the rows do not start on
  // a packet boundary when offset is 1.
  const mb::index_t a_rows = k.trans_a ? k.inner : k.rows, a_cols = k.trans_a ? k.rows : k.inner;
  const mb::index_t b_rows = k.trans_b ? k.cols : k.inner, b_cols = k.trans_b ? k.inner : k.cols;
  mb::Tensor<T> a_store(mb::Shape{a_rows * a_cols + 1}), b_store(mb::Shape{b_rows * b_cols + 1}),
      c_store(mb::Shape{k.rows * k.cols + 1});
  for (mb::index_t i = 0; i < a_store.size(); ++i) a_store[i] = static_cast<T>(rng.normal());
  for (mb::index_t i = 0; i < b_store.size(); ++i) b_store[i] = static_cast<T>(rng.normal());
  for (mb::index_t i = 0; i < c_store.size(); ++i) c_store[i] = beta == T(0) ? T(NAN) : static_cast<T>(rng.normal());
  const std::vector<T> c_before(c_store.data() + offset, c_store.data() + offset + k.rows * k.cols);
  const mb::index_t outside = offset == 1 ? 0 : c_store.size() - 1;  // the element that is not C
  const T outside_before = c_store[outside];
  const T* a = a_store.data() + offset;
  const T* b = b_store.data() + offset;
  mb::TensorView<const T, mb::cpu> av(a, mb::Shape{a_rows, a_cols}), bv(b, mb::Shape{b_rows, b_cols});
  mb::TensorView<T, mb::cpu> cv(c_store.data() + offset, mb::Shape{k.rows, k.cols});
  mb::ops<mb::cpu>::gemm<T>(av, k.trans_a, bv, k.trans_b, cv, beta);

  const double rtol = std::is_same_v<T, float> ? 1e-5 : 1e-13, atol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  double worst = -1;
  for (mb::index_t i = 0; i < k.rows; ++i)
    for (mb::index_t j = 0; j < k.cols; ++j) {
      double ref = beta == T(0) ? 0.0 : static_cast<double>(beta) * c_before[i * k.cols + j];
      double scale = std::abs(ref);
      for (mb::index_t p = 0; p < k.inner; ++p) {
        const double x = k.trans_a ? a[p * a_cols + i] : a[i * a_cols + p];
        const double y = k.trans_b ? b[j * b_cols + p] : b[p * b_cols + j];
        ref += x * y;
        scale += std::abs(x * y);
      }
      const double got = cv.data()[i * k.cols + j];
      const double excess = std::isfinite(got) ? std::abs(got - ref) - (atol + rtol * scale) : INFINITY;
      if (excess > worst) {
        worst = excess;
        std::ostringstream s;
        s << "C[" << i << ", " << j << "] = " << got << ", reference " << ref;
        where = s.str();
      }
    }
  // Nothing outside C was written (NaN == NaN is false: compare the bits).
  if (std::memcmp(&c_store[outside], &outside_before, sizeof(T)) != 0) {
    worst = INFINITY;
    where = "the element next to C";
  }
  return worst;
}

template <class T>
void check_cases(const std::vector<Case>& cases, const std::vector<T>& betas) {
  int checked = 0;
  for (const bool trans_a : {false, true})
    for (const bool trans_b : {false, true})
      for (Case k : cases)
        for (const T beta : betas) {
          k.trans_a = trans_a;
          k.trans_b = trans_b;
          std::string where;
          const mb::index_t offset = (k.rows + k.cols + k.inner) % 2;
          const double excess = worst_excess<T>(k, beta, offset, where);
          if (excess > 0) {
            std::ostringstream what;
            what << k.rows << " x " << k.inner << (k.trans_a ? " (A transposed)" : "") << " by " << k.inner << " x "
                 << k.cols << (k.trans_b ? " (B transposed)" : "") << ", beta " << beta << ", offset " << offset
                 << ": worst " << where;
            INFO(what.str());
            CHECK(excess <= 0);
          }
          ++checked;
        }
  CHECK(checked > 0);
  MESSAGE(checked << " products checked");
}

// One dimension of a random product: small (the small-batch kernels and thin paths), a
// layer's width, or within a few of a whole number of chunks of the inner dimension.
template <class T>
mb::index_t random_dimension(mb::Rng& rng) {
  const mb::index_t kc = minibatch::cpu_backend::packed::kc_max<T>;
  switch (rng.below(3)) {
    case 0: return 1 + static_cast<mb::index_t>(rng.below(20));
    case 1: return 21 + static_cast<mb::index_t>(rng.below(280));
    default: return (1 + static_cast<mb::index_t>(rng.below(2))) * kc - 4 + static_cast<mb::index_t>(rng.below(9));
  }
}

// Every product of a small size with two large ones, the small size in each dimension.
template <class T>
void check_shapes(const std::vector<mb::index_t>& small, const std::vector<mb::index_t>& large) {
  std::vector<Case> cases;
  for (const mb::index_t rows : small)
    for (const mb::index_t cols : large)
      for (const mb::index_t inner : large)
        for (const Case k : {Case{rows, cols, inner, false, false}, Case{cols, inner, rows, false, false},
                             Case{inner, rows, cols, false, false}})
          cases.push_back(k);
  check_cases<T>(cases, {T(0), T(0.5)});
}

}  // namespace

TEST_CASE_TEMPLATE("ops<cpu>::gemm matches a plain loop on small-batch, thin and blocked shapes", T, float, double) {
  // small ∈ the small-side sizes (a batch), large ∈ sizes around one and two packets
  // (AVX-512: 16 floats, 8 doubles) and a layer's width; each product is also checked with
  // the small size moved to the other two dimensions.
  check_shapes<T>({1, 2, 3, 5, 10, 12, 13, 16, 17}, {1, 7, 8, 9, 16, 17, 33, 70});
}

TEST_CASE_TEMPLATE("ops<cpu>::gemm: the packed product over chunks, column blocks and edges", T, float, double) {
  using minibatch::cpu_backend::packed::kc_max;
  // Inner dimensions of one chunk, one more than a chunk and three chunks; 750 columns of
  // a 3-chunk product are two blocks of packed B (nc ≈ 1 MiB / kc); rows that leave 1, 8
  // and 5 rows in the last register block (12 rows with 32 vector registers, 6 with 16).
  // A transposed op(A) is read in place unless its row stride (its rows) is a multiple of
  // 1 KiB: 256 rows are packed in float and double, 128 rows in double only. 2·kc + 1 is
  // three chunks whose last one is shorter (in float 342, 342, 341), under 800 columns: the
  // last chunk once took wider blocks of B than the packing space held (a heap overrun that
  // the sanitizer build reports).
  const mb::index_t kc = kc_max<T>;
  check_cases<T>({{25, 33, kc, false, false},
                  {40, 800, 2 * kc + 1, false, false},
                  {20, 64, kc + 1, false, false},
                  {17, 750, 2 * kc + 76, false, false},
                  {100, 40, 40, false, false},
                  {41, 511, 300, false, false},
                  {256, 40, kc + 3, false, false},
                  {128, 70, 50, false, false}},
                 {T(0), T(1), T(-0.75)});
}

TEST_CASE_TEMPLATE("ops<cpu>::gemm: a C narrower than a register block, computed as its transpose", T, float, double) {
  // Cᵀ = op(B)ᵀ·op(A)ᵀ by the packed kernels, then copied across with β: the output layer's
  // 10 columns (forward and weight gradient), one column short of a register block, and 2
  // and 3 columns (Eigen's GEMM unless op(A) is transposed); inner dimensions of several
  // chunks, rows that leave partial register blocks of Cᵀ's columns.
  namespace cb = minibatch::cpu_backend;
  const mb::index_t kc = cb::packed::kc_max<T>, narrow = cb::packed::cols_per_block<T> - 1;
  CHECK(cb::computes_transpose<T>(300, 10, false) == !cb::packs<T>(10));
  CHECK(cb::computes_transpose<T>(40, narrow, true));
  CHECK(cb::computes_transpose<T>(40, 2, true));
  CHECK_FALSE(cb::computes_transpose<T>(40, 3, false));
  check_cases<T>({{300, 10, 2 * kc + 1, false, false},
                  {601, 10, 512, false, false},
                  {40, narrow, kc + 3, false, false},
                  {cb::packed::cols_per_block<T>, narrow, 30, false, false},
                  {77, 3, 200, false, false},
                  {45, 2, kc + 7, false, false}},
                 {T(0), T(1), T(-0.75)});
}

TEST_CASE_TEMPLATE("ops<cpu>::gemm matches a plain loop on random shapes from a fixed seed", T, float, double) {
  // Each dimension drawn by random_dimension, every transpose; β ∈ {0, 1, 0.5}; the seed and
  // the count from random_sweep.
  const RandomSweep sweep = random_sweep(60);
  mb::Rng rng(sweep.seed);
  std::vector<Case> cases;
  while (static_cast<long>(cases.size()) < sweep.count) {
    const Case k{random_dimension<T>(rng), random_dimension<T>(rng), random_dimension<T>(rng), false, false};
    if (k.rows * k.cols * k.inner <= 4'000'000) cases.push_back(k);  // keeps the plain loop quick
  }
  INFO("seed " << sweep.seed << ", " << sweep.count << " shapes");
  check_cases<T>(cases, {T(0), T(1), T(0.5)});
}

#if defined(_OPENMP)
TEST_CASE_TEMPLATE("ops<cpu>::gemm: 1 and 2 threads give the same bits", T, float, double) {
  // Slabs by rows and by columns, packed (≥ 2 packets of columns), of the transpose (10
  // columns; 3 with A transposed) and Eigen's (3 columns), with partial register blocks and
  // more than one chunk of the inner dimension.
  const mb::index_t kc = minibatch::cpu_backend::packed::kc_max<T>;
  int compared = 0;
  for (const bool trans_a : {false, true})
    for (const bool trans_b : {false, true})
      for (const Case k : {Case{301, 70, kc + 5, trans_a, trans_b}, Case{40, 333, 90, trans_a, trans_b},
                           Case{300, 10, 200, trans_a, trans_b}, Case{300, 3, 200, trans_a, trans_b}})
        for (const T beta : {T(0), T(0.5)}) {
          mb::Rng rng(7);
          mb::Tensor<T> a(k.trans_a ? mb::Shape{k.inner, k.rows} : mb::Shape{k.rows, k.inner});
          mb::Tensor<T> b(k.trans_b ? mb::Shape{k.cols, k.inner} : mb::Shape{k.inner, k.cols});
          mb::Tensor<T> c1(mb::Shape{k.rows, k.cols}), c2(mb::Shape{k.rows, k.cols});
          for (mb::index_t i = 0; i < a.size(); ++i) a[i] = static_cast<T>(rng.normal());
          for (mb::index_t i = 0; i < b.size(); ++i) b[i] = static_cast<T>(rng.normal());
          for (mb::index_t i = 0; i < c1.size(); ++i) c1[i] = c2[i] = static_cast<T>(rng.normal());
          minibatch::cpu_backend::gemm<T>(std::as_const(a).view(), k.trans_a, std::as_const(b).view(), k.trans_b, c1.view(), beta, 1);
          minibatch::cpu_backend::gemm<T>(std::as_const(a).view(), k.trans_a, std::as_const(b).view(), k.trans_b, c2.view(), beta, 2);
          INFO(k.rows << " x " << k.inner << " by " << k.cols << ", transposes " << k.trans_a << k.trans_b);
          CHECK(std::memcmp(c1.data(), c2.data(), sizeof(T) * static_cast<std::size_t>(c1.size())) == 0);
          ++compared;
        }
  CHECK(compared == 32);
}
#endif
