#include <doctest/doctest.h>

#include "minibatch/rmsprop.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

TEST_CASE("RMSProp: one plain step by hand") {
  // η = 0.01, α = 0.9, θ = 1, g = 0.5:
  // v = 0.1·0.25 = 0.025, d = √0.025 = 0.158113883, θ = 1 − 0.01·0.5/0.158113883 = 0.968377223
  mb::Tensor<double> theta{1.0}, grad{0.5};
  mb::RMSProp<double> opt({.lr = 0.01, .alpha = 0.9, .eps = 1e-12});
  opt.step(theta, grad);
  CHECK(opt.square_avg()[0] == doctest::Approx(0.025).epsilon(1e-14));
  CHECK(theta[0] == doctest::Approx(1 - 0.01 * 0.5 / std::sqrt(0.025)).epsilon(1e-12));
  CHECK(opt.grad_avg().empty());
  CHECK(opt.momentum_buffer().empty());
}

TEST_CASE("RMSProp centered: one step by hand") {
  // ḡ = 0.1·0.5 = 0.05, v − ḡ² = 0.025 − 0.0025 = 0.0225, d = 0.15, θ = 1 − 0.01·0.5/0.15 = 0.966666667
  mb::Tensor<double> theta{1.0}, grad{0.5};
  mb::RMSProp<double> opt({.lr = 0.01, .alpha = 0.9, .eps = 1e-12, .centered = true});
  opt.step(theta, grad);
  CHECK(opt.grad_avg()[0] == doctest::Approx(0.05).epsilon(1e-14));
  CHECK(theta[0] == doctest::Approx(1 - 0.01 * 0.5 / 0.15).epsilon(1e-12));
}

TEST_CASE("RMSProp with momentum and weight decay: two steps by hand") {
  // μ = 0.5, λ = 0 first (momentum alone), g = 0.5 twice:
  // step 1: v = 0.025, b = 0.5/√0.025 = 3.16227766,          θ = 1 − 0.0316227766 = 0.968377223
  // step 2: v = 0.9·0.025 + 0.025 = 0.0475, g/d = 0.5/√0.0475 = 2.294157339,
  //         b = 0.5·3.16227766 + 2.294157339 = 3.875296169,   θ = 0.968377223 − 0.03875296169 = 0.929624262
  mb::Tensor<double> theta{1.0}, grad{0.5};
  mb::RMSProp<double> opt({.lr = 0.01, .alpha = 0.9, .eps = 1e-12, .momentum = 0.5});
  opt.step(theta, grad);
  opt.step(theta, grad);
  CHECK(opt.momentum_buffer()[0] == doctest::Approx(3.875296169).epsilon(1e-9));
  CHECK(theta[0] == doctest::Approx(0.929624262).epsilon(1e-9));
  // λ = 0.5 on θ = 2, g = 0: g' = 1, v = 0.1, θ = 2 − 0.01·1/√0.1 = 1.968377223
  mb::Tensor<double> t2{2.0}, zero{0.0};
  mb::RMSProp<double> decayed({.lr = 0.01, .alpha = 0.9, .eps = 1e-12, .weight_decay = 0.5});
  decayed.step(t2, zero);
  CHECK(t2[0] == doctest::Approx(2 - 0.01 / std::sqrt(0.1)).epsilon(1e-9));
}

TEST_CASE("RMSProp refuses bad hyper-parameters and names the value") {
  CHECK(contains(message_of([] { mb::RMSProp<float>({.lr = -1.0f}); }), "lr = -1"));
  CHECK(contains(message_of([] { mb::RMSProp<float>({.alpha = 1.0f}); }), "alpha = 1"));
  CHECK(contains(message_of([] { mb::RMSProp<float>({.eps = -1e-8f}); }), "eps = -1e-08"));
  CHECK(contains(message_of([] { mb::RMSProp<float>({.weight_decay = -0.1f}); }), "weight_decay = -0.1"));
  CHECK(contains(message_of([] { mb::RMSProp<float>({.momentum = 1.5f}); }), "momentum = 1.5"));
}
