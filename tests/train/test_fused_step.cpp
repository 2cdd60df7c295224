// train_loop's fused update (SgdOptions::fuse_update, train/loop.hpp): with nothing reading
// the whole gradient, an element-wise optimizer (GradientDescent, Momentum, Adam, …) is
// applied inside backward, and the run ends at exactly the parameters and losses of the
// unfused loop; an optimizer that cannot take parts (LARS), or a loop that records ‖g‖,
// runs unfused.
#include <doctest/doctest.h>

#include <vector>

#include "minibatch/adam.hpp"
#include "minibatch/data/synthetic.hpp"
#include "minibatch/gd.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/samplers.hpp"
#include "minibatch/train.hpp"

namespace mb = minibatch;

namespace {
struct Run {
  std::vector<float> params;
  mb::History history;
};

// A counting wrapper: how many times the loop called step() (the unfused path) or
// step_in_parts() (the fused one).
template <class Opt>
struct Counted : Opt {
  using Opt::Opt;
  int whole = 0, parts = 0;
  void step(mb::TensorView<float> p, mb::TensorView<const float> g) {
    ++whole;
    Opt::step(p, g);
  }
  template <class Produce>
  void step_in_parts(mb::TensorView<float> p, Produce&& produce)
    requires mb::PartwiseRule<Opt>
  {
    ++parts;
    Opt::step_in_parts(p, produce);
  }
};

template <class Opt>
Run train(Opt& opt, mb::index_t batch, mb::SgdOptions options, int* whole = nullptr, int* parts = nullptr) {
  const auto data = mb::data::make_blobs(300, 24, 5, 0.7, 4);
  const auto tensors = mb::to_tensors<float>(data);
  mb::Mlp<float> model({24, 40, 20, 5}, mb::Activation::relu, 8);
  mb::ClassificationObjective<float> objective(model, tensors, batch);
  mb::Tensor<float> grad(mb::Shape{model.params().size()});
  mb::ShuffledSampler sampler({.batch_size = batch, .seed = 2});
  Run r;
  r.history = mb::train_loop(opt, sampler, objective, model.params().flat(), grad.view(), options);
  const auto flat = model.params().flat();
  r.params.assign(flat.data(), flat.data() + flat.size());
  if constexpr (requires { opt.whole; }) {
    *whole = opt.whole;
    *parts = opt.parts;
  }
  return r;
}

constexpr mb::SgdOptions nothing_reads_g{.epochs = 3, .record_grad_norm = false, .stop_on_non_finite = false};
}  // namespace

TEST_CASE("a fused train_loop follows the unfused one to the bit") {
  mb::SgdOptions unfused = nothing_reads_g;
  unfused.fuse_update = false;
  for (const mb::index_t batch : {1, 10, 16, 32, 300}) {
    CAPTURE(batch);
    {
      Counted<mb::Momentum<float>> a({.lr = 0.05f, .momentum = 0.9f}), b({.lr = 0.05f, .momentum = 0.9f});
      int whole_a = 0, parts_a = 0, whole_b = 0, parts_b = 0;
      const Run fused = train(a, batch, nothing_reads_g, &whole_a, &parts_a);
      const Run plain = train(b, batch, unfused, &whole_b, &parts_b);
      CHECK(whole_a == 0);
      CHECK(parts_a == fused.history.steps);
      CHECK(parts_b == 0);
      CHECK(whole_b == plain.history.steps);
      REQUIRE(fused.history.loss.size() == plain.history.loss.size());
      for (std::size_t i = 0; i < fused.history.loss.size(); ++i) REQUIRE(fused.history.loss[i] == plain.history.loss[i]);
      for (std::size_t i = 0; i < fused.params.size(); ++i) REQUIRE(fused.params[i] == plain.params[i]);
    }
    {
      mb::Momentum<float> a({.lr = 0.05f, .momentum = 0.9f, .nesterov = true, .form = mb::MomentumForm::pytorch});
      mb::Momentum<float> b(a.options());
      const Run fused = train(a, batch, nothing_reads_g), plain = train(b, batch, unfused);
      for (std::size_t i = 0; i < fused.params.size(); ++i) REQUIRE(fused.params[i] == plain.params[i]);
    }
    {
      mb::GradientDescent<float> a({.lr = 0.1f}), b({.lr = 0.1f});
      const Run fused = train(a, batch, nothing_reads_g), plain = train(b, batch, unfused);
      for (std::size_t i = 0; i < fused.params.size(); ++i) REQUIRE(fused.params[i] == plain.params[i]);
    }
    {
      Counted<mb::AdamW<float>> a({.lr = 0.01f}), b({.lr = 0.01f});
      int whole = 0, parts = 0, unused = 0;
      const Run fused = train(a, batch, nothing_reads_g, &whole, &parts);
      const Run plain = train(b, batch, unfused, &unused, &unused);
      CHECK(parts == fused.history.steps);
      for (std::size_t i = 0; i < fused.params.size(); ++i) REQUIRE(fused.params[i] == plain.params[i]);
    }
  }
}

TEST_CASE("the loop does not fuse when it records the gradient norm or guards against divergence") {
  for (const bool record : {false, true}) {
    mb::SgdOptions options = nothing_reads_g;
    options.record_grad_norm = record;
    options.stop_on_non_finite = !record;
    Counted<mb::Momentum<float>> opt({.lr = 0.05f, .momentum = 0.9f});
    int whole = 0, parts = 0;
    const Run r = train(opt, 10, options, &whole, &parts);
    CHECK(parts == 0);
    CHECK(whole == r.history.steps);
  }
  // LARS needs each layer's whole gradient (its trust ratio): the options that would fuse
  // leave it on step()
  static_assert(!mb::PartwiseRule<mb::LARS<float>>);
  Counted<mb::LARS<float>> lars({.lr = 0.01f});
  int whole = 0, parts = 0;
  const Run r = train(lars, 10, nothing_reads_g, &whole, &parts);
  CHECK(whole == r.history.steps);
  CHECK(parts == 0);
}
