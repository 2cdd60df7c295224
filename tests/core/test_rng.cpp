#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>

#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"

namespace mb = minibatch;

TEST_CASE("Rng matches the independent implementation (tests/golden/shuffled_sampler.py)") {
  mb::Rng rng(42, 0);
  CHECK(rng() == 1865750160070900731ULL);
  CHECK(rng() == 6791145067590612263ULL);
  CHECK(rng() == 14118064813682728970ULL);
  mb::Rng zero(0, 0);
  CHECK(zero() == 18110106563157542208ULL);
  CHECK(zero() == 8650457082529208451ULL);
}

TEST_CASE("Rng streams of one seed differ, and a seed replays") {
  mb::Rng a(5, 0), b(5, 1), c(5, 0);
  const auto a0 = a();
  CHECK(a0 != b());
  CHECK(a0 == c());
}

TEST_CASE("Rng::below stays in range and refuses an empty range") {
  mb::Rng rng(1);
  for (int i = 0; i < 1000; ++i) CHECK(rng.below(7) < 7);
  CHECK(rng.below(1) == 0);
  CHECK_THROWS_AS(rng.below(0), mb::value_error);
}

TEST_CASE("Rng::uniform is in [0,1) with mean 1/2; normal has mean 0 and variance 1") {
  mb::Rng rng(3);
  double sum = 0, sum_n = 0, sum_n2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    const double z = rng.normal();
    sum_n += z;
    sum_n2 += z * z;
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(std::abs(sum_n / n) < 0.01);
  CHECK(sum_n2 / n == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("require throws the named exception with the joined message") {
  try {
    mb::require<mb::shape_error>(false, "shape ", 3, " vs ", 4);
    FAIL("no throw");
  } catch (const mb::shape_error& e) {
    CHECK(std::string(e.what()) == "shape 3 vs 4");
  }
  CHECK_NOTHROW(mb::require(true, "unused"));
}
