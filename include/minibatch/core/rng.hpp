// Portable seeded random numbers: the same seed gives the same numbers with every
// compiler and standard library, because nothing here uses std::*_distribution
// (whose algorithms are implementation-defined).
//
//   splitmix64        one 64-bit mixing step; seeds the engine and hashes (seed, stream)
//   Rng               xoshiro256** (Blackman & Vigna 2018), a 64-bit engine
//   Rng::below(n)     unbiased integer in [0, n) by rejection: draws r until
//                     r ≥ 2⁶⁴ mod n, returns r mod n
//   Rng::uniform()    double in [0, 1) from the top 53 bits
//   Rng::normal()     standard normal by the Box–Muller transform
//
// Rng(seed, stream) gives independent, reproducible streams for one seed, e.g. one per
// epoch of a sampler: the engine state is splitmix64 expansions of seed and stream.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

#include "minibatch/core/error.hpp"

namespace minibatch {

constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  using result_type = std::uint64_t;

  explicit constexpr Rng(std::uint64_t seed, std::uint64_t stream = 0) noexcept {
    std::uint64_t sm = seed;
    const std::uint64_t key = splitmix64(sm) ^ (stream * 0xD1B54A32D192ED03ULL);
    std::uint64_t expand = key;
    for (auto& word : s_) word = splitmix64(expand);
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Unbiased integer in [0, n); n must be positive.
  std::uint64_t below(std::uint64_t n) {
    require<value_error>(n > 0, "Rng::below: the range must be positive, got n = 0");
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = (*this)();
      if (r >= threshold) return r % n;
    }
  }

  // Double in [0, 1).
  constexpr double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  // Standard normal variate (Box–Muller; the second variate of each pair is discarded
  // so that the stream position does not depend on call history).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // in (0, 1], so log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }

  std::uint64_t s_[4]{};
};

}  // namespace minibatch
