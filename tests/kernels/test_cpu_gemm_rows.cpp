// ops<cpu>::gemm_rows (a minibatch's rows read where the data set keeps them) against
// ops<cpu>::gemm on the same rows gathered first: the same bits, for X[rows]·op(B) (the first
// layer's forward product) and X[rows]ᵀ·op(B) (its weight gradient), with indices in any
// order and repeated, over shapes that leave partial register blocks at the bottom and right
// edges and split the inner dimension into more than one chunk, and shapes drawn at random;
// 1 and 2 threads (with OpenMP); and the bad calls: an index out of range, a batch or a C too
// small for the packed kernels, shapes that do not match.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/random_sweep.hpp"
#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace mb = minibatch;

namespace {

template <class T>
mb::Tensor<T> random_tensor(mb::Shape shape, mb::Rng& rng) {
  mb::Tensor<T> t(shape);
  for (mb::index_t i = 0; i < t.size(); ++i) t[i] = static_cast<T>(rng.normal());
  return t;
}

// batch indices into `source` rows, in a random order, some repeated.
std::vector<mb::index_t> random_batch(mb::index_t batch, mb::index_t source, mb::Rng& rng) {
  std::vector<mb::index_t> rows(batch);
  for (mb::index_t k = 0; k < batch; ++k) rows[k] = rng.below(source);
  if (batch > 2) rows[batch - 1] = rows[1];
  return rows;
}

struct Product {
  mb::index_t width, batch, cols;
};

// gemm_rows(X, rows) against gemm(X[rows]) for every transpose and β ∈ {0, 0.5}: the number
// of products whose C differs in any bit. `threads` 0: the public call (the thread count it
// chooses); 1 or 2: the blocked product on that many threads.
template <class T>
int differing(const Product& k, int threads) {
  using namespace minibatch::cpu_backend;
  mb::Rng rng(k.width * 7919 + k.batch * 31 + k.cols);
  const mb::index_t source = k.batch + 13;
  const mb::Tensor<T> x = random_tensor<T>(mb::Shape{source, k.width}, rng);
  const std::vector<mb::index_t> rows = random_batch(k.batch, source, rng);
  mb::Tensor<T> gathered(mb::Shape{k.batch, k.width});
  mb::ops<mb::cpu>::gather_rows<T>(x.view(), rows, gathered.view());
  int differ = 0;
  for (const bool trans_x : {false, true})
    for (const bool trans_b : {false, true})
      for (const T beta : {T(0), T(0.5)}) {
        const mb::index_t c_rows = trans_x ? k.width : k.batch, inner = trans_x ? k.batch : k.width;
        const mb::Tensor<T> b = random_tensor<T>(trans_b ? mb::Shape{k.cols, inner} : mb::Shape{inner, k.cols}, rng);
        mb::Tensor<T> in_place = random_tensor<T>(mb::Shape{c_rows, k.cols}, rng), reference(in_place.shape());
        if (beta == T(0))  // β = 0 ignores C, NaN included
          for (mb::index_t i = 0; i < in_place.size(); ++i) in_place[i] = T(NAN);
        std::memcpy(reference.data(), in_place.data(), sizeof(T) * in_place.size());
        mb::ops<mb::cpu>::gemm<T>(std::as_const(gathered).view(), trans_x, b.view(), trans_b, reference.view(), beta);
        if (threads == 0) {
          mb::ops<mb::cpu>::gemm_rows<T>(x.view(), rows, trans_x, b.view(), trans_b, in_place.view(), beta);
        } else {
          const Operand<T> op_x{x.data(), static_cast<Eigen::Index>(k.width), trans_x, rows.data()};
          const Operand<T> op_b{b.data(), static_cast<Eigen::Index>(b.shape()[1]), trans_b};
          blocked(op_x, op_b, in_place.data(), static_cast<Eigen::Index>(c_rows), static_cast<Eigen::Index>(k.cols),
                  static_cast<Eigen::Index>(inner), beta, threads);
        }
        const bool same = std::memcmp(in_place.data(), reference.data(), sizeof(T) * in_place.size()) == 0;
        if (!same) {
          MESSAGE("width " << k.width << ", batch " << k.batch << ", cols " << k.cols << ", transposes " << trans_x
                           << trans_b << ", beta " << beta << ", threads " << threads << ": C differs");
          ++differ;
        }
      }
  return differ;
}

template <class T>
std::vector<Product> products() {
  using minibatch::cpu_backend::packed::cols_per_block;
  using minibatch::cpu_backend::packed::kc_max;
  const mb::index_t W = cols_per_block<T>;
  // Widths of 2, 7 (fewer rows of C than a register block when transposed), 33 and more
  // than a chunk; batches just past the small-batch kernels, with partial register blocks,
  // and more than a chunk (the inner dimension when transposed); C one register block wide,
  // one with a partial block and several.
  // C of pack_gathered_blocks register blocks and more (the transposed rows are packed).
  using minibatch::cpu_backend::packed::pack_gathered_blocks;
  return {{2, 17, W},
          {7, 25, W + 3},
          {33, 40, 3 * W + 1},
          {kc_max<T> + 9, 29, W},
          {20, kc_max<T> + 5, W + 1},
          {784, 100, 2 * W},
          {30, 50, pack_gathered_blocks * W},
          {13, kc_max<T> + 3, pack_gathered_blocks * W + 5}};
}

}  // namespace

TEST_CASE_TEMPLATE("ops<cpu>::gemm_rows gives the bits of gemm on the gathered rows", T, float, double) {
  int compared = 0, differ = 0;
  for (const Product& k : products<T>()) {
    differ += differing<T>(k, 0);
    compared += 8;
  }
  CHECK(compared == 64);
  CHECK(differ == 0);
}

TEST_CASE_TEMPLATE("ops<cpu>::gemm_rows gives the bits of gemm on random shapes from a fixed seed", T, float, double) {
  // Widths from 1 to past a chunk, batches from just past the small-batch kernels to past a
  // chunk, C from one register block to several; the seed and the count from random_sweep.
  using minibatch::cpu_backend::packed::cols_per_block;
  using minibatch::cpu_backend::packed::kc_max;
  const RandomSweep sweep = random_sweep(12);
  mb::Rng rng(sweep.seed);
  INFO("seed " << sweep.seed << ", " << sweep.count << " shapes");
  int differ = 0;
  for (long n = 0; n < sweep.count; ++n) {
    const auto draw = [&](mb::index_t from, mb::index_t to) {
      return from + static_cast<mb::index_t>(rng.below(static_cast<std::uint64_t>(to - from + 1)));
    };
    const mb::index_t width = draw(1, kc_max<T> + 40);
    const mb::index_t batch = draw(minibatch::cpu_backend::small::max_small + 1, kc_max<T> + 40);  // read in place
    differ += differing<T>(Product{width, batch, draw(cols_per_block<T>, 12 * cols_per_block<T>)}, 0);
  }
  CHECK(differ == 0);
}

#if defined(_OPENMP)
TEST_CASE_TEMPLATE("ops<cpu>::gemm_rows: 1 and 2 threads give the bits of gemm on the gathered rows", T, float,
                   double) {
  // Slabs by rows (a long batch: the forward product; a wide X: the transposed one) and by
  // columns (a wide C).
  using minibatch::cpu_backend::packed::cols_per_block;
  const mb::index_t W = cols_per_block<T>;
  int differ = 0;
  for (const Product& k : {Product{50, 301, W + 5}, Product{300, 40, 2 * W}, Product{33, 45, 20 * W + 7}})
    for (const int threads : {1, 2}) differ += differing<T>(k, threads);
  CHECK(differ == 0);
}
#endif

TEST_CASE("ops<cpu>::gemm_rows refuses what it cannot read in place, naming it") {
  using minibatch::cpu_backend::packed::cols_per_block;
  const mb::index_t W = cols_per_block<float>;
  mb::Rng rng(3);
  const mb::Tensor<float> x = random_tensor<float>(mb::Shape{40, 12}, rng);
  const mb::Tensor<float> b = random_tensor<float>(mb::Shape{12, W}, rng);
  std::vector<mb::index_t> rows = random_batch(20, 40, rng);
  mb::Tensor<float> c(mb::Shape{20, W});
  using ops = mb::ops<mb::cpu>;
  CHECK(ops::rows_in_place<float>(20, W));
  CHECK_NOTHROW(ops::gemm_rows<float>(x.view(), rows, false, b.view(), false, c.view()));

  rows[7] = 40;  // one past the data set
  CHECK_THROWS_WITH_AS(ops::gemm_rows<float>(x.view(), rows, false, b.view(), false, c.view()),
                       doctest::Contains("idx[7] = 40 is out of range for 40"), mb::index_error);
  rows[7] = 3;

  // 16 rows: the small-batch kernels, which read their operands as stored.
  CHECK_FALSE(ops::rows_in_place<float>(16, W));
  mb::Tensor<float> c16(mb::Shape{16, W});
  CHECK_THROWS_WITH_AS(ops::gemm_rows<float>(x.view(), std::span(rows).first(16), false, b.view(), false, c16.view()),
                       doctest::Contains("16 rows into"), mb::value_error);

  // C narrower than a register block: Eigen's product.
  CHECK_FALSE(ops::rows_in_place<float>(20, W - 1));
  const mb::Tensor<float> b_narrow = random_tensor<float>(mb::Shape{12, W - 1}, rng);
  mb::Tensor<float> c_narrow(mb::Shape{20, W - 1});
  CHECK_THROWS_AS(ops::gemm_rows<float>(x.view(), rows, false, b_narrow.view(), false, c_narrow.view()),
                  mb::value_error);

  // B with the wrong inner dimension, C of the wrong shape.
  const mb::Tensor<float> b_wrong = random_tensor<float>(mb::Shape{11, W}, rng);
  CHECK_THROWS_WITH_AS(ops::gemm_rows<float>(x.view(), rows, false, b_wrong.view(), false, c.view()),
                       doctest::Contains("[11, "), mb::shape_error);
  CHECK_THROWS_AS(ops::gemm_rows<float>(x.view(), rows, true, b.view(), false, c.view()), mb::shape_error);
}
