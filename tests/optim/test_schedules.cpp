#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "minibatch/gd.hpp"
#include "minibatch/schedules.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

static_assert(mb::Schedule<mb::ConstantSchedule>);
static_assert(mb::Schedule<mb::StepDecay>);
static_assert(mb::Schedule<mb::CosineDecay>);
static_assert(mb::Schedule<mb::LinearWarmup>);
static_assert(mb::Schedule<mb::JoinedSchedule<mb::LinearWarmup, mb::CosineDecay>>);
static_assert(!mb::Schedule<int>);

TEST_CASE("Schedules: values at chosen steps") {
  const mb::ConstantSchedule constant(0.1);
  CHECK(constant(0) == 0.1);
  CHECK(constant(100000) == 0.1);

  // 0.1·0.1^⌊t/30⌋
  const mb::StepDecay step(0.1, 30, 0.1);
  CHECK(step(0) == 0.1);
  CHECK(step(29) == 0.1);
  CHECK(step(30) == doctest::Approx(0.01).epsilon(1e-15));
  CHECK(step(65) == doctest::Approx(0.001).epsilon(1e-15));

  // final + (base − final)·(1 + cos(π·t/100))/2, held at final after t = 100
  const mb::CosineDecay cosine(1.0, 100);
  CHECK(cosine(0) == 1.0);
  CHECK(cosine(25) == doctest::Approx((1 + std::cos(std::numbers::pi / 4)) / 2).epsilon(1e-15));  // 0.853553
  CHECK(cosine(50) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(cosine(100) == doctest::Approx(0.0));
  CHECK(cosine(150) == doctest::Approx(0.0));
  CHECK(mb::CosineDecay(1.0, 100, 0.1)(50) == doctest::Approx(0.55).epsilon(1e-15));  // 0.1 + 0.9·0.5

  // 0.1/(1 + 0.5·t)
  CHECK(mb::InverseTimeDecay(0.1, 0.5)(2) == doctest::Approx(0.05).epsilon(1e-15));

  // 0.1 + (3.2 − 0.1)·t/5: 0.1, 0.72, …, 3.2 from t = 5 on
  const mb::LinearWarmup warmup(0.1, 3.2, 5);
  CHECK(warmup(0) == 0.1);
  CHECK(warmup(1) == doctest::Approx(0.72).epsilon(1e-15));
  CHECK(warmup(4) == doctest::Approx(2.58).epsilon(1e-15));
  CHECK(warmup(5) == 3.2);
  CHECK(warmup(9) == 3.2);
}

TEST_CASE("Joined schedules: warmup, then the second schedule restarted at 0") {
  // Goyal et al.: warm up 5 steps to 3.2, then ÷10 every 30 steps (counted after warmup).
  const auto goyal = mb::warmup_then(mb::LinearWarmup(0.1, 3.2, 5), mb::StepDecay(3.2, 30, 0.1));
  CHECK(goyal(0) == 0.1);
  CHECK(goyal(4) == doctest::Approx(2.58).epsilon(1e-15));
  CHECK(goyal(5) == 3.2);
  CHECK(goyal(34) == 3.2);
  CHECK(goyal(35) == doctest::Approx(0.32).epsilon(1e-15));
  const auto joined = mb::join_schedules(mb::ConstantSchedule(1.0), 10, mb::CosineDecay(1.0, 10));
  CHECK(joined(9) == 1.0);
  CHECK(joined(15) == doctest::Approx(0.5).epsilon(1e-15));
}

TEST_CASE("Linear scaling rule: lr = base·B/256") {
  CHECK(mb::linear_scaling_rule(0.1, 8192) == doctest::Approx(3.2).epsilon(1e-15));
  CHECK(mb::linear_scaling_rule(0.1, 64) == doctest::Approx(0.025).epsilon(1e-15));
  CHECK(mb::linear_scaling_rule(0.1, 256, 128) == doctest::Approx(0.2).epsilon(1e-15));
}

TEST_CASE("apply_schedule sets the lr of the optimizer's next step") {
  // Warmup 0 → 1 over 4 steps on θ ← θ − η·g with g = 1: θ = −(0 + 0.25 + 0.5 + 0.75 + 1) = −2.5
  mb::Tensor<double> theta{0.0}, grad{1.0};
  mb::GradientDescent<double> gd({.lr = 0.0});
  const mb::LinearWarmup warmup(0.0, 1.0, 4);
  for (int s = 0; s < 5; ++s) {
    mb::apply_schedule(gd, warmup);
    gd.step(theta, grad);
  }
  CHECK(gd.lr() == 1.0);
  CHECK(theta[0] == doctest::Approx(-2.5).epsilon(1e-15));
}

TEST_CASE("Schedules refuse bad hyper-parameters and name the value") {
  CHECK(contains(message_of([] { mb::StepDecay(0.1, 0, 0.1); }), "step_size = 0"));
  CHECK(contains(message_of([] { mb::StepDecay(0.1, 30, -0.1); }), "gamma = -0.1"));
  CHECK(contains(message_of([] { mb::CosineDecay(-1.0, 10); }), "base = -1"));
  CHECK(contains(message_of([] { mb::CosineDecay(1.0, 0); }), "decay_steps = 0"));
  CHECK(contains(message_of([] { mb::LinearWarmup(0.0, 1.0, 0); }), "warmup_steps = 0"));
  CHECK(contains(message_of([] { mb::ConstantSchedule(std::nan("")); }), "value = nan"));
  CHECK(contains(message_of([] { mb::linear_scaling_rule(0.1, 0); }), "batch_size = 0"));
  CHECK(contains(message_of([] { mb::linear_scaling_rule(-0.1, 256); }), "base_lr = -0.1"));
}
