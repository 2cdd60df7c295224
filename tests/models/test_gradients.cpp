// Every model's gradient against central finite differences, in double precision:
// ‖g − g_fd‖ / ‖g_fd‖ ≤ 1e-6 and, per coordinate, |g − g_fd| ≤ 1e-8 + 1e-6·|g_fd|.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/models.hpp"

namespace mb = minibatch;

namespace {

template <class Loss>
void check_gradient(mb::Mlp<double>& net, const mb::TensorDataset<double, typename Loss::template target_of<double>>& data,
                    std::vector<mb::index_t> batch) {
  mb::SupervisedObjective<double, mb::cpu, Loss> objective(net, data, batch.size());
  auto theta = net.params().flat();
  mb::Tensor<double> grad(mb::Shape{theta.size()}), scratch(mb::Shape{theta.size()});
  objective.loss_and_gradient(theta, batch, grad.view());
  const double h = 1e-6;
  double diff2 = 0, ref2 = 0, worst = 0;
  mb::index_t worst_index = 0;
  for (mb::index_t j = 0; j < theta.size(); ++j) {
    const double saved = theta[j];
    theta[j] = saved + h;
    const double up = objective.loss_and_gradient(theta, batch, scratch.view());
    theta[j] = saved - h;
    const double down = objective.loss_and_gradient(theta, batch, scratch.view());
    theta[j] = saved;
    const double fd = (up - down) / (2 * h);
    diff2 += (grad[j] - fd) * (grad[j] - fd);
    ref2 += fd * fd;
    const double excess = std::abs(grad[j] - fd) - (1e-8 + 1e-6 * std::abs(fd));
    if (excess > worst) {
      worst = excess;
      worst_index = j;
    }
  }
  INFO("worst coordinate " << worst_index << " exceeds the tolerance by " << worst);
  CHECK(worst == 0.0);
  CHECK(std::sqrt(diff2 / ref2) <= 1e-6);
}

mb::TensorDataset<double, std::int32_t> random_classification(mb::index_t n, mb::index_t d, int classes,
                                                              std::uint64_t seed) {
  mb::Rng rng(seed);
  std::vector<double> x(n * d);
  std::vector<std::int32_t> y(n);
  for (auto& v : x) v = rng.normal();
  for (auto& v : y) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return {mb::Tensor<double>(mb::Shape{n, d}, x), mb::Tensor<std::int32_t>(mb::Shape{n, 1}, y)};
}

}  // namespace

TEST_CASE("Mlp gradients match finite differences for every hidden activation (softmax cross-entropy)") {
  const auto data = random_classification(12, 4, 3, 1);
  for (auto act : {mb::Activation::relu, mb::Activation::tanh, mb::Activation::sigmoid, mb::Activation::identity}) {
    CAPTURE(mb::kernels::ref::to_string(act));
    mb::Mlp<double> net({4, 6, 5, 3}, act, 7);
    check_gradient<mb::SoftmaxCrossEntropy>(net, data, {3, 0, 7, 7, 11, 5});  // repeated index, any order
  }
}

TEST_CASE("Softmax regression gradient matches finite differences") {
  const auto data = random_classification(10, 5, 4, 2);
  mb::Mlp<double> net({5, 4}, mb::Activation::identity, 3);
  for (mb::index_t j = 0; j < net.params().size(); ++j) net.params().flat()[j] += 0.1 * double(j % 7);
  check_gradient<mb::SoftmaxCrossEntropy>(net, data, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // contiguous: no gather
}

TEST_CASE("Logistic regression gradient matches finite differences") {
  const auto data = random_classification(9, 3, 2, 4);
  mb::Mlp<double> net({3, 1}, mb::Activation::identity, 5);
  check_gradient<mb::SigmoidCrossEntropy>(net, data, {8, 2, 4, 1});
}

TEST_CASE("Linear regression (MSE) and an MLP regressor: gradients match finite differences") {
  mb::Rng rng(6);
  std::vector<double> x(8 * 3), t(8 * 2);
  for (auto& v : x) v = rng.normal();
  for (auto& v : t) v = rng.normal();
  mb::TensorDataset<double, double> data{mb::Tensor<double>(mb::Shape{8, 3}, x), mb::Tensor<double>(mb::Shape{8, 2}, t)};
  mb::Mlp<double> linear({3, 2}, mb::Activation::identity, 1);
  check_gradient<mb::MeanSquaredError>(linear, data, {1, 5, 6});
  mb::Mlp<double> deep({3, 4, 2}, mb::Activation::tanh, 2);
  check_gradient<mb::MeanSquaredError>(deep, data, {0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("Mlp: layout, He/Xavier initialisation from a seed, bad input named") {
  mb::Mlp<double> net({784, 256, 10}, mb::Activation::relu, 1);
  CHECK(net.params().size() == 784 * 256 + 256 + 256 * 10 + 10);
  CHECK(net.layout()[0].name == "W1");
  CHECK(net.layout()[3].name == "b2");
  auto W1 = net.params()["W1"];
  double sum2 = 0;
  for (mb::index_t i = 0; i < W1.size(); ++i) sum2 += W1[i] * W1[i];
  CHECK(std::sqrt(sum2 / double(W1.size())) == doctest::Approx(std::sqrt(2.0 / 784)).epsilon(0.02));  // He
  auto W2 = net.params()["W2"];
  sum2 = 0;
  for (mb::index_t i = 0; i < W2.size(); ++i) sum2 += W2[i] * W2[i];
  CHECK(std::sqrt(sum2 / double(W2.size())) == doctest::Approx(std::sqrt(2.0 / 266)).epsilon(0.05));  // Xavier
  CHECK(net.params()["b1"][0] == 0.0);
  mb::Mlp<double> same({784, 256, 10}, mb::Activation::relu, 1);
  CHECK(same.params()["W1"][123] == W1[123]);

  CHECK_THROWS_AS(mb::Mlp<float>({10}), mb::value_error);
  CHECK_THROWS_AS(mb::Mlp<float>({10, 0, 3}), mb::value_error);
  const auto data = random_classification(5, 3, 2, 1);
  mb::Mlp<double> wrong({4, 2});
  CHECK_THROWS_AS((mb::SupervisedObjective<double, mb::cpu, mb::SoftmaxCrossEntropy>(wrong, data, 5)), mb::shape_error);
  mb::Mlp<double> ok({3, 2});
  mb::SupervisedObjective<double, mb::cpu, mb::SoftmaxCrossEntropy> objective(ok, data, 2);
  mb::Tensor<double> grad(mb::Shape{ok.params().size()});
  std::vector<mb::index_t> too_big{0, 1, 2};
  CHECK_THROWS_AS(objective.loss_and_gradient(ok.params().flat(), too_big, grad.view()), mb::shape_error);
  std::vector<mb::index_t> past_end{0, 9};
  CHECK_THROWS_AS(objective.loss_and_gradient(ok.params().flat(), past_end, grad.view()), mb::index_error);
}
