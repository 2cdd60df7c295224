// A minibatch read where the data set keeps it (Mlp::forward/backward with rows, on the cpu
// through ops<cpu>::gemm_rows) against the same rows gathered first: the same logits and the
// same gradient, bit for bit, whole or in parts; SupervisedObjective takes a shuffled batch
// that way and still returns the loss and gradient of the gathered rows; and the calls that
// cannot be served so are refused by name.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/models.hpp"

namespace mb = minibatch;

namespace {

template <class T>
bool same_bits(mb::TensorView<const T> a, mb::TensorView<const T> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(T) * a.size()) == 0;
}

template <class T>
struct Problem {
  mb::TensorDataset<T, std::int32_t> data;
  std::vector<mb::index_t> batch;  // shuffled, with a repeat
  mb::Tensor<T> x;                 // data.features[batch]
  mb::Tensor<std::int32_t> y;      // data.targets[batch]
};

template <class T>
Problem<T> make_problem(mb::index_t source, mb::index_t inputs, mb::index_t classes, mb::index_t n) {
  mb::Rng rng(source * 31 + n);
  Problem<T> p;
  p.data.features = mb::Tensor<T>(mb::Shape{source, inputs});
  p.data.targets = mb::Tensor<std::int32_t>(mb::Shape{source, 1});
  for (mb::index_t i = 0; i < p.data.features.size(); ++i) p.data.features[i] = static_cast<T>(rng.normal());
  for (mb::index_t i = 0; i < source; ++i) p.data.targets[i] = static_cast<std::int32_t>(rng.below(classes));
  p.batch.resize(n);
  for (mb::index_t k = 0; k < n; ++k) p.batch[k] = rng.below(source);
  p.batch[n - 1] = p.batch[0];
  p.x = mb::Tensor<T>(mb::Shape{n, inputs});
  p.y = mb::Tensor<std::int32_t>(mb::Shape{n, 1});
  mb::ops<mb::cpu>::gather_rows<T>(p.data.features.view(), p.batch, p.x.view());
  mb::ops<mb::cpu>::gather_rows<std::int32_t>(p.data.targets.view(), p.batch, p.y.view());
  return p;
}

// Logits, loss and gradient of net on the batch: gathered (in_place false) or read in place.
template <class T>
struct Pass {
  mb::Tensor<T> logits, grad, parts;  // parts: the gradient assembled from backward's parts
  T loss = 0;
};

template <class T>
Pass<T> pass(const mb::Mlp<T>& net, const Problem<T>& p, bool in_place) {
  const mb::index_t n = p.batch.size();
  auto ws = net.make_workspace(n);
  const auto theta = net.params().flat();
  Pass<T> out{mb::Tensor<T>(mb::Shape{n, net.outputs()}), mb::Tensor<T>(mb::Shape{theta.size()}),
              mb::Tensor<T>(mb::Shape{theta.size()})};
  mb::Tensor<T> loss(mb::Shape{1}), scratch(mb::Shape{theta.size()});
  const mb::TensorView<const T> features = p.data.features.view(), x = p.x.view();
  // forward and the loss, which leave dlogits in the workspace (backward overwrites them)
  const auto forward = [&] {
    auto logits = in_place ? net.forward(theta, features, p.batch, ws) : net.forward(theta, x, ws);
    std::memcpy(out.logits.data(), logits.data(), sizeof(T) * logits.size());
    mb::SoftmaxCrossEntropy::apply(mb::TensorView<const T>(logits), p.y.view(), net.dlogits(ws, n), loss.view());
    out.loss = loss[0];
  };
  forward();
  if (in_place) net.backward(theta, features, p.batch, ws, out.grad.view());
  else net.backward(theta, x, ws, out.grad.view());
  // once more, the gradient handed out in parts
  forward();
  const auto collect = [&](mb::index_t offset, mb::TensorView<const T> part) {
    std::memcpy(out.parts.data() + offset, part.data(), sizeof(T) * part.size());
  };
  if (in_place) net.backward(theta, features, p.batch, ws, scratch.view(), collect);
  else net.backward(theta, x, ws, scratch.view(), collect);
  return out;
}

template <class T>
void check_same_as_gathered() {
  using minibatch::cpu_backend::packed::cols_per_block;
  const mb::index_t W = cols_per_block<T>;
  int compared = 0;
  // First layers one register block wide, with a partial block and several; batches just
  // past the small-batch kernels and longer; inputs narrower than a register block of rows.
  for (const auto& widths : {std::vector<mb::index_t>{21, W, 17, 3}, std::vector<mb::index_t>{9, 2 * W + 3, 5},
                             std::vector<mb::index_t>{40, 3 * W, W, 10}})
    for (const mb::index_t n : {17, 40, 129}) {
      CAPTURE(widths[0]);
      CAPTURE(widths[1]);
      CAPTURE(n);
      const mb::Mlp<T> net(widths, mb::Activation::relu, 11);
      REQUIRE(net.rows_in_place(n));
      const Problem<T> p = make_problem<T>(n + 50, widths.front(), widths.back(), n);
      const Pass<T> gathered = pass(net, p, false), in_place = pass(net, p, true);
      CHECK(same_bits<T>(in_place.logits.view(), gathered.logits.view()));
      CHECK(std::memcmp(&in_place.loss, &gathered.loss, sizeof(T)) == 0);
      CHECK(same_bits<T>(in_place.grad.view(), gathered.grad.view()));
      CHECK(same_bits<T>(in_place.parts.view(), gathered.parts.view()));
      CHECK(same_bits<T>(gathered.parts.view(), gathered.grad.view()));

      // SupervisedObjective reads the shuffled batch in place: the same loss and gradient.
      mb::SupervisedObjective<T, mb::cpu, mb::SoftmaxCrossEntropy> objective(net, p.data, n);
      mb::Tensor<T> grad(mb::Shape{net.params().size()});
      const T loss = objective.loss_and_gradient(net.params().flat(), p.batch, grad.view());
      CHECK(std::memcmp(&loss, &gathered.loss, sizeof(T)) == 0);
      CHECK(same_bits<T>(grad.view(), gathered.grad.view()));
      ++compared;
    }
  CHECK(compared == 9);
}

}  // namespace

TEST_CASE_TEMPLATE("Mlp reads a minibatch in place with the bits of the gathered rows", T, float, double) {
  check_same_as_gathered<T>();
}

TEST_CASE("Mlp: rows_in_place says which batches are read in place; the others are refused by name") {
  using minibatch::cpu_backend::packed::cols_per_block;
  const mb::index_t W = cols_per_block<float>;
  const mb::Mlp<float> wide({12, W, 4}, mb::Activation::relu, 1), narrow({12, W - 1, 4}, mb::Activation::relu, 1);
  CHECK(wide.rows_in_place(17));
  CHECK_FALSE(wide.rows_in_place(16));  // the small-batch kernels
  CHECK_FALSE(narrow.rows_in_place(100));  // a first layer narrower than a register block

  const Problem<float> p = make_problem<float>(60, 12, 4, 20);
  auto ws = wide.make_workspace(20);
  const auto theta = wide.params().flat();
  const mb::TensorView<const float> features = p.data.features.view();
  std::vector<mb::index_t> rows = p.batch;
  CHECK_NOTHROW(wide.forward(theta, features, rows, ws));
  CHECK_THROWS_WITH_AS(wide.forward(theta, features, std::span(rows).first(16), ws),
                       doctest::Contains("Mlp::forward: a batch of 16 rows of [60, 12] is not read in place"),
                       mb::value_error);
  auto narrow_ws = narrow.make_workspace(20);
  CHECK_THROWS_AS(narrow.forward(narrow.params().flat(), features, rows, narrow_ws), mb::value_error);
  rows[5] = 60;  // one past the data set
  CHECK_THROWS_WITH_AS(wide.forward(theta, features, rows, ws), doctest::Contains("idx[5] = 60 is out of range"),
                       mb::index_error);
  const std::vector<mb::index_t> too_many(21, 0);
  CHECK_THROWS_AS(wide.forward(theta, features, too_many, ws), mb::shape_error);
}
