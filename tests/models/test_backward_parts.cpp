// Mlp::backward with a part callback (an update fused into backward): the parts are
// disjoint, cover θ once, hold the bits of the whole gradient, and no parameter of a part is
// read after the part is handed out. At batches of up to 16 rows on the cpu the weight
// gradients come in blocks of ops<cpu>::weight_grad_part_rows rows; above, one part per
// matrix. Widths cover fan-outs below, at and above one packet (4 floats by default, 16
// with -march=native on AVX-512) and a fan-in that is not a multiple of the block.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/models.hpp"

namespace mb = minibatch;

namespace {
struct Parts {
  std::vector<float> gradient;  // assembled from the parts
  std::vector<int> seen;        // how many parts held each parameter
  mb::index_t count = 0;
};

// Forward + softmax cross-entropy at params, then backward in parts. With poison, each
// part's parameters are overwritten with NaN as soon as it arrives (in params itself).
Parts backward_in_parts(const mb::Mlp<float>& net, mb::Tensor<float>& params, const mb::Tensor<float>& x,
                        const mb::Tensor<std::int32_t>& y, bool poison) {
  const mb::index_t n = x.shape()[0];
  auto ws = net.make_workspace(n);
  mb::Tensor<float> grad(mb::Shape{params.size()}), loss(mb::Shape{1});
  auto logits = net.forward(params.view(), x.view(), ws);
  mb::SoftmaxCrossEntropy::apply(mb::TensorView<const float>(logits), mb::TensorView<const std::int32_t>(y.view()), net.dlogits(ws, n), loss.view());
  Parts p{std::vector<float>(params.size(), std::numeric_limits<float>::quiet_NaN()),
          std::vector<int>(params.size(), 0)};
  net.backward(params.view(), x.view(), ws, grad.view(), [&](mb::index_t offset, mb::TensorView<const float> part) {
    REQUIRE(offset + part.size() <= params.size());
    for (mb::index_t i = 0; i < part.size(); ++i) {
      p.gradient[offset + i] = part[i];
      ++p.seen[offset + i];
      if (poison) params[offset + i] = std::numeric_limits<float>::quiet_NaN();
    }
    ++p.count;
  });
  return p;
}
}  // namespace

TEST_CASE("Mlp::backward in parts hands out the whole gradient's bits, each parameter once") {
  for (const auto& widths : {std::vector<mb::index_t>{21, 48, 17, 3}, std::vector<mb::index_t>{9, 64, 32},
                             std::vector<mb::index_t>{30, 2, 40, 4}}) {
    for (const mb::index_t n : {1, 3, 8, 16, 17, 40}) {
      CAPTURE(widths.size());
      CAPTURE(widths[1]);
      CAPTURE(n);
      mb::Mlp<float> net(widths, mb::Activation::relu, 5);
      mb::Rng rng(n);
      mb::Tensor<float> x(mb::Shape{n, widths.front()});
      mb::Tensor<std::int32_t> y(mb::Shape{n, 1});
      for (mb::index_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal());
      for (mb::index_t i = 0; i < n; ++i) y[i] = static_cast<std::int32_t>(i % widths.back());

      // the reference: the whole gradient from plain backward
      auto ws = net.make_workspace(n);
      mb::Tensor<float> whole(mb::Shape{net.params().size()}), loss(mb::Shape{1});
      auto logits = net.forward(net.params().flat(), x.view(), ws);
      mb::SoftmaxCrossEntropy::apply(mb::TensorView<const float>(logits), mb::TensorView<const std::int32_t>(y.view()), net.dlogits(ws, n), loss.view());
      net.backward(net.params().flat(), x.view(), ws, whole.view());

      for (const bool poison : {false, true}) {
        CAPTURE(poison);
        mb::Tensor<float> params(mb::Shape{net.params().size()});
        for (mb::index_t i = 0; i < params.size(); ++i) params[i] = net.params().flat()[i];
        const Parts p = backward_in_parts(net, params, x, y, poison);
        for (mb::index_t i = 0; i < params.size(); ++i) {
          REQUIRE(p.seen[i] == 1);
          REQUIRE(p.gradient[i] == whole[i]);  // NaN here would mean a poisoned weight was read
        }
        // blocks of 8 rows for each weight matrix whose small-batch product is done in parts
        mb::index_t expected = 0;
        for (std::size_t l = 1; l < widths.size(); ++l) {
          const bool blocks = mb::ops<mb::cpu>::weight_grad_in_parts<float>(n, widths[l]);
          expected += 1 + (blocks ? (widths[l - 1] + mb::ops<mb::cpu>::weight_grad_part_rows - 1) /
                                        mb::ops<mb::cpu>::weight_grad_part_rows
                                  : 1);
        }
        CHECK(p.count == expected);
      }
    }
  }
}

TEST_CASE("ops<cpu>::weight_grad_part is a block of rows of Xᵀ·D, and says when it does not apply") {
  const mb::index_t n = 5, k = 19, m = 24;
  mb::Rng rng(3);
  mb::Tensor<float> x(mb::Shape{n, k}), d(mb::Shape{n, m}), c(mb::Shape{8, m});
  for (mb::index_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal());
  for (mb::index_t i = 0; i < d.size(); ++i) d[i] = static_cast<float>(rng.normal());
  for (const mb::index_t first : {0, 8, 11}) {
    const mb::index_t rows = first == 11 ? 8 : (first == 8 ? 3 : 8);
    mb::TensorView<float> part(c.data(), mb::Shape{rows, m});
    mb::ops<mb::cpu>::weight_grad_part<float>(x.view(), first, d.view(), part);
    for (mb::index_t r = 0; r < rows; ++r)
      for (mb::index_t j = 0; j < m; ++j) {
        double ref = 0;
        for (mb::index_t p = 0; p < n; ++p) ref += static_cast<double>(x[p * k + first + r]) * d[p * m + j];
        REQUIRE(std::abs(part[r * m + j] - ref) <= 1e-5 + 1e-5 * std::abs(ref));
      }
  }
  CHECK_THROWS_WITH_AS(mb::ops<mb::cpu>::weight_grad_part<float>(x.view(), 12, d.view(), c.view()),
                       "weight_grad_part: rows 12 to 20 of [5, 19]ᵀ · [5, 24] into [8, 24]", mb::shape_error);
  mb::Tensor<float> big_x(mb::Shape{17, k}), big_d(mb::Shape{17, m});
  CHECK_THROWS_WITH_AS(mb::ops<mb::cpu>::weight_grad_part<float>(big_x.view(), 0, big_d.view(), c.view()),
                       doctest::Contains("is not computed in parts"), mb::shape_error);
}

TEST_CASE("Mlp::backward in parts names a workspace that was not made for it") {
  mb::Mlp<float> net({12, 32, 20}, mb::Activation::relu, 1);
  auto ws = net.make_workspace(4);
  ws.part = mb::Tensor<float>();  // as a hand-built workspace would have it
  mb::Tensor<float> x(mb::Shape{4, 12}), grad(mb::Shape{net.params().size()});
  net.forward(net.params().flat(), x.view(), ws);
  CHECK_THROWS_WITH_AS(net.backward(net.params().flat(), x.view(), ws, grad.view(), [](mb::index_t, auto) {}),
                       "Mlp::backward: the workspace's part buffer holds 0 values, 160 needed (use a workspace from "
                       "this network's make_workspace)",
                       mb::shape_error);
}
