// 1-D interpolation f(α·θ_b + (1 − α)·θ_a): exact at the ends, the analytic parabola on a
// quadratic, and loss + accuracy from SupervisedObjective::evaluate on a small Mlp.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diagnostics_test_util.hpp"
#include "minibatch/diagnostics.hpp"
#include "minibatch/models.hpp"

namespace mb = minibatch;
using namespace diagnostics_testing;

TEST_CASE("linspace: count points, exact ends, 0 and 1 exact in linspace(−1, 2, 31)") {
  const auto alphas = mb::linspace(-1, 2, 31);
  REQUIRE(alphas.size() == 31);
  CHECK(alphas.front() == -1.0);
  CHECK(alphas.back() == 2.0);
  CHECK(alphas[10] == 0.0);
  CHECK(alphas[20] == 1.0);
  CHECK(alphas[1] == doctest::Approx(-0.9));
  CHECK(mb::linspace(3, 3, 1) == std::vector<double>{3.0});
  CHECK_THROWS_AS(mb::linspace(0, 1, 1), mb::value_error);
}

TEST_CASE("Interpolation on a quadratic: exact at α = 0 and 1, the analytic parabola everywhere") {
  const mb::index_t n = 5;
  Quadratic<double> q{n, random_symmetric(n, 41), {}, 3};
  for (std::uint64_t i = 0; i < 6; ++i) q.c.push_back(random_vector(n, 50 + i));
  const std::vector<double> a_host = random_vector(n, 42), b_host = random_vector(n, 43);
  mb::Tensor<double> theta_a(mb::Shape{n}, a_host), theta_b(mb::Shape{n}, b_host);
  const std::vector<mb::index_t> subset{4, 1, 5};
  const std::vector<mb::InterpolationTarget<Quadratic<double>>> targets{{&q}, {&q, subset}};  // all examples, a subset
  const auto alphas = mb::linspace(-1, 2, 31);
  const auto rows = mb::interpolation_curve(targets, theta_a.view(), theta_b.view(), alphas);
  REQUIRE(rows.size() == alphas.size());

  const std::vector<mb::index_t> all = mb::all_indices(q.size());
  const std::vector<mb::index_t>* sets[] = {&all, &subset};
  std::vector<double> d(n);
  for (mb::index_t i = 0; i < n; ++i) d[i] = b_host[i] - a_host[i];
  const std::vector<double> Ad = multiply(q.A, d);
  double dAd = 0;
  for (mb::index_t i = 0; i < n; ++i) dAd += d[i] * Ad[i];
  for (mb::index_t t = 0; t < 2; ++t) {
    CAPTURE(t);
    const auto& S = *sets[t];
    // f(θ_a + αd) = f(θ_a) + α·∇f(θ_a)ᵀd + ½α²·dᵀAd
    const double f_a = q.value(a_host, S);
    const std::vector<double> g_a = q.gradient(a_host, S);
    double slope = 0;
    for (mb::index_t i = 0; i < n; ++i) slope += g_a[i] * d[i];
    CHECK(std::abs(rows[10].loss[t] - f_a) <= 1e-12 * std::abs(f_a));
    CHECK(std::abs(rows[20].loss[t] - q.value(b_host, S)) <= 1e-12 * std::abs(q.value(b_host, S)));
    double worst = 0;
    for (const auto& row : rows) {
      const double parabola = f_a + row.alpha * slope + 0.5 * row.alpha * row.alpha * dAd;
      worst = std::max(worst, std::abs(row.loss[t] - parabola) / (1 + std::abs(parabola)));
      CHECK(std::isnan(row.accuracy[t]));
    }
    CHECK(worst <= 1e-12);
  }
}

TEST_CASE("Interpolation between two Mlp solutions: train/test loss and accuracy from evaluate()") {
  const auto train = random_classification(40, 4, 3, 61);
  const auto test = random_classification(25, 4, 3, 62);
  mb::Mlp<double> net_a({4, 6, 3}, mb::Activation::relu, 63), net_b({4, 6, 3}, mb::Activation::relu, 64);
  using Objective = mb::ClassificationObjective<double>;
  Objective train_objective(net_a, train, 16), test_objective(net_a, test, 16);
  const std::vector<mb::index_t> subset{3, 7, 11, 30};
  const std::vector<mb::InterpolationTarget<Objective>> targets{
      {&train_objective}, {&test_objective}, {&train_objective, subset}};
  const auto theta_a = net_a.params().flat();
  const auto theta_b = net_b.params().flat();
  const auto rows = mb::interpolation_curve(targets, theta_a, theta_b, mb::linspace(-1, 2, 31));
  REQUIRE(rows.size() == 31);

  for (auto [row, theta] : {std::pair{rows[10], theta_a}, std::pair{rows[20], theta_b}}) {
    const mb::Evaluation on_train = train_objective.evaluate(theta), on_test = test_objective.evaluate(theta);
    CHECK(std::abs(row.loss[0] - on_train.loss) <= 1e-12 * on_train.loss);
    CHECK(std::abs(row.loss[1] - on_test.loss) <= 1e-12 * on_test.loss);
    CHECK(row.accuracy[0] == on_train.accuracy);
    CHECK(row.accuracy[1] == on_test.accuracy);
    mb::Tensor<double> grad(mb::Shape{theta.size()});
    const double subset_loss = mb::full_loss_and_gradient(train_objective, theta, subset, grad.view());
    CHECK(std::abs(row.loss[2] - subset_loss) <= 1e-12 * subset_loss);
    CHECK(std::isnan(row.accuracy[2]));
  }
  for (const auto& row : rows) {
    CHECK(row.accuracy[0] >= 0.0);
    CHECK(row.accuracy[0] <= 1.0);
    CHECK(std::isfinite(row.loss[1]));
  }
  std::vector<mb::InterpolationTarget<Objective>> none;
  CHECK_THROWS_AS(mb::interpolation_curve(none, theta_a, theta_b, mb::linspace(0, 1, 2)), mb::value_error);
}
