// step_in_parts: an element-wise optimizer's step from a gradient handed over in parts
// (optim/optimizer_base.hpp) is the same step, to the bit, as step() on the whole gradient,
// whatever the parts and their order; parts outside the parameters or not covering them
// are errors that name the numbers.
#include <doctest/doctest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "minibatch/adagrad.hpp"
#include "minibatch/adam.hpp"
#include "minibatch/gd.hpp"
#include "minibatch/lamb.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/rmsprop.hpp"
#include "optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::fill_normal;
using optim_test::message_of;

static_assert(mb::PartwiseRule<mb::GradientDescent<float>>);
static_assert(mb::PartwiseRule<mb::Momentum<double>>);
static_assert(mb::PartwiseRule<mb::Adam<float>>);
static_assert(mb::PartwiseRule<mb::AdamW<float>>);
static_assert(mb::PartwiseRule<mb::RMSProp<double>>);
static_assert(mb::PartwiseRule<mb::Adagrad<float>>);
static_assert(!mb::PartwiseRule<mb::LARS<float>>);  // a trust ratio per slice needs the whole slice
static_assert(!mb::PartwiseRule<mb::LAMB<float>>);

namespace {
// 37 parameters in parts [20, 37), [0, 7), [7, 7) (empty), [7, 20): out of order.
const std::vector<std::pair<mb::index_t, mb::index_t>> parts{{20, 17}, {0, 7}, {7, 0}, {7, 13}};

template <class Opt>
void check_same_as_whole_steps(typename Opt::Options options) {
  using T = typename Opt::value_type;
  const mb::index_t n = 37;
  mb::Rng rng(11);
  mb::Tensor<T> whole(mb::Shape{n}), in_parts(mb::Shape{n}), g(mb::Shape{n});
  fill_normal(whole.view(), rng);
  mb::memory<mb::cpu>::copy(in_parts.data(), whole.data(), n);
  Opt a(options), b(options);
  for (int step = 0; step < 4; ++step) {
    fill_normal(g.view(), rng, 0.5);
    a.step(whole.view(), mb::TensorView<const T>(g.view()));
    b.step_in_parts(in_parts.view(), [&](auto&& apply) {
      for (const auto& [offset, count] : parts) apply(offset, mb::TensorView<const T>(g.data() + offset, mb::Shape{count}));
    });
    CHECK(b.steps() == a.steps());
    for (mb::index_t i = 0; i < n; ++i) REQUIRE(in_parts[i] == whole[i]);
  }
}
}  // namespace

TEST_CASE("GradientDescent::step_in_parts is step on the assembled gradient") {
  check_same_as_whole_steps<mb::GradientDescent<float>>({.lr = 0.1f});
  check_same_as_whole_steps<mb::GradientDescent<double>>({.lr = 0.3});
}

TEST_CASE("Momentum::step_in_parts is step on the assembled gradient, in both forms") {
  using M = mb::Momentum<double>;
  check_same_as_whole_steps<M>({.lr = 0.1, .momentum = 0.9});
  check_same_as_whole_steps<M>({.lr = 0.1, .momentum = 0.9, .nesterov = true});
  // the PyTorch form's first step (v ← g) and later ones, with dampening and with Nesterov
  check_same_as_whole_steps<M>({.lr = 0.05, .momentum = 0.8, .form = mb::MomentumForm::pytorch, .dampening = 0.25});
  check_same_as_whole_steps<M>({.lr = 0.05, .momentum = 0.8, .nesterov = true, .form = mb::MomentumForm::pytorch});
  check_same_as_whole_steps<mb::Momentum<float>>({.lr = 0.01f, .momentum = 0.9f});
}

TEST_CASE("Adam, AdamW, RMSProp and Adagrad step_in_parts is step on the assembled gradient") {
  // bias corrections of steps 1-4, both weight decays, every RMSProp state, Adagrad's lr decay
  check_same_as_whole_steps<mb::Adam<double>>({.lr = 0.01, .weight_decay = 0.1});
  check_same_as_whole_steps<mb::Adam<float>>({.lr = 0.01f});
  check_same_as_whole_steps<mb::AdamW<double>>({.lr = 0.01, .weight_decay = 0.05});
  check_same_as_whole_steps<mb::RMSProp<double>>({.lr = 0.01});
  check_same_as_whole_steps<mb::RMSProp<double>>({.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9, .centered = true});
  check_same_as_whole_steps<mb::Adagrad<double>>({.lr = 0.1, .lr_decay = 0.5, .weight_decay = 0.2});
}

TEST_CASE("Momentum::step_in_parts by hand: each part updates its own θ and velocity") {
  // m ← 0.5·m − 0.1·g, θ ← θ + m from m = 0: θ = (1, 2, 3), g = (1, −2, 4) in parts {2}, {0, 1}
  mb::Tensor<double> theta(mb::Shape{3}, std::vector<double>{1, 2, 3});
  const std::vector<double> g{1, -2, 4};
  mb::Momentum<double> opt({.lr = 0.1, .momentum = 0.5});
  opt.step_in_parts(theta.view(), [&](auto&& apply) {
    apply(mb::index_t{2}, mb::TensorView<const double>(g.data() + 2, mb::Shape{1}));
    apply(mb::index_t{0}, mb::TensorView<const double>(g.data(), mb::Shape{2}));
  });
  CHECK(theta[0] == doctest::Approx(0.9));
  CHECK(theta[1] == doctest::Approx(2.2));
  CHECK(theta[2] == doctest::Approx(2.6));
  CHECK(opt.velocity()[2] == doctest::Approx(-0.4));
  CHECK(opt.steps() == 1);
}

TEST_CASE("step_in_parts rejects a part outside the parameters and parts that do not cover them") {
  mb::Tensor<float> theta(mb::Shape{10}), g(mb::Shape{10});
  mb::Momentum<float> opt({.lr = 0.1f, .momentum = 0.9f});
  const auto outside = message_of<mb::shape_error>([&] {
    opt.step_in_parts(theta.view(), [&](auto&& apply) { apply(mb::index_t{6}, mb::TensorView<const float>(g.data(), mb::Shape{5})); });
  });
  CHECK(outside == "Momentum::step_in_parts: part of 5 values at offset 6 lies outside the 10 parameters");
  const auto short_of = message_of<mb::value_error>([&] {
    opt.step_in_parts(theta.view(), [&](auto&& apply) { apply(mb::index_t{0}, mb::TensorView<const float>(g.data(), mb::Shape{7})); });
  });
  CHECK(short_of == "Momentum::step_in_parts: the parts held 7 values for 10 parameters");
  CHECK(opt.steps() == 0);  // neither counted as a step
  mb::GradientDescent<float> gd({.lr = 0.1f});
  const auto empty = message_of<mb::shape_error>([&] { gd.step_in_parts(mb::TensorView<float>(), [](auto&&) {}); });
  CHECK(empty == "GradientDescent::step_in_parts: empty parameter tensor (shape [])");
}
