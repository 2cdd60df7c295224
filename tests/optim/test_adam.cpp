#include <doctest/doctest.h>

#include "minibatch/adam.hpp"
#include "minibatch/optim/transform_adaptive.hpp"
#include "minibatch/rmsprop.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

TEST_CASE("Adam: two steps by hand") {
  // η = 0.1, β = (0.9, 0.999), θ = 1, g = 0.5 then −1:
  // step 1: m = 0.05, v = 0.00025, m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25,
  //         θ = 1 − 0.1·0.5/0.5 = 0.9               (the first step is η·sign(g))
  // step 2: m = 0.045 − 0.1 = −0.055, m̂ = −0.055/0.19 = −0.289473684,
  //         v = 0.00024975 + 0.001 = 0.00124975, v̂ = 0.00124975/0.001999 = 0.625187594,
  //         θ = 0.9 + 0.1·0.289473684/√0.625187594 = 0.936610354
  mb::Tensor<double> theta{1.0}, grad{0.5};
  mb::Adam<double> opt({.lr = 0.1});
  opt.step(theta, grad);
  CHECK(opt.exp_avg()[0] == doctest::Approx(0.05).epsilon(1e-14));
  CHECK(opt.exp_avg_sq()[0] == doctest::Approx(0.00025).epsilon(1e-14));
  CHECK(theta[0] == doctest::Approx(0.9).epsilon(1e-7));
  grad[0] = -1.0;
  opt.step(theta, grad);
  CHECK(theta[0] == doctest::Approx(0.9366103542405654).epsilon(1e-7));
}

TEST_CASE("Adam (coupled) and AdamW (decoupled) weight decay by hand") {
  // η = 0.1, λ = 0.1, θ = 1, g = 0.5 twice.
  // Adam: g' = g + λθ. step 1: g' = 0.6, θ = 1 − 0.1·sign = 0.9 (the decay is invisible here);
  //   step 2: g' = 0.59, m = 0.054 + 0.059 = 0.113, m̂ = 0.594736842,
  //           v = 0.00035964 + 0.0003481 = 0.00070774, v̂ = 0.354047024, θ = 0.8000473405
  // AdamW: θ ← θ·(1 − ηλ) first. step 1: θ = 0.99 − 0.1 = 0.89; step 2: m̂ = 0.5, v̂ = 0.25,
  //   θ = 0.89·0.99 − 0.1 = 0.7811
  mb::Tensor<double> a{1.0}, w{1.0}, grad{0.5};
  mb::Adam<double> adam({.lr = 0.1, .weight_decay = 0.1});
  mb::AdamW<double> adamw({.lr = 0.1, .weight_decay = 0.1});
  for (int s = 0; s < 2; ++s) {
    adam.step(a, grad);
    adamw.step(w, grad);
  }
  CHECK(a[0] == doctest::Approx(0.8000473404883316).epsilon(1e-7));
  CHECK(w[0] == doctest::Approx(0.7811).epsilon(1e-7));
}

TEST_CASE("AdamW defaults are PyTorch's; Adam and AdamW agree when weight_decay = 0") {
  CHECK(mb::AdamW<float>().options().weight_decay == 0.01f);
  CHECK(mb::Adam<float>().options().weight_decay == 0.0f);
  CHECK(mb::Adam<float>().options().lr == 1e-3f);
  CHECK(mb::Adam<float>().options().eps == 1e-8f);
  mb::Rng rng(3);
  mb::Tensor<double> a(mb::Shape{10}), b(mb::Shape{10}), g(mb::Shape{10});
  optim_test::fill_normal(a.view(), rng);
  b = a;
  mb::Adam<double> adam({.lr = 0.01});
  mb::AdamW<double> adamw({.lr = 0.01, .weight_decay = 0});
  for (int s = 0; s < 20; ++s) {
    optim_test::fill_normal(g.view(), rng);
    adam.step(a, g);
    adamw.step(b, g);
  }
  for (mb::index_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
}

TEST_CASE("Adam with β₁ = 0 ≡ RMSProp with bias correction") {
  // The RMSProp variant: not centered, no momentum, v ← α·v + (1 − α)·g² with α = β₂,
  // θ ← θ − η·g/(√(v/(1 − αᵗ)) + eps): scale_by_rms(α, eps, centered = false,
  // bias_correction = true) then scale_by_learning_rate(η).
  mb::Rng rng(5);
  mb::Tensor<double> a(mb::Shape{13}), b(mb::Shape{13}), g(mb::Shape{13});
  optim_test::fill_normal(a.view(), rng);
  b = a;
  mb::Adam<double> adam({.lr = 0.02, .beta1 = 0.0, .beta2 = 0.95, .eps = 1e-6});
  auto rms = mb::compose<double>(mb::chain(mb::scale_by_rms(0.95, 1e-6, false, true), mb::scale_by_learning_rate(0.02)));
  for (int s = 0; s < 20; ++s) {
    optim_test::fill_normal(g.view(), rng);
    adam.step(a, g);
    rms.step(b, g);
  }
  CHECK(optim_test::max_rel_diff(a, b) < 1e-13);
  // …and torch's RMSProp (no bias correction) is a different update: its first step is
  // η·g/√(1 − α) instead of η·sign(g).
  mb::Tensor<double> c{1.0}, d{1.0}, g1{0.5};
  mb::Adam<double>({.lr = 0.02, .beta1 = 0.0, .beta2 = 0.95, .eps = 1e-12}).step(c, g1);
  mb::RMSProp<double>({.lr = 0.02, .alpha = 0.95, .eps = 1e-12}).step(d, g1);
  CHECK(c[0] == doctest::Approx(1 - 0.02).epsilon(1e-12));
  CHECK(d[0] == doctest::Approx(1 - 0.02 * 0.5 / std::sqrt(0.05 * 0.25)).epsilon(1e-12));
}

TEST_CASE("Adam refuses bad hyper-parameters and names the value") {
  CHECK(contains(message_of([] { mb::Adam<double>({.lr = -1e-3}); }), "lr = -0.001"));
  CHECK(contains(message_of([] { mb::Adam<double>({.beta1 = 1.0}); }), "beta1 = 1"));
  CHECK(contains(message_of([] { mb::Adam<double>({.beta2 = -0.5}); }), "beta2 = -0.5"));
  CHECK(contains(message_of([] { mb::Adam<double>({.eps = 0.0}); }), "eps = 0"));
  CHECK(contains(message_of([] { mb::AdamW<double>({.weight_decay = -0.01}); }), "AdamW: weight_decay"));
  CHECK(contains(message_of([] { mb::AdamW<double>({.beta2 = 1.0}); }), "AdamW: beta2 must be in [0, 1)"));
}

TEST_CASE("Adam state is allocated once; a different layout is refused") {
  mb::ParamLayout layout{{"w", mb::Shape{2, 2}}, {"b", mb::Shape{2}}};
  mb::ParamBuffer<float> p(layout), g(layout);
  mb::AdamW<float> opt;
  opt.step(p, g);
  const float* m = opt.exp_avg().data();
  opt.step(p, g);
  CHECK(opt.exp_avg().data() == m);
  CHECK(opt.steps() == 2);
  mb::ParamLayout other{{"w", mb::Shape{3}}, {"b", mb::Shape{3}}};
  mb::ParamBuffer<float> q(other), h(other);
  CHECK(contains(message_of<mb::shape_error>([&] { opt.step(q, h); }), "in a different layout"));
  CHECK_THROWS_AS(opt.step(p.flat(), g.flat()), mb::shape_error);  // built for a layout, not a whole buffer
  opt.reset();
  CHECK_NOTHROW(opt.step(q, h));
}
