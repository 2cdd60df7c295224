// The seed and the number of random shapes of the kernel tests' random sweeps: fixed, so
// that a failure reproduces, unless MINIBATCH_GEMM_SEED and MINIBATCH_GEMM_PRODUCTS ask for
// another or a longer sweep (under the sanitizers, say).
#pragma once

#include <cstdint>
#include <cstdlib>

struct RandomSweep {
  std::uint64_t seed;
  long count;
};

inline RandomSweep random_sweep(long default_count) {
  const char* seed = std::getenv("MINIBATCH_GEMM_SEED");
  const char* count = std::getenv("MINIBATCH_GEMM_PRODUCTS");
  return {seed ? std::strtoull(seed, nullptr, 10) : 20261203, count ? std::strtol(count, nullptr, 10) : default_count};
}
