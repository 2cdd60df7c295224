// train_loop's read-back modes (train/loop.hpp) on the cpu, where both can be checked
// against each other: per_epoch (the GPU's default) records the same step losses and
// gradient norms as every_step, names a divergence when it reads the epoch, and
// keep_last_good undoes an update that overflows the weights.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "minibatch/data/synthetic.hpp"
#include "minibatch/train.hpp"

namespace mb = minibatch;

namespace {

struct Run {
  mb::History history;
  std::vector<float> weights;
};

// Momentum SGD on blobs; `weights` receives the parameters even when the run throws.
template <class... Callbacks>
mb::History train(mb::SgdOptions options, float lr, std::vector<float>& weights, double spread,
                  Callbacks&&... callbacks) {
  const auto data = mb::to_tensors<float>(mb::data::make_blobs(600, 8, 3, spread, 21));
  mb::Mlp<float> net({8, 16, 3}, mb::Activation::tanh, 4);
  mb::ClassificationObjective<float> objective(net, data, 50);
  mb::SGD sgd(mb::Momentum<float>({.lr = lr, .momentum = 0.9f}), mb::ShuffledSampler({.batch_size = 50, .seed = 6}));
  struct Keep {
    mb::TensorView<float> params;
    std::vector<float>& out;
    ~Keep() { out = params.to_vector(); }
  } keep{net.params().flat(), weights};
  return sgd.run(objective, net.params().flat(), options, callbacks...);
}

template <class... Callbacks>
Run run(mb::SgdOptions options, float lr, Callbacks&&... callbacks) {
  Run r;
  r.history = train(options, lr, r.weights, 0.5, callbacks...);
  return r;
}

// The message of the divergence_error that f throws ("" and a failure if it throws none).
template <class F>
std::string divergence_message(F&& f) {
  try {
    f();
  } catch (const mb::divergence_error& e) {
    MESSAGE(e.what());
    return e.what();
  }
  FAIL("expected a divergence_error");
  return "";
}

// Counts steps and declares that it does not need each step's loss.
struct Counter {
  static constexpr bool reads_step_loss = false;
  int steps = 0;
  double last_loss = 0;
  void on_step(const mb::StepInfo& s) { ++steps, last_loss = s.loss; }
};

// A backend tag that is not the cpu, for the read-back rule (only its type is used).
struct other_backend {};

}  // namespace

TEST_CASE("read_back = per_epoch records the losses and gradient norms of every_step, bit for bit") {
  const Run each = run({.epochs = 3, .read_back = mb::ReadBack::every_step}, 0.1f);
  const Run lazy = run({.epochs = 3, .read_back = mb::ReadBack::per_epoch}, 0.1f);
  REQUIRE(each.history.loss.size() == 36);
  CHECK(lazy.history.loss == each.history.loss);
  CHECK(lazy.history.epoch_loss == each.history.epoch_loss);
  CHECK(lazy.weights == each.weights);
  REQUIRE(lazy.history.grad_norm.size() == 36);
  for (std::size_t k = 0; k < 36; ++k)  // ‖g‖ from a sum of squares vs the norm kernel
    CHECK(lazy.history.grad_norm[k] == doctest::Approx(each.history.grad_norm[k]).epsilon(1e-12));
}

TEST_CASE("read_back = automatic: every step on the cpu; a callback that ignores the loss does not force it") {
  Counter counter;
  run({.epochs = 1}, 0.1f, counter);
  CHECK(counter.steps == 12);
  CHECK(std::isfinite(counter.last_loss));  // the cpu reads every step anyway
  static_assert(!mb::detail::reads_every_step<other_backend, Counter>(mb::ReadBack::automatic));
  static_assert(mb::detail::reads_every_step<other_backend, mb::ProgressBar>(mb::ReadBack::automatic));
  static_assert(mb::detail::reads_every_step<mb::cpu, Counter>(mb::ReadBack::automatic));
  static_assert(!mb::detail::reads_every_step<mb::cpu>(mb::ReadBack::per_epoch));
}

TEST_CASE("read_back = per_epoch: a divergence is named when the epoch is read") {
  std::vector<float> weights;
  const std::string what = divergence_message(
      [&] { train({.epochs = 2, .read_back = mb::ReadBack::per_epoch}, 3.4e38f, weights, 50.0); });
  CHECK(what.find("read_back = per_epoch") != std::string::npos);
  CHECK(what.find("epoch 0") != std::string::npos);
}

TEST_CASE("keep_last_good: an update that overflows finite weights is undone before the error") {
  // Spread 50: gradients large enough that the first update at lr 3.4e38 overflows.
  std::vector<float> initial, kept, overflowed;
  train({.epochs = 0}, 0.1f, initial, 50.0);
  const std::string what =
      divergence_message([&] { train({.epochs = 1, .keep_last_good = true}, 3.4e38f, kept, 50.0); });
  CHECK(what.find("made the parameters non-finite") != std::string::npos);
  CHECK(what.find("step 0 ") != std::string::npos);
  CHECK(kept == initial);
  // Without it the loop notices one step later, with the overflowed weights in place.
  const std::string later = divergence_message([&] { train({.epochs = 1}, 3.4e38f, overflowed, 50.0); });
  CHECK(later.find("at step 1 ") != std::string::npos);
  bool all_finite = true;
  for (const float w : overflowed) all_finite = all_finite && std::isfinite(w);
  CHECK_FALSE(all_finite);
}
