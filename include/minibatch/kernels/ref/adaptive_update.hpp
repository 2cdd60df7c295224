// Adaptive and layer-wise optimizer updates, reference loops: each is ONE fused pass over
// all parameters, sliced. The flat buffer is cut into `slices` consecutive slices
// [offsets[s], offsets[s+1]) (offsets has slices + 1 entries, offsets[0] = 0), and every
// slice s carries its own weight decay wd[s] (0 where a mask excludes the slice) and, for
// LARS/LAMB, its own trust ratio ratio[s]. Without masks there is one slice and one wd.
//
//   adagrad_update (torch.optim.Adagrad; lr is the step's lr, lr_decay already applied):
//       g ← g + wd·θ;  S ← S + g²;  θ ← θ − lr·g/(√S + eps)
//   rmsprop_update (torch.optim.RMSprop; gbar may be null = not centered, buf null = no momentum):
//       g ← g + wd·θ;  v ← α·v + (1−α)·g²
//       centered: ḡ ← α·ḡ + (1−α)·g,  d = √(v − ḡ²) + eps;   else d = √v + eps
//       momentum: b ← μ·b + g/d,  θ ← θ − lr·b;              else θ ← θ − lr·g/d
//   adam_update (torch.optim.Adam / AdamW; bc1 = 1 − β₁ᵗ, bc2 = 1 − β₂ᵗ at step t ≥ 1):
//       coupled (Adam):     g ← g + wd·θ
//       decoupled (AdamW):  θ ← θ − lr·wd·θ        (before the Adam step, as PyTorch does)
//       m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²
//       θ ← θ − lr·(m/bc1)/(√(v/bc2) + eps)
//   lamb_direction_sum_squares / lamb_update (LAMB, You et al. 2019):
//       m, v as in Adam (no coupled decay);  u = (m/bc1)/(√(v/bc2) + eps) + wd·θ
//       out[s] = Σ_{i∈s} u²   (computed from the old state, nothing written)
//       θ ← θ − lr·ratio[s]·u  (and m, v written)
//   lars_update (LARS, You et al. 2017, in the lecture's momentum form):
//       m ← μ·m − lr·ratio[s]·(g + wd·θ);  θ ← θ + m
//   slice_sum_squares:  out[s] = Σ_{i∈s} x²  (accumulated in double)
//
// theta and the state buffers are updated in place; g is the mean gradient of the batch
// and is never written. The decaying state of Adam, LAMB and LARS (m, v) is stored through
// flush_subnormal (kernels/subnormal.hpp); Adagrad's sum only grows, and RMSProp's state is
// left as PyTorch keeps it (a flushed v next to an unflushed ḡ² could make the centered
// variance negative). Scalars are taken as T (not deduced from the call).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "minibatch/kernels/subnormal.hpp"

namespace minibatch::kernels::ref {

template <class T>
void adagrad_update(T* theta, T* sum, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd,
                    std::type_identity_t<T> lr, std::type_identity_t<T> eps) {
  for (std::size_t s = 0; s < slices; ++s) {
    const T decay = wd[s];
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      const T gi = g[i] + decay * theta[i];
      sum[i] += gi * gi;
      theta[i] -= lr * gi / (std::sqrt(sum[i]) + eps);
    }
  }
}

template <class T>
void rmsprop_update(T* theta, T* v, T* gbar, T* buf, const T* g, const std::size_t* offsets, std::size_t slices,
                    const T* wd, std::type_identity_t<T> lr, std::type_identity_t<T> alpha,
                    std::type_identity_t<T> eps, std::type_identity_t<T> momentum) {
  for (std::size_t s = 0; s < slices; ++s) {
    const T decay = wd[s];
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      const T gi = g[i] + decay * theta[i];
      v[i] = alpha * v[i] + (T(1) - alpha) * gi * gi;
      T d;
      if (gbar) {
        gbar[i] = alpha * gbar[i] + (T(1) - alpha) * gi;
        d = std::sqrt(v[i] - gbar[i] * gbar[i]) + eps;
      } else {
        d = std::sqrt(v[i]) + eps;
      }
      if (buf) {
        buf[i] = momentum * buf[i] + gi / d;
        theta[i] -= lr * buf[i];
      } else {
        theta[i] -= lr * gi / d;
      }
    }
  }
}

template <class T>
void adam_update(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd,
                 std::type_identity_t<T> lr, std::type_identity_t<T> beta1, std::type_identity_t<T> beta2,
                 std::type_identity_t<T> eps, std::type_identity_t<T> bc1, std::type_identity_t<T> bc2,
                 bool decoupled) {
  const T step_size = lr / bc1;
  const T bc2_sqrt = std::sqrt(bc2);
  for (std::size_t s = 0; s < slices; ++s) {
    const T decay = wd[s];
    const T shrink = T(1) - lr * decay;
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      T gi = g[i];
      if (decoupled) theta[i] *= shrink;
      else gi += decay * theta[i];
      m[i] = flush_subnormal(beta1 * m[i] + (T(1) - beta1) * gi);
      v[i] = flush_subnormal(beta2 * v[i] + (T(1) - beta2) * gi * gi);
      theta[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
    }
  }
}

template <class T>
void slice_sum_squares(const T* x, const std::size_t* offsets, std::size_t slices, double* out) {
  for (std::size_t s = 0; s < slices; ++s) {
    double sum = 0.0;
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      const double xi = static_cast<double>(x[i]);
      sum += xi * xi;
    }
    out[s] = sum;
  }
}

namespace detail {
// The LAMB direction of one element from the old moments; the new moments come back in
// m_new, v_new. Shared by both LAMB passes so that the norm and the step see the same u.
template <class T>
T lamb_direction(T theta, T m, T v, T g, T decay, T beta1, T beta2, T eps, T bc1, T bc2_sqrt, T& m_new, T& v_new) {
  m_new = flush_subnormal(beta1 * m + (T(1) - beta1) * g);
  v_new = flush_subnormal(beta2 * v + (T(1) - beta2) * g * g);
  return (m_new / bc1) / (std::sqrt(v_new) / bc2_sqrt + eps) + decay * theta;
}
}  // namespace detail

template <class T>
void lamb_direction_sum_squares(const T* theta, const T* m, const T* v, const T* g, const std::size_t* offsets,
                                std::size_t slices, const T* wd, std::type_identity_t<T> beta1,
                                std::type_identity_t<T> beta2, std::type_identity_t<T> eps,
                                std::type_identity_t<T> bc1, std::type_identity_t<T> bc2, double* out) {
  const T bc2_sqrt = std::sqrt(bc2);
  for (std::size_t s = 0; s < slices; ++s) {
    double sum = 0.0;
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      T m_new, v_new;
      const double u = static_cast<double>(
          detail::lamb_direction<T>(theta[i], m[i], v[i], g[i], wd[s], beta1, beta2, eps, bc1, bc2_sqrt, m_new, v_new));
      sum += u * u;
    }
    out[s] = sum;
  }
}

template <class T>
void lamb_update(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd,
                 const T* ratio, std::type_identity_t<T> lr, std::type_identity_t<T> beta1,
                 std::type_identity_t<T> beta2, std::type_identity_t<T> eps, std::type_identity_t<T> bc1,
                 std::type_identity_t<T> bc2) {
  const T bc2_sqrt = std::sqrt(bc2);
  for (std::size_t s = 0; s < slices; ++s) {
    const T step = lr * ratio[s];
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      const T u =
          detail::lamb_direction<T>(theta[i], m[i], v[i], g[i], wd[s], beta1, beta2, eps, bc1, bc2_sqrt, m[i], v[i]);
      theta[i] -= step * u;
    }
  }
}

template <class T>
void lars_update(T* theta, T* m, const T* g, const std::size_t* offsets, std::size_t slices, const T* wd,
                 const T* ratio, std::type_identity_t<T> lr, std::type_identity_t<T> momentum) {
  for (std::size_t s = 0; s < slices; ++s) {
    const T step = lr * ratio[s];
    const T decay = wd[s];
    for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      m[i] = flush_subnormal(momentum * m[i] - step * (g[i] + decay * theta[i]));
      theta[i] += m[i];
    }
  }
}

template <class T>
void scale(T* x, std::size_t count, std::type_identity_t<T> factor) {
  for (std::size_t i = 0; i < count; ++i) x[i] *= factor;
}

}  // namespace minibatch::kernels::ref
