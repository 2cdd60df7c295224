#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "minibatch/core/rng.hpp"
#include "minibatch/gd.hpp"
#include "minibatch/momentum.hpp"

namespace mb = minibatch;

namespace {
// Steps on f(θ) = ½‖θ‖², whose gradient is θ itself.
template <class Opt, class T>
void steps_on_half_square(Opt& opt, mb::Tensor<T>& theta, int steps) {
  for (int s = 0; s < steps; ++s) {
    mb::Tensor<T> grad = theta;
    opt.step(theta, grad);
  }
}
}  // namespace

TEST_CASE("Momentum (lecture form): three heavy-ball steps by hand") {
  // m¹ = −0.1·(1,2) = (−0.1,−0.2), θ¹ = (0.9,1.8)
  // m² = 0.9·m¹ − 0.1·θ¹ = (−0.18,−0.36), θ² = (0.72,1.44)
  // m³ = 0.9·m² − 0.1·θ² = (−0.234,−0.468), θ³ = (0.486,0.972)
  mb::Tensor<double> theta{1.0, 2.0};
  mb::Momentum<double> opt({.lr = 0.1, .momentum = 0.9});
  steps_on_half_square(opt, theta, 3);
  CHECK(theta[0] == doctest::Approx(0.486).epsilon(1e-12));
  CHECK(theta[1] == doctest::Approx(0.972).epsilon(1e-12));
  CHECK(opt.velocity()[0] == doctest::Approx(-0.234).epsilon(1e-12));
}

TEST_CASE("Momentum: the public-contract float example") {
  mb::Tensor<float> theta{1.0f, 2.0f};
  mb::Tensor<float> grad(theta.shape());
  mb::Momentum<float> opt({.lr = 0.1f, .momentum = 0.9f});
  grad[0] = 1.0f;
  grad[1] = 2.0f;
  opt.step(theta, grad);
  CHECK(theta[0] == doctest::Approx(0.9f));
  CHECK(theta[1] == doctest::Approx(1.8f));
}

TEST_CASE("Momentum (lecture form) with Nesterov: two steps by hand") {
  // θ ← θ + λ·m − η·g with m ← λ·m − η·g
  // step 1: m = (−0.1,−0.2), θ = (1,2) + 0.9·m − 0.1·(1,2) = (0.81, 1.62)
  // step 2: g = (0.81,1.62), m = 0.9·(−0.1,−0.2) − 0.1·g = (−0.171,−0.342)
  //         θ = (0.81,1.62) + 0.9·m − 0.1·g = (0.5751, 1.1502)
  mb::Tensor<double> theta{1.0, 2.0};
  mb::Momentum<double> opt({.lr = 0.1, .momentum = 0.9, .nesterov = true});
  steps_on_half_square(opt, theta, 2);
  CHECK(theta[0] == doctest::Approx(0.5751).epsilon(1e-12));
  CHECK(theta[1] == doctest::Approx(1.1502).epsilon(1e-12));
}

TEST_CASE("Momentum (PyTorch form): first step takes v = g, then dampening, by hand") {
  // μ = 0.9, d = 0.5, η = 0.1: v¹ = (1,2), θ¹ = (0.9,1.8)
  // v² = 0.9·(1,2) + 0.5·(0.9,1.8) = (1.35,2.7), θ² = (0.9,1.8) − 0.1·v² = (0.765,1.53)
  mb::Tensor<double> theta{1.0, 2.0};
  mb::Momentum<double> opt({.lr = 0.1, .momentum = 0.9, .form = mb::MomentumForm::pytorch, .dampening = 0.5});
  steps_on_half_square(opt, theta, 2);
  CHECK(theta[0] == doctest::Approx(0.765).epsilon(1e-12));
  CHECK(theta[1] == doctest::Approx(1.53).epsilon(1e-12));
}

TEST_CASE("Momentum 0 is gradient descent, in both forms") {
  mb::Rng rng(11);
  mb::Tensor<double> a(mb::Shape{17}), b(mb::Shape{17}), c(mb::Shape{17}), g(mb::Shape{17});
  mb::GradientDescent<double> gd({.lr = 0.05});
  mb::Momentum<double> lecture({.lr = 0.05, .momentum = 0.0});
  mb::Momentum<double> torch({.lr = 0.05, .momentum = 0.0, .form = mb::MomentumForm::pytorch});
  for (int s = 0; s < 20; ++s) {
    for (mb::index_t i = 0; i < g.size(); ++i) g[i] = rng.normal();
    gd.step(a, g);
    lecture.step(b, g);
    torch.step(c, g);
  }
  for (mb::index_t i = 0; i < a.size(); ++i) {
    CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-14));
    CHECK(c[i] == doctest::Approx(a[i]).epsilon(1e-14));
  }
}

TEST_CASE("Lecture form ≡ PyTorch form at constant lr (plain and Nesterov)") {
  for (bool nesterov : {false, true}) {
    mb::Rng rng(12);
    mb::Tensor<double> a(mb::Shape{9}), b(mb::Shape{9}), g(mb::Shape{9});
    mb::Momentum<double> lecture({.lr = 0.03, .momentum = 0.8, .nesterov = nesterov});
    mb::Momentum<double> torch({.lr = 0.03, .momentum = 0.8, .nesterov = nesterov, .form = mb::MomentumForm::pytorch});
    for (int s = 0; s < 50; ++s) {
      for (mb::index_t i = 0; i < g.size(); ++i) g[i] = rng.normal();
      lecture.step(a, g);
      torch.step(b, g);
    }
    for (mb::index_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
  }
}

TEST_CASE("Lecture form ≠ PyTorch form when the lr changes, by hand") {
  // lr 0.1 then 0.05 on ½‖θ‖² from (1,2), λ = μ = 0.9; both give θ¹ = (0.9,1.8).
  // lecture: m² = 0.9·(−0.1,−0.2) − 0.05·(0.9,1.8) = (−0.135,−0.27), θ² = (0.765,1.53)
  // PyTorch: v² = 0.9·(1,2) + (0.9,1.8) = (1.8,3.6), θ² = (0.9,1.8) − 0.05·v² = (0.81,1.62)
  mb::Tensor<double> a{1.0, 2.0}, b{1.0, 2.0};
  mb::Momentum<double> lecture({.lr = 0.1, .momentum = 0.9});
  mb::Momentum<double> torch({.lr = 0.1, .momentum = 0.9, .form = mb::MomentumForm::pytorch});
  steps_on_half_square(lecture, a, 1);
  steps_on_half_square(torch, b, 1);
  lecture.set_lr(0.05);
  torch.set_lr(0.05);
  steps_on_half_square(lecture, a, 1);
  steps_on_half_square(torch, b, 1);
  CHECK(a[0] == doctest::Approx(0.765).epsilon(1e-12));
  CHECK(a[1] == doctest::Approx(1.53).epsilon(1e-12));
  CHECK(b[0] == doctest::Approx(0.81).epsilon(1e-12));
  CHECK(b[1] == doctest::Approx(1.62).epsilon(1e-12));
}

TEST_CASE("Momentum state is allocated once and checked against later parameters") {
  mb::Tensor<float> theta{1, 2, 3}, grad{1, 1, 1};
  mb::Momentum<float> opt({.lr = 0.1f, .momentum = 0.5f});
  CHECK(opt.velocity().empty());
  opt.step(theta, grad);
  const float* state = opt.velocity().data();
  opt.step(theta, grad);
  CHECK(opt.velocity().data() == state);
  mb::Tensor<float> other{1, 2}, other_grad{1, 1};
  try {
    opt.step(other, other_grad);
    FAIL("state of 3 parameters reused for 2");
  } catch (const mb::shape_error& e) {
    CHECK(std::string(e.what()).find("built for 3 parameters, got 2") != std::string::npos);
  }
  opt.reset();
  CHECK_NOTHROW(opt.step(other, other_grad));
}

TEST_CASE("Momentum refuses bad hyper-parameters and names the value") {
  auto message = [](auto make) -> std::string {
    try {
      make();
    } catch (const mb::value_error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(message([] { mb::Momentum<float>({.lr = 0.1f, .momentum = 1.0f}); }).find("momentum = 1") != std::string::npos);
  CHECK(message([] { mb::Momentum<float>({.lr = 0.1f, .momentum = -0.1f}); }).find("momentum = -0.1") !=
        std::string::npos);
  CHECK(message([] { mb::Momentum<float>({.lr = -1.0f}); }).find("lr = -1") != std::string::npos);
  CHECK(message([] {
          mb::Momentum<float>({.lr = 0.1f, .momentum = 0.9f, .form = mb::MomentumForm::pytorch, .dampening = 1.5f});
        }).find("dampening = 1.5") != std::string::npos);
  CHECK(message([] { mb::Momentum<float>({.lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f}); })
            .find("PyTorch form only") != std::string::npos);
  CHECK(message([] {
          mb::Momentum<float>({.lr = 0.1f, .momentum = 0.9f, .nesterov = true, .form = mb::MomentumForm::pytorch,
                               .dampening = 0.5f});
        }).find("Nesterov") != std::string::npos);
}
