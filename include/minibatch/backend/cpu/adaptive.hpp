// The cpu's Adam, RMSProp and Adagrad updates, vectorized: the formulas of
// kernels/ref/adaptive_update.hpp (the plain-loop reference they are tested against),
// written with Eigen's packet functions, one packet of entries at a time through all of a
// formula's statements.
//
// The plain loops do not vectorize: std::sqrt may set errno (the default -fmath-errno), so
// GCC and clang call it once per element. 670 k parameters took 4 ms per Adam step on one
// core. Eigen's packet sqrt and division do not touch errno. Results agree with the
// reference to rounding: the order of the operations is the reference's, but a compiler
// may contract a·b + c into one FMA in one and not in the other
// (tests/kernels/test_cpu_adaptive.cpp).
//
// Every entry goes through the same packet code, wherever it falls: the last n mod packet
// entries of a slice are copied into a packet's worth of zeros, updated there and copied
// back. An Eigen array expression would update them, and the entries before its first
// aligned store, one at a time in scalar code, which a compiler may contract into FMAs where
// the packet code is not (GCC does, with -mfma: -ffp-contract=fast is its default). An
// entry's bits would then depend on where its slice starts and ends, and the update applied
// layer by layer inside backward (Optimizer::step_in_parts) would part from the same update
// over the whole vector (tests/train/test_fused_step.cpp, built with -march=native).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

#include <Eigen/Core>

namespace minibatch::cpu_backend::adaptive {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <class T>
inline constexpr std::size_t packet_size = static_cast<std::size_t>(Eigen::internal::unpacket_traits<Packet<T>>::size);

// x, with entries below the smallest normal number in magnitude stored as 0
// (kernels/subnormal.hpp).
template <class T>
Packet<T> flushed(const Packet<T>& x) {
  using namespace Eigen::internal;
  return pselect(pcmp_lt(pabs(x), pset1<Packet<T>>(std::numeric_limits<T>::min())), pzero(x), x);
}

// For every slice s, step = slice_step(s) (the slice's constants, made once), then for every
// packet of its entries step(state, g, i): the packet at entry i of the K state arrays (null
// ones are not used) and of the gradient g. The slice's last n mod packet entries go through
// step on zero-padded copies (i = 0), which are copied back.
template <class T, std::size_t K, class SliceStep>
void for_each_packet(std::array<T*, K> state, const T* g, const std::size_t* offsets, std::size_t slices,
                     SliceStep&& slice_step) {
  constexpr std::size_t P = packet_size<T>;
  for (std::size_t s = 0; s < slices; ++s) {
    const auto step = slice_step(s);
    std::size_t i = offsets[s];
    const std::size_t end = offsets[s + 1];
    for (; i + P <= end; i += P) step(state, g, i);
    if (i == end) continue;
    alignas(64) T copies[K][P];
    alignas(64) T g_copy[P];
    std::array<T*, K> at{};
    for (std::size_t k = 0; k < K; ++k) {
      if (!state[k]) continue;
      at[k] = copies[k];
      std::fill(copies[k], copies[k] + P, T(0));
      std::copy(state[k] + i, state[k] + end, copies[k]);
    }
    std::fill(g_copy, g_copy + P, T(0));
    std::copy(g + i, g + end, g_copy);
    step(at, g_copy, std::size_t{0});
    for (std::size_t k = 0; k < K; ++k)
      if (state[k]) std::copy(copies[k], copies[k] + (end - i), state[k] + i);
  }
}

template <class T>
void adam_update(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd, T lr,
                 T beta1, T beta2, T eps, T bc1, T bc2, bool decoupled) {
  using namespace Eigen::internal;
  using Pk = Packet<T>;
  const Pk step_size = pset1<Pk>(lr / bc1), bc2_sqrt = pset1<Pk>(std::sqrt(bc2)), e = pset1<Pk>(eps);
  const Pk b1 = pset1<Pk>(beta1), b2 = pset1<Pk>(beta2), c1 = pset1<Pk>(T(1) - beta1), c2 = pset1<Pk>(T(1) - beta2);
  for_each_packet<T, 3>({theta, m, v}, g, offsets, slices, [=](std::size_t s) {
    const bool decays = !decoupled && wd[s] != T(0);
    const Pk shrink = pset1<Pk>(T(1) - lr * wd[s]), decay = pset1<Pk>(wd[s]);
    return [=](std::array<T*, 3> at, const T* gp, std::size_t i) {
      Pk th = ploadu<Pk>(at[0] + i), gi = ploadu<Pk>(gp + i);
      if (decoupled) th = pmul(th, shrink);
      else if (decays) gi = padd(gi, pmul(decay, th));
      const Pk mi = flushed<T>(padd(pmul(b1, ploadu<Pk>(at[1] + i)), pmul(c1, gi)));
      const Pk vi = flushed<T>(padd(pmul(b2, ploadu<Pk>(at[2] + i)), pmul(pmul(c2, gi), gi)));
      th = psub(th, pdiv(pmul(step_size, mi), padd(pdiv(psqrt(vi), bc2_sqrt), e)));
      pstoreu(at[0] + i, th);
      pstoreu(at[1] + i, mi);
      pstoreu(at[2] + i, vi);
    };
  });
}

template <class T>
void adagrad_update(T* theta, T* sum, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd, T lr,
                    T eps) {
  using namespace Eigen::internal;
  using Pk = Packet<T>;
  const Pk rate = pset1<Pk>(lr), e = pset1<Pk>(eps);
  for_each_packet<T, 2>({theta, sum}, g, offsets, slices, [=](std::size_t s) {
    const bool decays = wd[s] != T(0);
    const Pk decay = pset1<Pk>(wd[s]);
    return [=](std::array<T*, 2> at, const T* gp, std::size_t i) {
      Pk th = ploadu<Pk>(at[0] + i), gi = ploadu<Pk>(gp + i);
      if (decays) gi = padd(gi, pmul(decay, th));
      const Pk si = padd(ploadu<Pk>(at[1] + i), pmul(gi, gi));
      th = psub(th, pdiv(pmul(rate, gi), padd(psqrt(si), e)));
      pstoreu(at[0] + i, th);
      pstoreu(at[1] + i, si);
    };
  });
}

// gbar, buf: null when not centered, without momentum.
template <class T>
void rmsprop_update(T* theta, T* v, T* gbar, T* buf, const T* g, const std::size_t* offsets, std::size_t slices,
                    const T* wd, T lr, T alpha, T eps, T momentum) {
  using namespace Eigen::internal;
  using Pk = Packet<T>;
  const Pk rate = pset1<Pk>(lr), a = pset1<Pk>(alpha), c = pset1<Pk>(T(1) - alpha), e = pset1<Pk>(eps),
           mu = pset1<Pk>(momentum);
  for_each_packet<T, 4>({theta, v, gbar, buf}, g, offsets, slices, [=](std::size_t s) {
    const bool decays = wd[s] != T(0);
    const Pk decay = pset1<Pk>(wd[s]);
    return [=](std::array<T*, 4> at, const T* gp, std::size_t i) {
      Pk th = ploadu<Pk>(at[0] + i), gi = ploadu<Pk>(gp + i);
      if (decays) gi = padd(gi, pmul(decay, th));
      const Pk vi = padd(pmul(a, ploadu<Pk>(at[1] + i)), pmul(pmul(c, gi), gi));
      pstoreu(at[1] + i, vi);
      Pk d;
      if (at[2]) {
        const Pk ga = padd(pmul(a, ploadu<Pk>(at[2] + i)), pmul(c, gi));
        pstoreu(at[2] + i, ga);
        d = padd(psqrt(psub(vi, pmul(ga, ga))), e);
      } else {
        d = padd(psqrt(vi), e);
      }
      if (at[3]) {
        const Pk b = padd(pmul(mu, ploadu<Pk>(at[3] + i)), pdiv(gi, d));
        pstoreu(at[3] + i, b);
        th = psub(th, pmul(rate, b));
      } else {
        th = psub(th, pdiv(pmul(rate, gi), d));
      }
      pstoreu(at[0] + i, th);
    };
  });
}

}  // namespace minibatch::cpu_backend::adaptive
