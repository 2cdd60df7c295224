// Helpers of the GPU tests: random host data, raw device arrays (to call the kernels the
// way another project would, without our tensor type), and the comparison every test
// uses, |a − ref| ≤ atol + rtol·|ref|, which prints one line per comparison with the
// worst index and error, and fails the test case naming them.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/core/rng.hpp"

namespace gpu_test {

struct Tolerance {
  double atol;
  double rtol;
};

// Absolute tolerance of softmax dlogits = (p − y)/n over a batch of n rows: p ∈ [0, 1]
// carries a few ulps of 1, and p − 1 (the label's entry) keeps that absolute error.
template <class T>
double dlogits_atol(std::size_t n) {
  return (sizeof(T) == 4 ? 1e-6 : 1e-15) / static_cast<double>(n);
}

// Values uniform in [lo, hi).
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  minibatch::Rng rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(lo + (hi - lo) * rng.uniform());
  return v;
}

inline std::vector<std::int32_t> random_labels(std::size_t n, std::int32_t classes, std::uint64_t seed) {
  minibatch::Rng rng(seed);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return v;
}

template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Checks |got[i] − ref[i]| ≤ atol + rtol·|ref[i]| everywhere (NaN only matches NaN).
template <class A, class R>
void check_close(const std::vector<A>& got, const std::vector<R>& ref, Tolerance tol, const std::string& what) {
  REQUIRE_MESSAGE(got.size() == ref.size(), what, ": ", got.size(), " values vs ", ref.size(), " reference values");
  std::size_t bad = 0, worst = 0;
  double worst_ratio = -1.0, worst_err = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double a = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
    if (std::isnan(a) && std::isnan(r)) continue;
    const double err = std::abs(a - r);
    const double allowed = tol.atol + tol.rtol * std::abs(r);
    const double ratio = std::isnan(err) ? INFINITY : err / allowed;
    if (!(err <= allowed)) ++bad;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
      worst_err = err;
    }
  }
  const double worst_got = got.empty() ? 0.0 : static_cast<double>(got[worst]);
  const double worst_ref = ref.empty() ? 0.0 : static_cast<double>(ref[worst]);
  std::printf("  %-58s n=%-9zu worst |a-ref|=%.3g at %zu (a=%.9g ref=%.9g)%s\n", what.c_str(), got.size(), worst_err,
              worst, worst_got, worst_ref, bad ? "  FAIL" : "");
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", got.size(), " values out of tolerance (atol ", tol.atol, ", rtol ",
                tol.rtol, "); worst at index ", worst, ": got ", worst_got, ", reference ", worst_ref, ", |a-ref| = ",
                worst_err);
}

template <class A, class R>
void check_close(A got, R ref, Tolerance tol, const std::string& what)
  requires(std::is_arithmetic_v<A> && std::is_arithmetic_v<R>)
{
  check_close(std::vector<double>{static_cast<double>(got)}, std::vector<double>{static_cast<double>(ref)}, tol, what);
}

// A raw device array: cudaMalloc'd, filled from and read back to host vectors.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t n) : n_(n) {
    if (n_) MINIBATCH_CUDA_CHECK(cudaMalloc(&p_, n_ * sizeof(T)));
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
    if (n_) MINIBATCH_CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const noexcept { return p_; }
  std::vector<T> to_host() const {
    std::vector<T> host(n_);
    MINIBATCH_CUDA_CHECK(cudaDeviceSynchronize());
    if (n_) MINIBATCH_CUDA_CHECK(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_;
};

// Tolerances per precision: float results of short dot products and transcendental
// functions, double results to near machine precision.
template <class T>
constexpr Tolerance elementwise_tolerance() {
  if constexpr (sizeof(T) == 4) return {1e-6, 1e-5};
  else return {1e-13, 1e-12};
}

}  // namespace gpu_test
