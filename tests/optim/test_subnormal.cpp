// The decaying optimizer state (momentum buffers, Adam's and LAMB's moments) is stored
// through kernels::flush_subnormal: once a parameter's gradient stops, its state decays to
// exactly 0 instead of lingering in the subnormal range, where every x86 multiply-add on it
// takes a microcode assist.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "minibatch/adam.hpp"
#include "minibatch/kernels/subnormal.hpp"
#include "minibatch/lamb.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/momentum.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;

TEST_CASE("flush_subnormal: below the smallest normal number is 0, everything else passes") {
  using mb::kernels::flush_subnormal;
  const float tiny = 0x1p-126f;
  CHECK(flush_subnormal(tiny) == tiny);
  CHECK(flush_subnormal(-tiny) == -tiny);
  CHECK(flush_subnormal(0.75f * tiny) == 0.0f);
  CHECK(flush_subnormal(-0x1p-149f) == 0.0f);
  CHECK(flush_subnormal(1.5f) == 1.5f);
  CHECK(std::isnan(flush_subnormal(std::nanf(""))));
  CHECK(std::isinf(flush_subnormal(-INFINITY)));
  CHECK(flush_subnormal(0x1p-1022) == 0x1p-1022);
  CHECK(flush_subnormal(0x1p-1023) == 0.0);
}

TEST_CASE("Momentum (lecture form): a velocity that decays below 2^-126 becomes 0, by hand") {
  // η = 1, λ = 0.5. Step 1, g = (−1.5·2⁻¹²⁶, −1): m = (1.5·2⁻¹²⁶, 1), θ = m.
  // Step 2, g = 0: m = 0.5·m = (0.75·2⁻¹²⁶ — subnormal, stored as 0, 0.5); θ = (1.5·2⁻¹²⁶, 1.5).
  const float tiny = 0x1p-126f;
  mb::Tensor<float> theta{0.0f, 0.0f}, g{-1.5f * tiny, -1.0f}, zero{0.0f, 0.0f};
  mb::Momentum<float> opt({.lr = 1.0f, .momentum = 0.5f});
  opt.step(theta, g);
  CHECK(opt.velocity()[0] == 1.5f * tiny);
  opt.step(theta, zero);
  CHECK(opt.velocity()[0] == 0.0f);
  CHECK(opt.velocity()[1] == 0.5f);
  CHECK(theta[0] == 1.5f * tiny);
  CHECK(theta[1] == 1.5f);
}

TEST_CASE("Momentum (PyTorch form): v = g on the first step is flushed too, by hand") {
  // μ = 0.5, η = 1: v¹ = g = (0.5·2⁻¹²⁶ → 0, 2), θ = −v¹ = (0, −2).
  const float tiny = 0x1p-126f;
  mb::Tensor<float> theta{0.0f, 0.0f}, g{0.5f * tiny, 2.0f};
  mb::Momentum<float> opt({.lr = 1.0f, .momentum = 0.5f, .form = mb::MomentumForm::pytorch});
  opt.step(theta, g);
  CHECK(opt.velocity()[0] == 0.0f);
  CHECK(opt.velocity()[1] == 2.0f);
  CHECK(theta[0] == 0.0f);
  CHECK(theta[1] == -2.0f);
}

namespace {
// One step with a small random gradient, then `steps` steps with g = 0; after every step
// no state entry may be subnormal, and at the end every one must be exactly 0.
template <class Opt, class StateOf>
void decays_to_zero(Opt opt, StateOf states, int steps) {
  mb::Rng rng(5);
  mb::ParamBuffer<float> theta(optim_test::three_slices()), g(optim_test::three_slices()),
      zero(optim_test::three_slices());
  optim_test::fill_normal(theta.flat(), rng);
  optim_test::fill_normal(g.flat(), rng, 1e-3);
  opt.step(theta, g);
  int subnormal_seen = 0;
  for (int s = 0; s < steps; ++s) {
    opt.step(theta, zero);
    for (const mb::Tensor<float>* state : states(opt))
      for (mb::index_t i = 0; i < state->size(); ++i)
        subnormal_seen += std::fpclassify((*state)[i]) == FP_SUBNORMAL;
  }
  CHECK(subnormal_seen == 0);
  for (const mb::Tensor<float>* state : states(opt))
    for (mb::index_t i = 0; i < state->size(); ++i) CHECK((*state)[i] == 0.0f);
  for (mb::index_t i = 0; i < theta.flat().size(); ++i) CHECK(std::isfinite(theta.flat()[i]));
}

template <class Opt>
std::vector<const mb::Tensor<float>*> velocity_of(const Opt& opt) {
  return {&opt.velocity()};
}
template <class Opt>
std::vector<const mb::Tensor<float>*> moments_of(const Opt& opt) {
  return {&opt.exp_avg(), &opt.exp_avg_sq()};
}
}  // namespace

TEST_CASE("decaying state never holds a subnormal float and ends at exactly 0 (float32)") {
  // From |m| ≈ 1e-3, a factor 0.9 per step reaches 2⁻¹²⁶ after about 800 steps and would
  // stay subnormal for about 150 more: 1200 steps see the whole way down.
  constexpr int steps = 1200;
  SUBCASE("Momentum") { decays_to_zero(mb::Momentum<float>({.momentum = 0.9f}), velocity_of<mb::Momentum<float>>, steps); }
  SUBCASE("Momentum, Nesterov") {
    decays_to_zero(mb::Momentum<float>({.momentum = 0.9f, .nesterov = true}), velocity_of<mb::Momentum<float>>, steps);
  }
  SUBCASE("Momentum, PyTorch form") {
    decays_to_zero(mb::Momentum<float>({.momentum = 0.9f, .form = mb::MomentumForm::pytorch}),
                   velocity_of<mb::Momentum<float>>, steps);
  }
  SUBCASE("LARS") { decays_to_zero(mb::LARS<float>({.momentum = 0.9f}), velocity_of<mb::LARS<float>>, steps); }
  // β₂ = 0.9 so that v, too, gets there within the steps.
  SUBCASE("Adam") { decays_to_zero(mb::Adam<float>({.beta2 = 0.9f}), moments_of<mb::Adam<float>>, steps); }
  SUBCASE("AdamW") {
    decays_to_zero(mb::AdamW<float>({.beta2 = 0.9f, .weight_decay = 0.0f}), moments_of<mb::AdamW<float>>, steps);
  }
  SUBCASE("LAMB") { decays_to_zero(mb::LAMB<float>({.beta2 = 0.9f}), moments_of<mb::LAMB<float>>, steps); }
}
