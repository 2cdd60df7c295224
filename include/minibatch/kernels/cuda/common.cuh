// What every CUDA kernel of minibatch shares: block size and grid sizing for grid-stride
// loops, float/double overloads of the device math functions (so a kernel templated on T
// calls expf for float and exp for double), and the deterministic warp and block sums
// that the reductions are built from: a fixed shuffle tree and a fixed order over the
// warps, never atomics, so the same input gives the same bits on every run.
//
// Indices are std::size_t throughout: a grid-stride loop over more than 2³¹ elements
// must not wrap.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

namespace minibatch::kernels::cuda {

inline constexpr unsigned block_threads = 256;
// Blocks of the first pass of a two-pass reduction, i.e. the partial sums it writes.
// Fixed (not derived from the device), so results do not depend on the GPU model.
inline constexpr unsigned max_partials = 1024;
// Rows a block of a one-warp-per-row kernel handles at once.
inline constexpr unsigned warp_rows_per_block = block_threads / 32;
// Cap on the blocks of an element-wise grid-stride loop.
inline constexpr std::size_t max_elementwise_blocks = std::size_t{1} << 16;

// Blocks to cover `count` items at `per_block` items a block, at least 1, at most `cap`.
inline unsigned grid_blocks(std::size_t count, std::size_t per_block, std::size_t cap) {
  const std::size_t blocks = (count + per_block - 1) / per_block;
  return static_cast<unsigned>(blocks == 0 ? 1 : (blocks < cap ? blocks : cap));
}

namespace math {
__device__ inline float exp(float x) { return ::expf(x); }
__device__ inline double exp(double x) { return ::exp(x); }
__device__ inline float log(float x) { return ::logf(x); }
__device__ inline double log(double x) { return ::log(x); }
__device__ inline float log1p(float x) { return ::log1pf(x); }
__device__ inline double log1p(double x) { return ::log1p(x); }
__device__ inline float sqrt(float x) { return ::sqrtf(x); }
__device__ inline double sqrt(double x) { return ::sqrt(x); }
__device__ inline float tanh(float x) { return ::tanhf(x); }
__device__ inline double tanh(double x) { return ::tanh(x); }
__device__ inline float fmax(float a, float b) { return ::fmaxf(a, b); }
__device__ inline double fmax(double a, double b) { return ::fmax(a, b); }
__device__ inline float abs(float x) { return ::fabsf(x); }
__device__ inline double abs(double x) { return ::fabs(x); }

// σ(x) without overflow: the exponential taken is e^(−|x|) ≤ 1 (as kernels::ref).
template <class T>
__device__ T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}
}  // namespace math

// Sum over the 32 lanes; the total is valid in lane 0.
template <class T>
__device__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Maximum over the 32 lanes, ignoring NaN (fmax); valid in every lane.
template <class T>
__device__ T warp_max(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = math::fmax(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the block of `Threads` threads; the total is valid in thread 0. Call it once
// per kernel (it owns a static shared array).
template <unsigned Threads>
__device__ double block_sum(double v) {
  static_assert(Threads % 32 == 0 && Threads <= 1024);
  __shared__ double warp_totals[Threads / 32];
  v = warp_sum(v);
  if (threadIdx.x % 32 == 0) warp_totals[threadIdx.x / 32] = v;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.x == 0)
    for (unsigned w = 0; w < Threads / 32; ++w) total += warp_totals[w];
  return total;
}

}  // namespace minibatch::kernels::cuda
