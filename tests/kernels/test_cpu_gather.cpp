// The cpu backend's gather of a batch's rows (backend/cpu/gather.hpp) against the plain-loop
// reference (kernels/ref/gather.hpp): every row width from a single entry to a data set's
// 784 features, repeated and out-of-order indices, the last row, and a bad index rejected
// before anything is written.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "minibatch/backend/cpu/gather.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/kernels/ref/gather.hpp"

namespace mb = minibatch;

TEST_CASE_TEMPLATE("cpu gather_rows copies the same rows as the reference", T, float, double, std::int32_t) {
  mb::Rng rng(17);
  const std::size_t src_rows = 301;
  for (const std::size_t cols : {std::size_t(1), std::size_t(3), std::size_t(16), std::size_t(17), std::size_t(784)}) {
    CAPTURE(cols);
    std::vector<T> src(src_rows * cols);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<T>(i % 1009) - T(500);
    for (const std::size_t count : {std::size_t(1), std::size_t(2), std::size_t(97)}) {
      CAPTURE(count);
      std::vector<std::size_t> idx(count);
      for (auto& i : idx) i = rng.below(src_rows);
      idx.back() = src_rows - 1;                // the last row: its end is the end of src
      if (count > 2) idx[1] = idx[0];           // a repeated row
      std::vector<T> got(count * cols, T(-7)), want(count * cols, T(-9));
      mb::cpu_backend::gather_rows(src.data(), src_rows, cols, idx.data(), count, got.data());
      mb::kernels::ref::gather_rows(src.data(), src_rows, cols, idx.data(), count, want.data());
      CHECK(got == want);
    }
  }
}

TEST_CASE("cpu gather_rows rejects an index past the end, naming it, and writes nothing") {
  const std::vector<float> src{0, 1, 10, 11, 20, 21};
  const std::vector<std::size_t> idx{2, 0, 3};
  std::vector<float> dst(6, 42.0f);
  std::string message;
  try {
    mb::cpu_backend::gather_rows(src.data(), 3, 2, idx.data(), 3, dst.data());
  } catch (const mb::index_error& e) {
    message = e.what();
  }
  CHECK(message.find("gather_rows: idx[2] = 3 is out of range for 3 source rows") != std::string::npos);
  for (const float v : dst) CHECK(v == 42.0f);
}
