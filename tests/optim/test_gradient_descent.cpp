#include <doctest/doctest.h>

#include <string>

#include "minibatch/gd.hpp"

namespace mb = minibatch;

TEST_CASE("GradientDescent: θ ← θ − η·g by hand") {
  mb::Tensor<float> theta{1.0f, 2.0f};
  mb::Tensor<float> grad{0.5f, -1.0f};
  mb::GradientDescent<float> gd({.lr = 0.1f});
  gd.step(theta, grad);
  // 1 − 0.1·0.5 = 0.95, 2 − 0.1·(−1) = 2.1
  CHECK(theta[0] == doctest::Approx(0.95f));
  CHECK(theta[1] == doctest::Approx(2.1f));
  CHECK(gd.steps() == 1);
}

TEST_CASE("GradientDescent on a ParamBuffer updates every slice in one pass") {
  mb::ParamLayout layout{{"w", mb::Shape{2}}, {"b", mb::Shape{1}}};
  mb::ParamBuffer<double> p(layout), g(layout);
  p.flat()[0] = 1;
  p.flat()[2] = 3;
  g.flat()[0] = 2;
  g.flat()[2] = -1;
  mb::GradientDescent<double> gd({.lr = 0.5});
  gd.step(p, g);
  CHECK(p["w"][0] == 0.0);
  CHECK(p["b"][0] == 3.5);
}

TEST_CASE("GradientDescent refuses bad input and names the value") {
  try {
    mb::GradientDescent<float> bad({.lr = -0.5f});
    FAIL("negative lr accepted");
  } catch (const mb::value_error& e) {
    CHECK(std::string(e.what()).find("lr = -0.5") != std::string::npos);
  }
  mb::GradientDescent<float> gd({.lr = 0.1f});
  mb::Tensor<float> theta{1, 2}, grad3{1, 2, 3}, empty;
  try {
    gd.step(theta, grad3);
    FAIL("shape mismatch accepted");
  } catch (const mb::shape_error& e) {
    CHECK(std::string(e.what()).find("[2]") != std::string::npos);
    CHECK(std::string(e.what()).find("[3]") != std::string::npos);
  }
  CHECK_THROWS_AS(gd.step(empty, empty), mb::shape_error);
  CHECK_THROWS_AS(gd.set_lr(std::numeric_limits<float>::infinity()), mb::value_error);
}
