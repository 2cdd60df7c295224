// Softmax cross-entropy on the GPU, loss and gradient fused: one warp per row reads the
// row's logits, and in the same kernel writes its dlogits and adds its loss (the formulas
// of kernels/ref/softmax_xent.hpp):
//
//   mᵢ = maxₖ zᵢₖ,  sᵢ = Σₖ exp(zᵢₖ − mᵢ)                  (stable: every exponent ≤ 0)
//   L  = (1/n)·Σᵢ [ log sᵢ − (zᵢ,yᵢ − mᵢ) ]                  written to *loss (device)
//   dLdz = (exp(zᵢⱼ − mᵢ)/sᵢ − [j = yᵢ]) / n                  OVERWRITES dlogits (may be nullptr)
//
// The row's exponentials are taken in T; the loss is summed over rows in double by a
// deterministic two-pass reduction (each block's rows → partials[block], then
// finish_sum), no atomics. Labels live on the device, so they cannot be checked without
// a synchronisation: a label outside [0, classes) makes that row's loss and dlogits NaN,
// hence the mean loss NaN (which a training loop's divergence guard catches). All
// pointers are device pointers; partials holds at least max_partials doubles; n and
// classes must be positive (ops<cuda> checks).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/cuda/reduce.cuh"

namespace minibatch::kernels::cuda {

template <class T>
__global__ void softmax_xent_kernel(const T* logits, const std::int32_t* labels, T* dlogits, std::size_t n,
                                    std::size_t classes, T inv_n, double* partials) {
  const unsigned lane = threadIdx.x % 32;
  double block_loss = 0.0;  // meaningful in lane 0 of each warp
  for (std::size_t row = std::size_t{blockIdx.x} * warp_rows_per_block + threadIdx.x / 32; row < n;
       row += std::size_t{gridDim.x} * warp_rows_per_block) {
    const T* z = logits + row * classes;
    const std::int32_t label = labels[row];
    const bool valid = label >= 0 && static_cast<std::size_t>(label) < classes;
    T m = -INFINITY;
    for (std::size_t j = lane; j < classes; j += 32) m = math::fmax(m, z[j]);
    m = warp_max(m);
    T s = T(0);
    for (std::size_t j = lane; j < classes; j += 32) s += math::exp(z[j] - m);
    s = __shfl_sync(0xffffffffu, warp_sum(s), 0);
    if (dlogits) {
      T* d = dlogits + row * classes;
      for (std::size_t j = lane; j < classes; j += 32) {
        const T p = math::exp(z[j] - m) / s;
        d[j] = valid ? (p - (j == static_cast<std::size_t>(label) ? T(1) : T(0))) * inv_n : T(NAN);
      }
    }
    if (lane == 0)
      block_loss += valid ? static_cast<double>(math::log(s)) - static_cast<double>(z[label] - m) : double(NAN);
  }
  const double total = block_sum<block_threads>(lane == 0 ? block_loss : 0.0);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
void softmax_xent(const T* logits, const std::int32_t* labels, T* dlogits, T* loss, std::size_t n, std::size_t classes,
                  double* partials, cudaStream_t stream) {
  const unsigned blocks = grid_blocks(n, warp_rows_per_block, max_partials);
  softmax_xent_kernel<<<blocks, block_threads, 0, stream>>>(logits, labels, dlogits, n, classes,
                                                            static_cast<T>(1.0 / static_cast<double>(n)), partials);
  MINIBATCH_CUDA_CHECK_LAUNCH("softmax_xent_kernel");
  finish_sum(partials, blocks, loss, Scale{1.0 / static_cast<double>(n)}, stream);
}

}  // namespace minibatch::kernels::cuda
