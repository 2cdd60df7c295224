#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <string>

#include "least_squares.hpp"
#include "minibatch/sgd.hpp"

namespace mb = minibatch;
using testing_objectives::DiagonalQuadratic;
using testing_objectives::LeastSquares;

namespace {
// The normal-equations solution (AᵀA) θ = Aᵀb, solved by Eigen independently of the loop.
Eigen::VectorXd normal_equations(const LeastSquares& p) {
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> A(
      p.A.data(), static_cast<Eigen::Index>(p.rows), static_cast<Eigen::Index>(p.cols));
  Eigen::Map<const Eigen::VectorXd> b(p.b.data(), static_cast<Eigen::Index>(p.rows));
  return (A.transpose() * A).ldlt().solve(A.transpose() * b);
}

double max_error(const mb::Tensor<double>& theta, const Eigen::VectorXd& solution) {
  double worst = 0;
  for (mb::index_t j = 0; j < theta.size(); ++j)
    worst = std::max(worst, std::abs(theta[j] - solution[static_cast<Eigen::Index>(j)]));
  return worst;
}
}  // namespace

static_assert(mb::SeparableObjective<LeastSquares, double>);
static_assert(!mb::SeparableObjective<int, double>);
static_assert(mb::UpdateRule<mb::Momentum<double>>);
static_assert(mb::UpdateRule<mb::GradientDescent<float>>);

TEST_CASE("Vanilla GD = SGD<GradientDescent, FullBatchSampler> converges to the normal-equations solution") {
  const LeastSquares problem(200, 5, 0.3, 1);
  const auto solution = normal_equations(problem);
  mb::Tensor<double> theta(mb::Shape{5});
  mb::SGD<mb::GradientDescent<double>, mb::FullBatchSampler> gd(mb::GradientDescent<double>({.lr = 0.3}), {});
  const auto history = gd.run(problem, theta, {.epochs = 300});
  CHECK(history.steps == 300);  // one update per epoch
  CHECK(history.loss.size() == 300);
  CHECK(history.loss.back() < history.loss.front());
  CHECK(max_error(theta, solution) < 1e-9);
}

TEST_CASE("Minibatch SGD with a decaying lr converges to the normal-equations solution") {
  const LeastSquares problem(200, 5, 0.3, 2);
  const auto solution = normal_equations(problem);
  mb::Tensor<double> theta(mb::Shape{5});
  mb::SGD sgd(mb::GradientDescent<double>({.lr = 0.1}), mb::ShuffledSampler({.batch_size = 10, .seed = 3}));
  auto decay = mb::on_epoch([&](const mb::EpochInfo& e) { sgd.rule().set_lr(0.1 * std::pow(0.9, double(e.epoch + 1))); });
  const auto history = sgd.run(problem, theta, {.epochs = 200}, decay);
  CHECK(history.steps == 200 * 20);
  CHECK(max_error(theta, solution) < 1e-3);
}

TEST_CASE("SGD with momentum converges to the normal-equations solution") {
  const LeastSquares problem(200, 5, 0.3, 4);
  const auto solution = normal_equations(problem);
  mb::Tensor<double> theta(mb::Shape{5});
  mb::SGD sgd(mb::Momentum<double>({.lr = 0.01, .momentum = 0.9}), mb::ShuffledSampler({.batch_size = 10, .seed = 5}));
  auto decay = mb::on_epoch([&](const mb::EpochInfo& e) { sgd.rule().set_lr(0.01 * std::pow(0.9, double(e.epoch + 1))); });
  sgd.run(problem, theta, {.epochs = 200}, decay);
  CHECK(max_error(theta, solution) < 1e-3);
}

TEST_CASE("Momentum needs far fewer steps than GD on an ill-conditioned quadratic (κ = 100)") {
  // Optimal tunings for eigenvalues μ = 1, L = 100: GD η = 2/(L+μ); heavy ball
  // η = 4/(√L+√μ)², λ = ((√κ−1)/(√κ+1))². Count steps until ‖θ‖ < 1e-8.
  const DiagonalQuadratic quad{{1.0, 100.0}};
  auto steps_to_converge = [&](auto rule) {
    mb::Tensor<double> theta{1.0, 1.0};
    mb::SGD sgd(std::move(rule), mb::FullBatchSampler{});
    auto converged = mb::stop_when([&] { return std::hypot(theta[0], theta[1]) < 1e-8; });
    const auto history = sgd.run(quad, theta, {.epochs = 100000}, converged);
    REQUIRE(history.stopped);
    return history.steps;
  };
  const auto gd_steps = steps_to_converge(mb::GradientDescent<double>({.lr = 2.0 / 101.0}));
  const auto hb_steps = steps_to_converge(mb::Momentum<double>({.lr = 4.0 / 121.0, .momentum = 81.0 / 121.0}));
  MESSAGE("GD steps: " << gd_steps << ", momentum steps: " << hb_steps);
  CHECK(hb_steps * 4 < gd_steps);
}

TEST_CASE("SGD callbacks: per step, per epoch, stop request, and the history") {
  const LeastSquares problem(30, 3, 0.1, 6);
  mb::Tensor<double> theta(mb::Shape{3});
  mb::SGD sgd(mb::GradientDescent<double>({.lr = 0.05}), mb::SequentialSampler({.batch_size = 8}));
  int steps_seen = 0, epochs_seen = 0;
  mb::index_t last_batch_size = 0;
  auto count_steps = mb::on_step([&](const mb::StepInfo& s) {
    CHECK(s.step == mb::index_t(steps_seen));
    CHECK(std::isfinite(s.grad_norm));
    last_batch_size = s.batch_size;
    ++steps_seen;
  });
  auto count_epochs = mb::on_epoch([&](const mb::EpochInfo& e) {
    CHECK(e.steps == 4);
    ++epochs_seen;
  });
  const auto history = sgd.run(problem, theta, {.epochs = 3}, count_steps, count_epochs);
  CHECK(steps_seen == 12);
  CHECK(epochs_seen == 3);
  CHECK(last_batch_size == 6);  // 30 = 8 + 8 + 8 + 6
  CHECK(history.grad_norm.size() == 12);
  CHECK(history.epoch_loss.size() == 3);
  CHECK(history.step_seconds.size() == 12);
  CHECK_FALSE(history.stopped);

  int updates = 0;
  auto count = mb::on_step([&](const mb::StepInfo&) { ++updates; });
  auto stop_after_5 = mb::stop_when([&] { return updates >= 5; });
  const auto stopped = sgd.run(problem, theta, {.epochs = 10}, count, stop_after_5);
  CHECK(stopped.stopped);
  CHECK(stopped.steps == 5);
}

TEST_CASE("SGD divergence guard: a non-finite loss stops with an error naming the step, weights kept") {
  const DiagonalQuadratic quad{{1.0, 100.0}};
  mb::Tensor<double> theta{1.0, 1.0};
  mb::SGD sgd(mb::GradientDescent<double>({.lr = 1.0}), mb::FullBatchSampler{});  // |1 − 100| > 1: diverges
  mb::Tensor<double> last_good = theta;
  auto remember = mb::on_step([&](const mb::StepInfo&) { last_good = theta; });
  try {
    sgd.run(quad, theta, {.epochs = 1000}, remember);
    FAIL("divergence not detected");
  } catch (const mb::divergence_error& e) {
    const std::string what = e.what();
    CHECK(what.find("non-finite") != std::string::npos);
    CHECK(what.find("at step ") != std::string::npos);
  }
  CHECK(std::isfinite(theta[1]));
  CHECK(theta[1] == last_good[1]);
}

namespace {
struct StepCounter {
  int steps = 0;
  void on_step(const mb::StepInfo&) { ++steps; }
};
struct MisspelledHook {
  void on_step(int) {}
};
}  // namespace
static_assert(mb::detail::callable_on_step<StepCounter>);
static_assert(mb::detail::has_on_step_member<MisspelledHook>);
static_assert(!mb::detail::callable_on_step<MisspelledHook>);  // check_callback rejects it at compile time

TEST_CASE("A user-written callback object is called") {
  const LeastSquares problem(16, 2, 0.1, 7);
  mb::Tensor<double> theta(mb::Shape{2});
  mb::SGD sgd(mb::GradientDescent<double>({.lr = 0.05}), mb::ShuffledSampler({.batch_size = 4, .seed = 1}));
  StepCounter counter;
  sgd.run(problem, theta, {.epochs = 2}, counter);
  CHECK(counter.steps == 8);
}
