// ε-sharpness (Keskar et al. 2017) by projected ascent in the box, against quadratics
// whose maximum over the box is known in closed form (a corner of the box).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diagnostics_test_util.hpp"
#include "minibatch/diagnostics.hpp"
#include "minibatch/models.hpp"

namespace mb = minibatch;
using namespace diagnostics_testing;

namespace {

// f(θ) = ½(a·θ₁² + b·θ₂²).
Quadratic<double> diagonal_2d(double a, double b) { return single_quadratic<double>({a, 0, 0, b}, 2); }

double phi(double max_loss, double loss) { return (max_loss - loss) / (1 + loss) * 100; }

}  // namespace

TEST_CASE("ε-sharpness of a 2-D quadratic: the ascent reaches the corner the gradient points to") {
  const double a = 2, b = 5, eps = 1e-3;
  Quadratic<double> q = diagonal_2d(a, b);
  mb::Tensor<double> theta{1.0, -2.0};
  const std::vector<mb::index_t> S{0};
  // Box half-widths ε(|θᵢ| + 1) = (2ε, 3ε); ∇f = (a, −2b) keeps its signs over the box, so
  // the maximum is at z = (+2ε, −3ε).
  const double loss = 0.5 * (a * 1 + b * 4);
  const double max_loss = 0.5 * (a * std::pow(1 + 2 * eps, 2) + b * std::pow(2 + 3 * eps, 2));

  auto check = [&](const mb::SharpnessResult& r, mb::index_t max_steps) {
    CHECK(r.loss == doctest::Approx(loss).epsilon(1e-14));
    CHECK(std::abs(r.max_loss - max_loss) <= 1e-6 * max_loss);
    CHECK(r.sharpness == doctest::Approx(phi(r.max_loss, r.loss)).epsilon(1e-12));
    CHECK(r.sharpness == doctest::Approx(phi(max_loss, loss)).epsilon(1e-6));
    CHECK(r.steps < max_steps);  // stopped at the corner before using every step
  };
  SUBCASE("sign steps from z = 0") {
    const auto r = mb::epsilon_sharpness(q, theta.view(), S, {.epsilon = eps});
    check(r, 20);
    CHECK(r.steps <= 5);  // η = 1/4 of the half-width per step
  }
  SUBCASE("sign steps from a random point of the box") {
    check(mb::epsilon_sharpness(q, theta.view(), S, {.epsilon = eps, .random_start = true, .seed = 7}), 20);
  }
  SUBCASE("gradient steps (slower: the small coordinate moves in proportion to wᵢgᵢ)") {
    check(mb::epsilon_sharpness(q, theta.view(), S, {.epsilon = eps, .steps = 200, .direction = mb::AscentStep::gradient}),
          200);
  }
}

TEST_CASE("ε-sharpness grows with the curvature and with ε") {
  mb::Tensor<double> theta{1.0, -2.0};
  const std::vector<mb::index_t> S{0};
  Quadratic<double> flat = diagonal_2d(2, 5), sharp = diagonal_2d(20, 50);
  const double phi_flat = mb::epsilon_sharpness(flat, theta.view(), S).sharpness;
  const double phi_sharp = mb::epsilon_sharpness(sharp, theta.view(), S).sharpness;
  CAPTURE(phi_flat);
  CAPTURE(phi_sharp);
  CHECK(phi_flat > 0);
  CHECK(phi_sharp > phi_flat);
  CHECK(mb::epsilon_sharpness(flat, theta.view(), S, {.epsilon = 5e-4}).sharpness < phi_flat);
}

TEST_CASE("ε-sharpness at an exact minimum: z = 0 cannot move (∇f = 0), a random start finds the corner") {
  Quadratic<double> q = single_quadratic<double>({4.0}, 1);  // f = 2θ², minimum at 0
  mb::Tensor<double> theta{0.0};
  const std::vector<mb::index_t> S{0};
  const auto stuck = mb::epsilon_sharpness(q, theta.view(), S, {.epsilon = 1e-3});
  CHECK(stuck.steps == 0);
  CHECK(stuck.sharpness == 0.0);
  const auto r = mb::epsilon_sharpness(q, theta.view(), S, {.epsilon = 1e-3, .random_start = true, .seed = 1});
  CHECK(r.loss == 0.0);
  CHECK(r.max_loss == doctest::Approx(2 * 1e-6).epsilon(1e-9));  // ½·4·ε²
  CHECK(r.sharpness == doctest::Approx(2e-4).epsilon(1e-9));

  CHECK_THROWS_AS(mb::epsilon_sharpness(q, theta.view(), S, {.epsilon = -1}), mb::value_error);
  CHECK_THROWS_AS(mb::epsilon_sharpness(q, theta.view(), S, {.step_size = 0}), mb::value_error);
}

TEST_CASE("ε-sharpness of a small Mlp: f(θ) is the full loss, the maximum is above it, φ follows") {
  const auto data = random_classification(30, 4, 3, 31);
  mb::Mlp<double> net({4, 6, 3}, mb::Activation::relu, 32);
  mb::ClassificationObjective<double> objective(net, data, 16);
  const auto theta = net.params().flat();
  const std::vector<mb::index_t> S = mb::all_indices(data.size());
  mb::Tensor<double> grad(mb::Shape{theta.size()});
  const double loss = mb::full_loss_and_gradient(objective, theta, S, grad.view());

  const auto r = mb::epsilon_sharpness(objective, theta, S, {.epsilon = 1e-3});
  const auto smaller = mb::epsilon_sharpness(objective, theta, S, {.epsilon = 5e-4});
  CAPTURE(r.sharpness);
  CAPTURE(smaller.sharpness);
  CHECK(r.loss == doctest::Approx(loss).epsilon(1e-14));
  CHECK(r.max_loss > r.loss);
  CHECK(r.sharpness == doctest::Approx(phi(r.max_loss, r.loss)).epsilon(1e-12));
  CHECK(r.steps <= 20);
  CHECK(smaller.sharpness < r.sharpness);
  CHECK(smaller.sharpness > 0);
}
