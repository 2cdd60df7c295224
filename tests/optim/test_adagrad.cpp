#include <doctest/doctest.h>

#include "minibatch/adagrad.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

TEST_CASE("Adagrad: two steps by hand") {
  // η = 0.1, g = (0.5, −1) twice, eps = 1e-10 (below the precision checked):
  // step 1: S = (0.25, 1),  θ = (1 − 0.1·0.5/0.5, 2 + 0.1·1/1) = (0.9, 2.1)
  // step 2: S = (0.5, 2),   θ = (0.9 − 0.1·0.5/√0.5, 2.1 + 0.1/√2) = (0.829289322, 2.170710678)
  mb::Tensor<double> theta{1.0, 2.0}, grad{0.5, -1.0};
  mb::Adagrad<double> opt({.lr = 0.1});
  opt.step(theta, grad);
  CHECK(theta[0] == doctest::Approx(0.9).epsilon(1e-9));
  CHECK(theta[1] == doctest::Approx(2.1).epsilon(1e-9));
  opt.step(theta, grad);
  CHECK(theta[0] == doctest::Approx(0.9 - 0.1 * 0.5 / std::sqrt(0.5)).epsilon(1e-9));
  CHECK(theta[1] == doctest::Approx(2.1 + 0.1 / std::sqrt(2.0)).epsilon(1e-9));
  CHECK(opt.sum()[0] == 0.5);
  CHECK(opt.sum()[1] == 2.0);
  CHECK(opt.steps() == 2);
}

TEST_CASE("Adagrad: lr_decay, weight decay and initial accumulator by hand") {
  // η = 0.1, lr_decay = 0.5, λ = 0.1, S⁰ = 1, θ = 1, g = 0.5 twice:
  // step 1: η₁ = 0.1,           g' = 0.5 + 0.1·1 = 0.6,  S = 1 + 0.36 = 1.36,
  //         θ = 1 − 0.1·0.6/√1.36 = 0.948550424
  // step 2: η₂ = 0.1/1.5,       g' = 0.5 + 0.1·0.948550424 = 0.594855042,
  //         S = 1.36 + 0.353852521 = 1.713852521, θ = 0.948550424 − η₂·g'/√S = 0.918258061
  mb::Tensor<double> theta{1.0}, grad{0.5};
  mb::Adagrad<double> opt({.lr = 0.1, .lr_decay = 0.5, .weight_decay = 0.1, .initial_accumulator_value = 1.0});
  opt.step(theta, grad);
  CHECK(theta[0] == doctest::Approx(0.9485504244616592).epsilon(1e-9));
  opt.step(theta, grad);
  CHECK(opt.sum()[0] == doctest::Approx(1.7138525215236298).epsilon(1e-12));
  CHECK(theta[0] == doctest::Approx(0.9182580606288668).epsilon(1e-9));
}

TEST_CASE("Adagrad: float, ParamBuffer, state allocated once, reset") {
  mb::ParamLayout layout{{"w", mb::Shape{2}}, {"b", mb::Shape{1}}};
  mb::ParamBuffer<float> p(layout), g(layout);
  g.flat()[0] = 1.0f;
  mb::Adagrad<float> opt({.lr = 0.5f});
  opt.step(p, g);
  // S = 1, θ = −0.5·1/1; coordinates with g = 0 stay at 0.
  CHECK(p["w"][0] == doctest::Approx(-0.5f));
  CHECK(p["w"][1] == 0.0f);
  const float* state = opt.sum().data();
  opt.step(p, g);
  CHECK(opt.sum().data() == state);
  mb::Tensor<float> other{1, 2}, other_grad{1, 1};
  CHECK(contains(message_of<mb::shape_error>([&] { opt.step(other, other_grad); }), "state was built for 3"));
  opt.reset();
  CHECK(opt.steps() == 0);
  CHECK_NOTHROW(opt.step(other, other_grad));
}

TEST_CASE("Adagrad refuses bad hyper-parameters and names the value") {
  CHECK(contains(message_of([] { mb::Adagrad<double>({.lr = -0.1}); }), "lr = -0.1"));
  CHECK(contains(message_of([] { mb::Adagrad<double>({.lr_decay = -1}); }), "lr_decay = -1"));
  CHECK(contains(message_of([] { mb::Adagrad<double>({.weight_decay = -0.5}); }), "weight_decay = -0.5"));
  CHECK(contains(message_of([] { mb::Adagrad<double>({.initial_accumulator_value = -2}); }),
                 "initial_accumulator_value = -2"));
  CHECK(contains(message_of([] { mb::Adagrad<double>({.eps = 0}); }), "eps = 0"));
  mb::Adagrad<double> opt;
  CHECK_THROWS_AS(opt.set_lr(-1), mb::value_error);
  mb::Tensor<double> a{1, 2}, b{1, 2, 3};
  CHECK_THROWS_AS(opt.step(a, b), mb::shape_error);
}
