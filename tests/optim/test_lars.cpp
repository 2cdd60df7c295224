#include <doctest/doctest.h>

#include "minibatch/lars.hpp"
#include "minibatch/momentum.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

TEST_CASE("LARS: two steps by hand, a trusted weight matrix and an excluded bias") {
  // γ = 1, μ = 0.9, β = 0.1, η = 0.01; masks min_rank(2): W gets λ and decay, b neither.
  // W = (3, 4) as [1×2], g_W = (0.6, 0.8):  ‖W‖ = 5, ‖g‖ = 1
  //   step 1: λ = 0.01·5/(1 + 0.1·5) = 1/30, m = −λ·(g + 0.1·W) = −(0.9, 1.2)/30 = (−0.03, −0.04)
  //           W = (2.97, 3.96)
  //   step 2: ‖W‖ = 4.95, λ = 0.0495/(1 + 0.495), g + 0.1·W = (0.897, 1.196) = 1.495·(0.6, 0.8)
  //           m = 0.9·(−0.03, −0.04) − 0.0495·(0.6, 0.8) = (−0.0567, −0.0756), W = (2.9133, 3.8844)
  // b = 1, g_b = 0.5, λ = 1, no decay: m = −0.5, b = 0.5; then m = −0.45 − 0.5 = −0.95, b = −0.45
  mb::ParamLayout layout{{"W", mb::Shape{1, 2}}, {"b", mb::Shape{1}}};
  mb::ParamBuffer<double> p(layout), g(layout);
  p["W"][0] = 3;
  p["W"][1] = 4;
  p["b"][0] = 1;
  g["W"][0] = 0.6;
  g["W"][1] = 0.8;
  g["b"][0] = 0.5;
  mb::LARS<double> opt({.lr = 1.0,
                        .momentum = 0.9,
                        .weight_decay = 0.1,
                        .trust_coefficient = 0.01,
                        .weight_decay_mask = mb::SliceMask::min_rank(2),
                        .trust_ratio_mask = mb::SliceMask::min_rank(2)});
  opt.step(p, g);
  CHECK(opt.trust_ratios()[0] == doctest::Approx(1.0 / 30).epsilon(1e-14));
  CHECK(opt.trust_ratios()[1] == 1.0);
  CHECK(p["W"][0] == doctest::Approx(2.97).epsilon(1e-14));
  CHECK(p["W"][1] == doctest::Approx(3.96).epsilon(1e-14));
  CHECK(p["b"][0] == doctest::Approx(0.5).epsilon(1e-14));
  opt.step(p, g);
  CHECK(p["W"][0] == doctest::Approx(2.9133).epsilon(1e-13));
  CHECK(p["W"][1] == doctest::Approx(3.8844).epsilon(1e-13));
  CHECK(p["b"][0] == doctest::Approx(-0.45).epsilon(1e-13));
  CHECK(opt.velocity()[2] == doctest::Approx(-0.95).epsilon(1e-13));
}

TEST_CASE("LARS: trust ratio is 1 when ‖w‖ = 0 or ‖g‖ = 0") {
  // w = 0: λ = 1, m = −γ·g = −(0.1, 0.2); g = 0 on a non-zero w: λ = 1 and nothing moves.
  mb::Tensor<double> w{0.0, 0.0}, g{1.0, 2.0};
  mb::LARS<double> opt({.lr = 0.1});
  opt.step(w, g);
  CHECK(opt.trust_ratios()[0] == 1.0);
  CHECK(w[0] == doctest::Approx(-0.1).epsilon(1e-15));
  CHECK(w[1] == doctest::Approx(-0.2).epsilon(1e-15));
  mb::Tensor<double> v{1.0, 2.0}, zero{0.0, 0.0};
  mb::LARS<double> other({.lr = 0.1});
  other.step(v, zero);
  CHECK(other.trust_ratios()[0] == 1.0);
  CHECK(v[0] == 1.0);
}

TEST_CASE("LARS on a TensorView: the whole buffer is one slice") {
  // w = (3, 4), g = (0.6, 0.8), η = 0.001, β = 0: λ = 0.001·5/1 = 0.005, w = (3, 4) − 0.005·(0.6, 0.8)
  mb::Tensor<double> w{3.0, 4.0}, g{0.6, 0.8};
  mb::LARS<double> opt({.lr = 1.0});
  opt.step(w, g);
  CHECK(opt.trust_ratios().size() == 1);
  CHECK(w[0] == doctest::Approx(3 - 0.003).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(4 - 0.004).epsilon(1e-14));
}

TEST_CASE("LARS with trust ratio 1 ≡ Momentum (lecture form)") {
  mb::Rng rng(21);
  mb::ParamBuffer<double> a(optim_test::three_slices()), g(optim_test::three_slices());
  optim_test::fill_normal(a.flat(), rng);
  mb::Tensor<double> b(a.storage());
  mb::LARS<double> lars({.lr = 0.05, .momentum = 0.8, .trust_ratio_mask = mb::SliceMask::none()});
  mb::Momentum<double> momentum({.lr = 0.05, .momentum = 0.8});
  for (int s = 0; s < 20; ++s) {
    if (s == 10) {  // the lecture form keeps the old lr inside m: LARS does too
      lars.set_lr(0.02);
      momentum.set_lr(0.02);
    }
    optim_test::fill_normal(g.flat(), rng);
    lars.step(a, g);
    momentum.step(b, g.storage());
  }
  CHECK(optim_test::max_rel_diff(a.flat(), b) < 1e-14);
}

TEST_CASE("LARS refuses bad hyper-parameters and names the value") {
  CHECK(contains(message_of([] { mb::LARS<double>({.lr = -1}); }), "lr = -1"));
  CHECK(contains(message_of([] { mb::LARS<double>({.momentum = 1}); }), "momentum = 1"));
  CHECK(contains(message_of([] { mb::LARS<double>({.weight_decay = -1e-4}); }), "weight_decay = -0.0001"));
  CHECK(contains(message_of([] { mb::LARS<double>({.trust_coefficient = 0}); }), "trust_coefficient = 0"));
}
