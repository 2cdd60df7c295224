// The cuda backend tag and its memory: Tensor<T, cuda> storage lives on the current GPU.
//
//   memory<cuda>::allocate<T>(n)         n elements from the device context's pool (stream-ordered)
//   memory<cuda>::deallocate<T>(p, n)    back to the pool, stream-ordered; never throws
//   memory<cuda>::zero<T>(p, n)          all bits zero (= 0 for floats and integers), async
//   memory<cuda>::copy<T>(dst, src, n)   device to device, async
//   memory<cuda>::to_host(host, src, n)  device to host; returns once the host copy is complete
//   memory<cuda>::from_host(dst, host, n) host to device; returns once it is complete, so the
//                                        host buffer may be reused (not a hot path: batches
//                                        move with ops<cuda>::gather_rows)
//
// Everything runs on the context's stream (backend/cuda/context.cuh), so operations are
// ordered with each other and with ops<cuda>; only the host-facing copies wait. A tensor
// belongs to the device that was current when it was allocated. Failures throw cuda_error.
#pragma once

#include <limits>
#include <string_view>
#include <type_traits>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/context.cuh"
#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/core/error.hpp"
#include "minibatch/tensor/backend.hpp"

namespace minibatch {

struct cuda {
  static constexpr std::string_view name = "cuda";
};

template <>
struct memory<cuda> {
  template <class T>
  static T* allocate(index_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "memory<cuda>: device tensors hold trivially copyable values");
    require<value_error>(n <= std::numeric_limits<std::size_t>::max() / sizeof(T), "memory<cuda>::allocate: ", n,
                         " elements of ", sizeof(T), " bytes overflow std::size_t");
    return static_cast<T*>(cuda_backend::context().allocate(n * sizeof(T)));
  }
  template <class T>
  static void deallocate(T* p, index_t) noexcept {
    // At exit the runtime may be gone (then nothing is left to free); never throw here.
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return;
    try {
      cuda_backend::context(device).deallocate(p);
    } catch (...) {
    }
  }
  template <class T>
  static void zero(T* p, index_t n) {
    MINIBATCH_CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(T), cuda_backend::context().stream()));
  }
  template <class T>
  static void copy(T* dst, const T* src, index_t n) {
    MINIBATCH_CUDA_CHECK(
        cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, cuda_backend::context().stream()));
  }
  template <class T>
  static void to_host(T* host, const T* src, index_t n) {
    auto& ctx = cuda_backend::context();
    MINIBATCH_CUDA_CHECK(cudaMemcpyAsync(host, src, n * sizeof(T), cudaMemcpyDeviceToHost, ctx.stream()));
    ctx.synchronize();
  }
  template <class T>
  static void from_host(T* dst, const T* host, index_t n) {
    auto& ctx = cuda_backend::context();
    MINIBATCH_CUDA_CHECK(cudaMemcpyAsync(dst, host, n * sizeof(T), cudaMemcpyHostToDevice, ctx.stream()));
    ctx.synchronize();
  }
};

}  // namespace minibatch
