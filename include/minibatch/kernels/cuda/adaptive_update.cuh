// Adaptive and layer-wise optimizer updates on the GPU, each ONE launch over the whole
// flat parameter buffer, with the formulas of kernels/ref/adaptive_update.hpp (read them
// there): adagrad_update, rmsprop_update, adam_update (Adam / AdamW), lamb_update,
// lars_update and scale; plus the per-slice sums of squares the trust ratios need,
// slice_sum_squares and lamb_direction_sum_squares.
//
// The buffer is cut into `slices` slices [offsets[s], offsets[s+1]) with one weight decay
// wd[s] (and trust ratio ratio[s]) each; offsets, wd and ratio are DEVICE arrays. An
// element-wise kernel finds its element's slice once by binary search over offsets and
// then walks forward along its grid-stride loop. The per-slice sums are deterministic
// two-pass reductions without atomics: a 2-D grid (blocks along a slice × slices) writes
// partial sums to a workspace, and a second kernel adds each slice's partials in order
// (with one block per slice the first pass writes out[s] directly). The number of blocks
// depends on the slice count and the workspace size only. Scalars as in the reference
// (step sizes and √bc2 are formed on the host, in T, exactly as the reference does).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/subnormal.hpp"

namespace minibatch::kernels::cuda {

// The slice of element i: the last s with offsets[s] ≤ i (offsets has slices + 1 entries).
struct SliceCursor {
  const std::size_t* offsets;
  std::size_t slices;
  std::size_t s = 0;

  __device__ std::size_t seek(std::size_t i) {
    if (i >= offsets[s + 1] || i < offsets[s]) {
      if (i >= offsets[s + 1] && s + 1 < slices && i < offsets[s + 2]) {
        ++s;  // the common case of a grid-stride step: into the next slice
      } else {
        std::size_t lo = 0, hi = slices;  // offsets[lo] ≤ i < offsets[hi]
        while (hi - lo > 1) {
          const std::size_t mid = lo + (hi - lo) / 2;
          if (offsets[mid] <= i) lo = mid;
          else hi = mid;
        }
        s = lo;
      }
    }
    return s;
  }
};

// Runs f(i, s) for every element i < count, s its slice, in a grid-stride loop.
template <class F>
__device__ void for_each_sliced(std::size_t count, const std::size_t* offsets, std::size_t slices, F&& f) {
  SliceCursor cursor{offsets, slices};
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride) f(i, cursor.seek(i));
}

template <class T>
__global__ void adagrad_update_kernel(T* theta, T* sum, const T* g, const std::size_t* offsets, std::size_t slices,
                                      std::size_t count, const T* wd, T lr, T eps) {
  for_each_sliced(count, offsets, slices, [&](std::size_t i, std::size_t s) {
    const T gi = g[i] + wd[s] * theta[i];
    const T si = sum[i] + gi * gi;
    sum[i] = si;
    theta[i] -= lr * gi / (math::sqrt(si) + eps);
  });
}

template <class T>
__global__ void rmsprop_update_kernel(T* theta, T* v, T* gbar, T* buf, const T* g, const std::size_t* offsets,
                                      std::size_t slices, std::size_t count, const T* wd, T lr, T alpha, T eps,
                                      T momentum) {
  for_each_sliced(count, offsets, slices, [&](std::size_t i, std::size_t s) {
    const T gi = g[i] + wd[s] * theta[i];
    const T vi = alpha * v[i] + (T(1) - alpha) * gi * gi;
    v[i] = vi;
    T d;
    if (gbar) {
      const T gb = alpha * gbar[i] + (T(1) - alpha) * gi;
      gbar[i] = gb;
      d = math::sqrt(vi - gb * gb) + eps;
    } else {
      d = math::sqrt(vi) + eps;
    }
    if (buf) {
      const T b = momentum * buf[i] + gi / d;
      buf[i] = b;
      theta[i] -= lr * b;
    } else {
      theta[i] -= lr * gi / d;
    }
  });
}

template <class T>
__global__ void adam_update_kernel(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices,
                                   std::size_t count, const T* wd, T lr, T beta1, T beta2, T eps, T step_size,
                                   T bc2_sqrt, bool decoupled) {
  for_each_sliced(count, offsets, slices, [&](std::size_t i, std::size_t s) {
    T gi = g[i];
    T th = theta[i];
    if (decoupled) th *= T(1) - lr * wd[s];
    else gi += wd[s] * th;
    const T mi = flush_subnormal(beta1 * m[i] + (T(1) - beta1) * gi);
    const T vi = flush_subnormal(beta2 * v[i] + (T(1) - beta2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    theta[i] = th - step_size * mi / (math::sqrt(vi) / bc2_sqrt + eps);
  });
}

// The LAMB direction u of one element from the old moments (the reference's detail::lamb_direction).
template <class T>
__device__ T lamb_direction(T theta, T m, T v, T g, T decay, T beta1, T beta2, T eps, T bc1, T bc2_sqrt, T& m_new,
                            T& v_new) {
  m_new = flush_subnormal(beta1 * m + (T(1) - beta1) * g);
  v_new = flush_subnormal(beta2 * v + (T(1) - beta2) * g * g);
  return (m_new / bc1) / (math::sqrt(v_new) / bc2_sqrt + eps) + decay * theta;
}

template <class T>
__global__ void lamb_update_kernel(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices,
                                   std::size_t count, const T* wd, const T* ratio, T lr, T beta1, T beta2, T eps,
                                   T bc1, T bc2_sqrt) {
  for_each_sliced(count, offsets, slices, [&](std::size_t i, std::size_t s) {
    T m_new, v_new;
    const T u = lamb_direction(theta[i], m[i], v[i], g[i], wd[s], beta1, beta2, eps, bc1, bc2_sqrt, m_new, v_new);
    m[i] = m_new;
    v[i] = v_new;
    theta[i] -= lr * ratio[s] * u;
  });
}

template <class T>
__global__ void lars_update_kernel(T* theta, T* m, const T* g, const std::size_t* offsets, std::size_t slices,
                                   std::size_t count, const T* wd, const T* ratio, T lr, T momentum) {
  for_each_sliced(count, offsets, slices, [&](std::size_t i, std::size_t s) {
    const T mi = flush_subnormal(momentum * m[i] - lr * ratio[s] * (g[i] + wd[s] * theta[i]));
    m[i] = mi;
    theta[i] += mi;
  });
}

template <class T>
__global__ void scale_kernel(T* x, std::size_t count, T factor) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride) x[i] *= factor;
}

// ---- per-slice sums of squares ----------------------------------------------------------

// x[i]², for slice_sum_squares.
template <class T>
struct SquareOf {
  const T* x;
  __device__ double operator()(std::size_t i, std::size_t) const {
    const double xi = static_cast<double>(x[i]);
    return xi * xi;
  }
};

// u², u the LAMB direction from the old state, for lamb_direction_sum_squares.
template <class T>
struct LambDirectionSquare {
  const T *theta, *m, *v, *g, *wd;
  T beta1, beta2, eps, bc1, bc2_sqrt;
  __device__ double operator()(std::size_t i, std::size_t s) const {
    T m_new, v_new;
    const double u =
        static_cast<double>(lamb_direction(theta[i], m[i], v[i], g[i], wd[s], beta1, beta2, eps, bc1, bc2_sqrt, m_new, v_new));
    return u * u;
  }
};

// Block (x, s) adds square(i, s) over its share of slice s; gridDim.x = 1: out[s] directly.
template <class Square>
__global__ void slice_sum_squares_kernel(Square square, const std::size_t* offsets, std::size_t slices,
                                         double* partials, double* out) {
  for (std::size_t s = blockIdx.y; s < slices; s += gridDim.y) {
    const std::size_t begin = offsets[s], end = offsets[s + 1];
    double v = 0.0;
    for (std::size_t i = begin + std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < end;
         i += std::size_t{gridDim.x} * blockDim.x)
      v += square(i, s);
    const double total = block_sum<block_threads>(v);
    if (threadIdx.x == 0) {
      if (gridDim.x == 1) out[s] = total;
      else partials[s * gridDim.x + blockIdx.x] = total;
    }
    __syncthreads();  // block_sum's shared memory is reused by the next slice
  }
}

template <class Acc>
__global__ void slice_partials_combine_kernel(const Acc* partials, std::size_t per_slice, std::size_t slices, Acc* out) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t s = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; s < slices; s += stride) {
    Acc total = 0;
    for (std::size_t k = 0; k < per_slice; ++k) total += partials[s * per_slice + k];
    out[s] = total;
  }
}

template <class Square>
void slice_reduce_squares(Square square, const std::size_t* offsets, std::size_t slices, std::size_t count,
                          double* out, double* workspace, std::size_t workspace_size, cudaStream_t stream) {
  if (slices == 0) return;
  // Blocks along each slice: enough for the average slice, as many as the workspace holds.
  std::size_t per_slice = grid_blocks(count / slices, 4 * block_threads, 256);
  if (per_slice > workspace_size / slices) per_slice = workspace_size / slices;
  if (per_slice == 0) per_slice = 1;
  const dim3 grid(static_cast<unsigned>(per_slice), static_cast<unsigned>(slices < 65535 ? slices : 65535));
  slice_sum_squares_kernel<<<grid, block_threads, 0, stream>>>(square, offsets, slices, workspace, out);
  MINIBATCH_CUDA_CHECK_LAUNCH("slice_sum_squares_kernel");
  if (per_slice > 1) {
    slice_partials_combine_kernel<<<grid_blocks(slices, block_threads, max_elementwise_blocks), block_threads, 0,
                                    stream>>>(workspace, per_slice, slices, out);
    MINIBATCH_CUDA_CHECK_LAUNCH("slice_partials_combine_kernel");
  }
}

// ---- host launchers -----------------------------------------------------------------------

namespace detail {
inline unsigned elementwise_blocks(std::size_t count) {
  return grid_blocks(count, block_threads, max_elementwise_blocks);
}
}  // namespace detail

template <class T>
void adagrad_update(T* theta, T* sum, const T* g, const std::size_t* offsets, std::size_t slices, std::size_t count,
                    const T* wd, std::type_identity_t<T> lr, std::type_identity_t<T> eps, cudaStream_t stream) {
  if (count == 0) return;
  adagrad_update_kernel<<<detail::elementwise_blocks(count), block_threads, 0, stream>>>(theta, sum, g, offsets, slices,
                                                                                        count, wd, lr, eps);
  MINIBATCH_CUDA_CHECK_LAUNCH("adagrad_update_kernel");
}

// gbar = nullptr: not centered; buf = nullptr: no momentum.
template <class T>
void rmsprop_update(T* theta, T* v, T* gbar, T* buf, const T* g, const std::size_t* offsets, std::size_t slices,
                    std::size_t count, const T* wd, std::type_identity_t<T> lr, std::type_identity_t<T> alpha,
                    std::type_identity_t<T> eps, std::type_identity_t<T> momentum, cudaStream_t stream) {
  if (count == 0) return;
  rmsprop_update_kernel<<<detail::elementwise_blocks(count), block_threads, 0, stream>>>(
      theta, v, gbar, buf, g, offsets, slices, count, wd, lr, alpha, eps, momentum);
  MINIBATCH_CUDA_CHECK_LAUNCH("rmsprop_update_kernel");
}

// bc1 = 1 − β₁ᵗ, bc2 = 1 − β₂ᵗ; decoupled: AdamW.
template <class T>
void adam_update(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices, std::size_t count,
                 const T* wd, std::type_identity_t<T> lr, std::type_identity_t<T> beta1, std::type_identity_t<T> beta2,
                 std::type_identity_t<T> eps, std::type_identity_t<T> bc1, std::type_identity_t<T> bc2, bool decoupled,
                 cudaStream_t stream) {
  if (count == 0) return;
  const T step_size = lr / bc1;
  const T bc2_sqrt = std::sqrt(bc2);
  adam_update_kernel<<<detail::elementwise_blocks(count), block_threads, 0, stream>>>(
      theta, m, v, g, offsets, slices, count, wd, lr, beta1, beta2, eps, step_size, bc2_sqrt, decoupled);
  MINIBATCH_CUDA_CHECK_LAUNCH("adam_update_kernel");
}

template <class T>
void lamb_update(T* theta, T* m, T* v, const T* g, const std::size_t* offsets, std::size_t slices, std::size_t count,
                 const T* wd, const T* ratio, std::type_identity_t<T> lr, std::type_identity_t<T> beta1,
                 std::type_identity_t<T> beta2, std::type_identity_t<T> eps, std::type_identity_t<T> bc1,
                 std::type_identity_t<T> bc2, cudaStream_t stream) {
  if (count == 0) return;
  const T bc2_sqrt = std::sqrt(bc2);
  lamb_update_kernel<<<detail::elementwise_blocks(count), block_threads, 0, stream>>>(
      theta, m, v, g, offsets, slices, count, wd, ratio, lr, beta1, beta2, eps, bc1, bc2_sqrt);
  MINIBATCH_CUDA_CHECK_LAUNCH("lamb_update_kernel");
}

template <class T>
void lars_update(T* theta, T* m, const T* g, const std::size_t* offsets, std::size_t slices, std::size_t count,
                 const T* wd, const T* ratio, std::type_identity_t<T> lr, std::type_identity_t<T> momentum,
                 cudaStream_t stream) {
  if (count == 0) return;
  lars_update_kernel<<<detail::elementwise_blocks(count), block_threads, 0, stream>>>(theta, m, g, offsets, slices,
                                                                                     count, wd, ratio, lr, momentum);
  MINIBATCH_CUDA_CHECK_LAUNCH("lars_update_kernel");
}

template <class T>
void scale(T* x, std::size_t count, std::type_identity_t<T> factor, cudaStream_t stream) {
  if (count == 0) return;
  scale_kernel<<<detail::elementwise_blocks(count), block_threads, 0, stream>>>(x, count, factor);
  MINIBATCH_CUDA_CHECK_LAUNCH("scale_kernel");
}

// out[s] ← Σ_{i∈s} x² in double; count = offsets[slices] (the total size).
template <class T>
void slice_sum_squares(const T* x, const std::size_t* offsets, std::size_t slices, std::size_t count, double* out,
                       double* workspace, std::size_t workspace_size, cudaStream_t stream) {
  slice_reduce_squares(SquareOf<T>{x}, offsets, slices, count, out, workspace, workspace_size, stream);
}

// out[s] ← Σ_{i∈s} u², u the LAMB direction from the old state; writes no state.
template <class T>
void lamb_direction_sum_squares(const T* theta, const T* m, const T* v, const T* g, const std::size_t* offsets,
                                std::size_t slices, std::size_t count, const T* wd, std::type_identity_t<T> beta1,
                                std::type_identity_t<T> beta2, std::type_identity_t<T> eps,
                                std::type_identity_t<T> bc1, std::type_identity_t<T> bc2, double* out,
                                double* workspace, std::size_t workspace_size, cudaStream_t stream) {
  const T bc2_sqrt = std::sqrt(bc2);
  slice_reduce_squares(LambDirectionSquare<T>{theta, m, v, g, wd, beta1, beta2, eps, bc1, bc2_sqrt}, offsets, slices,
                       count, out, workspace, workspace_size, stream);
}

}  // namespace minibatch::kernels::cuda
