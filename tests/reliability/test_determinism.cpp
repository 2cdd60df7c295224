// Determinism and divergence of training on the CPU.
//
// Determinism: the same seeds (data, weights, sampler) give bitwise identical weights
// after N steps of fit — twice in one process, and with Eigen asked for 1 and 2 threads.
// Eigen threads its matrix products only when compiled with OpenMP (EIGEN_HAS_OPENMP).
// The library's build has no OpenMP: Eigen::setNbThreads is then a no-op, nbThreads()
// stays 1, and the thread test can only show that asking for 2 threads changes nothing.
// Under OpenMP the test is a real guard: its first product is 64 × 400 × 64, big enough
// for Eigen to split, and deeper than the 320-deep panels Eigen's parallel GEMM blocks
// the sum into, so the sum runs in another order than at one thread and the bits differ
// (measured with Eigen 3.4 and -fopenmp: a third of the weights differ after 8 steps).
// Bitwise determinism across thread counts therefore needs Eigen not to thread
// (no OpenMP, or EIGEN_DONT_PARALLELIZE).
//
// Divergence: an lr that blows up stops fit with divergence_error naming the first bad
// step, and the parameters equal, bit for bit, those an on_step callback saw after the
// last good step.
#include <doctest/doctest.h>

#include <Eigen/Core>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "minibatch/data/synthetic.hpp"
#include "minibatch/train.hpp"

namespace mb = minibatch;

namespace {

template <class T>
std::vector<T> weights_of(const mb::Mlp<T>& model) {
  const auto flat = model.params().flat();
  return std::vector<T>(flat.data(), flat.data() + flat.size());
}

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Weights after `epochs` epochs of momentum SGD on shuffled minibatches of blobs, everything
// seeded; 256 rows / 64 per batch = 4 steps per epoch.
constexpr mb::index_t inputs = 400;
std::vector<float> train(std::uint64_t seed, mb::index_t epochs) {
  const auto data = mb::data::make_blobs(256, inputs, 4, 0.8, seed);
  mb::Mlp<float> model({inputs, 64, 4}, mb::Activation::relu, seed + 1);
  mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
  mb::ShuffledSampler sampler({.batch_size = 64, .seed = seed + 2});
  const auto result = mb::fit(model, data, opt, sampler, {.epochs = epochs, .evaluate_train = false});
  REQUIRE(result.history.steps == 4 * epochs);
  return weights_of(model);
}

// Restores Eigen's thread count when a test ends, pass or fail.
struct EigenThreads {
  int saved = Eigen::nbThreads();
  explicit EigenThreads(int n) { Eigen::setNbThreads(n); }
  ~EigenThreads() { Eigen::setNbThreads(saved); }
};

}  // namespace

TEST_CASE("determinism: the same seeds give bitwise identical weights, twice in one process") {
  const std::vector<float> first = train(21, 2);
  const std::vector<float> second = train(21, 2);
  CHECK(bitwise_equal(first, second));
  const std::vector<float> initial = weights_of(mb::Mlp<float>({inputs, 64, 4}, mb::Activation::relu, 22));
  CHECK_FALSE(bitwise_equal(first, initial));  // training moved the weights
  CHECK_FALSE(bitwise_equal(first, train(23, 2)));  // and the seeds matter
  for (const float w : first) REQUIRE(std::isfinite(w));
}

TEST_CASE("determinism: 1 and 2 Eigen threads give bitwise identical weights") {
  std::vector<float> one, two;
  {
    EigenThreads threads(1);
    CHECK(Eigen::nbThreads() == 1);
    one = train(31, 2);
  }
  {
    EigenThreads threads(2);
#ifdef EIGEN_HAS_OPENMP
    CHECK(Eigen::nbThreads() == 2);
#else
    CHECK(Eigen::nbThreads() == 1);  // no OpenMP: Eigen ignores the request
#endif
    two = train(31, 2);
  }
  CHECK(bitwise_equal(one, two));
}

TEST_CASE("divergence: fit stops at the first non-finite step and keeps the last good weights") {
  // Weights and gradients of a deep ReLU net grow together at this lr until a product
  // overflows float, several steps in.
  const auto data = mb::data::make_blobs(200, 8, 3, 0.5, 41);
  mb::Mlp<float> model({8, 32, 32, 32, 3}, mb::Activation::relu, 42);
  mb::GradientDescent<float> opt({.lr = 40.0f});
  mb::SequentialSampler sampler({.batch_size = 50});
  std::vector<float> last_good = weights_of(model);
  std::optional<mb::index_t> last_good_step;
  auto snapshot = mb::on_step([&](const mb::StepInfo& s) {
    last_good = weights_of(model);
    last_good_step = s.step;
  });
  std::string message;
  try {
    mb::fit(model, data, opt, sampler, {.epochs = 100, .evaluate_train = false}, snapshot);
  } catch (const mb::divergence_error& e) {
    message = e.what();
  }
  REQUIRE_MESSAGE(!message.empty(), "fit did not diverge");
  REQUIRE(last_good_step.has_value());
  CHECK(*last_good_step >= 1);  // a real run of good steps before the blow-up
  const std::string bad_step = "at step " + std::to_string(*last_good_step + 1) + " ";
  INFO("message: ", message);
  CHECK(message.find(bad_step) != std::string::npos);
  CHECK(bitwise_equal(weights_of(model), last_good));
}

TEST_CASE("divergence: a non-finite first step leaves the initial weights untouched") {
  const auto data = mb::data::make_blobs(100, 4, 2, 0.5, 51);
  auto poisoned = data;
  poisoned.features[0] = std::numeric_limits<float>::infinity();
  mb::Mlp<float> model({4, 8, 2}, mb::Activation::relu, 52);
  const std::vector<float> initial = weights_of(model);
  mb::GradientDescent<float> opt({.lr = 0.1f});
  mb::SequentialSampler sampler({.batch_size = 25});
  try {
    mb::fit(model, poisoned, opt, sampler, {.epochs = 1, .evaluate_train = false});
    FAIL("a non-finite input did not stop training");
  } catch (const mb::divergence_error& e) {
    CHECK(std::string(e.what()).find("at step 0 ") != std::string::npos);
  }
  CHECK(bitwise_equal(weights_of(model), initial));
}

// At an lr near FLT_MAX, step 0 has a finite loss and gradient but its update overflows
// the weights to ±inf; fit (keep_last_good) checks θ after the update and undoes it.
TEST_CASE("divergence: an update that overflows the weights keeps the weights before it") {
  const auto data = mb::data::make_blobs(200, 5, 3, 50.0, 8);
  mb::Mlp<float> model({5, 8, 3}, mb::Activation::relu, 9);
  const std::vector<float> initial = weights_of(model);
  mb::GradientDescent<float> opt({.lr = 3.4e38f});
  mb::SequentialSampler sampler({.batch_size = 50});
  CHECK_THROWS_AS(mb::fit(model, data, opt, sampler, {.epochs = 1, .evaluate_train = false}), mb::divergence_error);
  for (const float w : weights_of(model)) REQUIRE(std::isfinite(w));
  CHECK(bitwise_equal(weights_of(model), initial));
}
