// Bias + activation, forward and backward, fused on the GPU (formulas of
// kernels/ref/activation.hpp and kernels/ref/bias.hpp):
//
//   bias_activation_forward: y[i][j] ← act(y[i][j] + b[j])     in place, one pass; b may be nullptr
//   activation_backward:     dx ← dy ⊙ act′, from the forward OUTPUT y; dx may equal dy
//
//   identity: act′ = 1    relu: [y > 0]    tanh: 1 − y²    sigmoid: y·(1 − y)
//
// y is row-major n×cols (the output of a dense layer's matrix product), so the bias add
// needs no separate pass over memory. Gradients OVERWRITE dx. relu passes NaN through and
// the sigmoid is the overflow-free form, as in the reference. The activation is a template
// parameter of the kernel (the launcher switches once), so the inner loop has no branch.
// 32-bit indices are used when the tensor has at most 2³¹ elements, 64-bit beyond.
// An unknown Activation value throws value_error.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/core/error.hpp"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/ref/activation.hpp"

namespace minibatch::kernels::cuda {

using ref::Activation;

template <Activation A, class T>
__device__ T activate(T x) {
  if constexpr (A == Activation::identity) return x;
  else if constexpr (A == Activation::relu) return x < T(0) ? T(0) : x;
  else if constexpr (A == Activation::tanh) return math::tanh(x);
  else return math::stable_sigmoid(x);
}

template <Activation A, class T>
__device__ T activation_grad(T y, T dy) {
  if constexpr (A == Activation::identity) return dy;
  else if constexpr (A == Activation::relu) return y > T(0) ? dy : T(0);
  else if constexpr (A == Activation::tanh) return dy * (T(1) - y * y);
  else return dy * y * (T(1) - y);
}

template <Activation A, class T, class Index>
__global__ void bias_activation_forward_kernel(T* y, const T* b, Index total, Index cols) {
  const Index stride = Index{gridDim.x} * blockDim.x;
  for (Index i = Index{blockIdx.x} * blockDim.x + threadIdx.x; i < total; i += stride) {
    T v = y[i];
    if (b) v += b[i % cols];
    y[i] = activate<A>(v);
  }
}

template <Activation A, class T>
__global__ void activation_backward_kernel(const T* y, const T* dy, T* dx, std::size_t count) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride)
    dx[i] = activation_grad<A>(y[i], dy[i]);
}

namespace detail {

// Calls f(ActivationTag<act>{}), handing the activation to f as a compile-time value.
template <Activation A>
struct ActivationTag {
  static constexpr Activation value = A;
};

template <class F>
void dispatch_activation(Activation act, const char* who, F&& f) {
  switch (act) {
    case Activation::identity:
      return f(ActivationTag<Activation::identity>{});
    case Activation::relu:
      return f(ActivationTag<Activation::relu>{});
    case Activation::tanh:
      return f(ActivationTag<Activation::tanh>{});
    case Activation::sigmoid:
      return f(ActivationTag<Activation::sigmoid>{});
  }
  throw value_error(minibatch::detail::concat(who, ": unknown Activation value ", static_cast<int>(act)));
}

}  // namespace detail

template <class T>
void bias_activation_forward(T* y, const T* b, std::size_t n, std::size_t cols, Activation act, cudaStream_t stream) {
  const std::size_t total = n * cols;
  detail::dispatch_activation(act, "bias_activation_forward", [&](auto tag) {
    if (total == 0) return;
    constexpr Activation A = decltype(tag)::value;
    const unsigned blocks = grid_blocks(total, block_threads, max_elementwise_blocks);
    if (total <= (std::size_t{1} << 31)) {
      bias_activation_forward_kernel<A, T, std::uint32_t><<<blocks, block_threads, 0, stream>>>(
          y, b, static_cast<std::uint32_t>(total), static_cast<std::uint32_t>(cols));
    } else {
      bias_activation_forward_kernel<A, T, std::size_t><<<blocks, block_threads, 0, stream>>>(y, b, total, cols);
    }
    MINIBATCH_CUDA_CHECK_LAUNCH("bias_activation_forward_kernel");
  });
}

template <class T>
void activation_backward(const T* y, const T* dy, T* dx, std::size_t count, Activation act, cudaStream_t stream) {
  detail::dispatch_activation(act, "activation_backward", [&](auto tag) {
    if (count == 0) return;
    constexpr Activation A = decltype(tag)::value;
    activation_backward_kernel<A><<<grid_blocks(count, block_threads, max_elementwise_blocks), block_threads, 0,
                                    stream>>>(y, dy, dx, count);
    MINIBATCH_CUDA_CHECK_LAUNCH("activation_backward_kernel");
  });
}

}  // namespace minibatch::kernels::cuda
