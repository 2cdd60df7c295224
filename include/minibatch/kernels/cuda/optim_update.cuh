// Fused optimizer updates on the GPU: ONE launch per step over the whole flat parameter
// buffer (every parameter of a model lives in one ParamBuffer), each element read and
// written once. The formulas are those of kernels/ref/optim_update.hpp:
//
//   gd_update:              θ ← θ − lr·g
//   momentum_update:        m ← mu·m − lr·g;  θ ← θ + m            (lecture form, m⁰ = 0)
//     nesterov:             m ← mu·m − lr·g;  θ ← θ + mu·m − lr·g
//   momentum_update_torch:  v ← g (first step) or mu·v + (1 − dampening)·g;
//                           θ ← θ − lr·(nesterov ? g + mu·v : v)   (torch.optim.SGD)
//
// theta and the state are updated in place; g is the batch's mean gradient. Pointers are
// device pointers; count may exceed 2³¹. The launch is queued on `stream` and checked.
// The device may contract a·b + c into one fused multiply-add, so results can differ
// from the reference in the last bit.
#pragma once

#include <cstddef>
#include <type_traits>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/subnormal.hpp"

namespace minibatch::kernels::cuda {

template <class T>
__global__ void gd_update_kernel(T* theta, const T* g, std::size_t count, T lr) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride)
    theta[i] -= lr * g[i];
}

template <class T>
__global__ void momentum_update_kernel(T* theta, T* m, const T* g, std::size_t count, T lr, T mu, bool nesterov) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride) {
    const T gi = g[i];
    const T mi = flush_subnormal(mu * m[i] - lr * gi);
    m[i] = mi;
    theta[i] += nesterov ? mu * mi - lr * gi : mi;
  }
}

template <class T>
__global__ void momentum_update_torch_kernel(T* theta, T* v, const T* g, std::size_t count, T lr, T mu, T dampening,
                                             bool nesterov, bool first_step) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride) {
    const T gi = g[i];
    const T vi = flush_subnormal(first_step ? gi : mu * v[i] + (T(1) - dampening) * gi);
    v[i] = vi;
    theta[i] -= lr * (nesterov ? gi + mu * vi : vi);
  }
}

template <class T>
void gd_update(T* theta, const T* g, std::size_t count, std::type_identity_t<T> lr, cudaStream_t stream) {
  if (count == 0) return;
  gd_update_kernel<<<grid_blocks(count, block_threads, max_elementwise_blocks), block_threads, 0, stream>>>(
      theta, g, count, lr);
  MINIBATCH_CUDA_CHECK_LAUNCH("gd_update_kernel");
}

template <class T>
void momentum_update(T* theta, T* m, const T* g, std::size_t count, std::type_identity_t<T> lr,
                     std::type_identity_t<T> mu, bool nesterov, cudaStream_t stream) {
  if (count == 0) return;
  momentum_update_kernel<<<grid_blocks(count, block_threads, max_elementwise_blocks), block_threads, 0, stream>>>(
      theta, m, g, count, lr, mu, nesterov);
  MINIBATCH_CUDA_CHECK_LAUNCH("momentum_update_kernel");
}

template <class T>
void momentum_update_torch(T* theta, T* v, const T* g, std::size_t count, std::type_identity_t<T> lr,
                           std::type_identity_t<T> mu, std::type_identity_t<T> dampening, bool nesterov,
                           bool first_step, cudaStream_t stream) {
  if (count == 0) return;
  momentum_update_torch_kernel<<<grid_blocks(count, block_threads, max_elementwise_blocks), block_threads, 0,
                                 stream>>>(theta, v, g, count, lr, mu, dampening, nesterov, first_step);
  MINIBATCH_CUDA_CHECK_LAUNCH("momentum_update_torch_kernel");
}

}  // namespace minibatch::kernels::cuda
