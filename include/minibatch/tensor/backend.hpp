// Backends are tag types (Thrust-style): `cpu` here, `cuda` in <minibatch/cuda.cuh>.
// Each backend specialises `memory<Backend>` with how its storage is allocated, zeroed
// and copied; everything above the tensor layer is generic over the tag.
//
//   memory<B>::allocate<T>(n)          uninitialised storage for n elements (n > 0)
//   memory<B>::deallocate<T>(p, n)
//   memory<B>::zero<T>(p, n)
//   memory<B>::copy<T>(dst, src, n)    within the backend
//   memory<B>::to_host / from_host     between the backend and host memory
#pragma once

#include <algorithm>
#include <concepts>
#include <cstring>
#include <new>
#include <string_view>

#include "minibatch/core/index.hpp"

namespace minibatch {

struct cpu {
  static constexpr std::string_view name = "cpu";
};

template <class B>
struct memory;

template <>
struct memory<cpu> {
  // 64-byte alignment: one cache line, and whole AVX-512 vectors for Eigen.
  static constexpr std::align_val_t alignment{64};

  template <class T>
  static T* allocate(index_t n) {
    return static_cast<T*>(::operator new[](n * sizeof(T), alignment));
  }
  template <class T>
  static void deallocate(T* p, index_t) noexcept {
    ::operator delete[](p, alignment);
  }
  template <class T>
  static void zero(T* p, index_t n) noexcept {
    std::fill_n(p, n, T{});
  }
  template <class T>
  static void copy(T* dst, const T* src, index_t n) noexcept {
    std::copy_n(src, n, dst);
  }
  template <class T>
  static void to_host(T* host, const T* src, index_t n) noexcept {
    std::copy_n(src, n, host);
  }
  template <class T>
  static void from_host(T* dst, const T* host, index_t n) noexcept {
    std::copy_n(host, n, dst);
  }
};

// The element-wise operations the generic layers need (fused optimizer updates, norms),
// specialised per backend: ops<cpu> in backend/cpu/ops.hpp, ops<cuda> in the CUDA headers.
template <class B>
struct ops;

// A backend is a tag with a name and a `memory` specialisation.
template <class B>
concept Backend = requires {
  { B::name } -> std::convertible_to<std::string_view>;
  { memory<B>::template allocate<float>(index_t{1}) } -> std::same_as<float*>;
};

}  // namespace minibatch
