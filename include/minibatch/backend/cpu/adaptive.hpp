// The cpu's Adam, RMSProp and Adagrad updates, vectorized: the formulas of
// kernels/ref/adaptive_update.hpp (the plain-loop reference they are tested against),
// written as Eigen array expressions over chunks of a slice.
//
// The plain loops do not vectorize: std::sqrt may set errno (the default -fmath-errno), so
// GCC and clang call it once per element. 670 k parameters took 4 ms per Adam step on one
// core. Eigen's packet sqrt and division do not touch errno. Each chunk of `chunk` entries
// runs through the formula's statements while it is in L1, so the update is still one pass
// over memory. Results agree with the reference to rounding: the order of the operations is
// the reference's, but a compiler may contract a·b + c into one FMA in one and not in the
// other (tests/kernels/test_cpu_adaptive.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <Eigen/Core>

namespace minibatch::cpu_backend::adaptive {

inline constexpr std::size_t chunk = 512;

template <class T>
using Array = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// x, with entries below the smallest normal number in magnitude stored as 0
// (kernels/subnormal.hpp).
template <class T, class X>
auto flushed(const X& x) {
  return (x.abs() < std::numeric_limits<T>::min()).select(T(0), x);
}

// Calls f(begin, length) for the chunks of every slice, with the slice's decay.
template <class F>
void for_each_chunk(const std::size_t* offsets, std::size_t slices, F&& f) {
  for (std::size_t s = 0; s < slices; ++s)
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; i += chunk)
      f(s, i, static_cast<Eigen::Index>(std::min(chunk, offsets[s + 1] - i)));
}

// gi = g + decay·θ for one chunk, in `buffer`, or g itself without decay.
template <class T>
ConstArray<T> decayed(const T* g, const T* theta, T decay, std::size_t i, Eigen::Index n, T* buffer) {
  if (decay == T(0)) return ConstArray<T>(g + i, n);
  Array<T>(buffer, n) = ConstArray<T>(g + i, n) + decay * ConstArray<T>(theta + i, n);
  return ConstArray<T>(buffer, n);
}

template <class T>
void adam_update(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd, T lr,
                 T beta1, T beta2, T eps, T bc1, T bc2, bool decoupled) {
  const T step_size = lr / bc1;
  const T bc2_sqrt = std::sqrt(bc2);
  T buffer[chunk];
  for_each_chunk(offsets, slices, [&](std::size_t s, std::size_t i, Eigen::Index n) {
    Array<T> th(theta + i, n), mi(m + i, n), vi(v + i, n);
    if (decoupled) th *= T(1) - lr * wd[s];
    const ConstArray<T> gi = decayed(g, theta, decoupled ? T(0) : wd[s], i, n, buffer);
    mi = flushed<T>(beta1 * mi + (T(1) - beta1) * gi);
    vi = flushed<T>(beta2 * vi + ((T(1) - beta2) * gi) * gi);
    th -= step_size * mi / (vi.sqrt() / bc2_sqrt + eps);
  });
}

template <class T>
void adagrad_update(T* theta, T* sum, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd, T lr,
                    T eps) {
  T buffer[chunk];
  for_each_chunk(offsets, slices, [&](std::size_t s, std::size_t i, Eigen::Index n) {
    Array<T> th(theta + i, n), si(sum + i, n);
    const ConstArray<T> gi = decayed(g, theta, wd[s], i, n, buffer);
    si += gi * gi;
    th -= lr * gi / (si.sqrt() + eps);
  });
}

// gbar, buf: null when not centered, without momentum.
template <class T>
void rmsprop_update(T* theta, T* v, T* gbar, T* buf, const T* g, const std::size_t* offsets, std::size_t slices,
                    const T* wd, T lr, T alpha, T eps, T momentum) {
  T buffer[chunk], denom[chunk];
  for_each_chunk(offsets, slices, [&](std::size_t s, std::size_t i, Eigen::Index n) {
    Array<T> th(theta + i, n), vi(v + i, n), d(denom, n);
    const ConstArray<T> gi = decayed(g, theta, wd[s], i, n, buffer);
    vi = alpha * vi + ((T(1) - alpha) * gi) * gi;
    if (gbar) {
      Array<T> ga(gbar + i, n);
      ga = alpha * ga + (T(1) - alpha) * gi;
      d = (vi - ga * ga).sqrt() + eps;
    } else {
      d = vi.sqrt() + eps;
    }
    if (buf) {
      Array<T> b(buf + i, n);
      b = momentum * b + gi / d;
      th -= lr * b;
    } else {
      th -= lr * gi / d;
    }
  });
}

}  // namespace minibatch::cpu_backend::adaptive
