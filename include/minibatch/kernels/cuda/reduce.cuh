// Second pass of the two-pass reductions (norms, losses, counts): one block adds the
// first pass's partial sums in a fixed order and writes one scalar,
//
//   *out = Out(finish(Σₖ partials[k]))          k < count ≤ max_partials
//
// where finish is Scale{s} (v·s: a mean, with s = 1/n) or SquareRoot (a norm). The
// first passes live with their kernels; together the two passes are deterministic and
// use no atomics. The result stays on the device: nothing here synchronises.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"

namespace minibatch::kernels::cuda {

struct Scale {
  double factor;
  __device__ double operator()(double v) const { return v * factor; }
};
struct SquareRoot {
  __device__ double operator()(double v) const { return ::sqrt(v); }
};

template <class Out, class Finish>
__global__ void finish_sum_kernel(const double* partials, unsigned count, Out* out, Finish finish) {
  double v = 0.0;
  for (unsigned k = threadIdx.x; k < count; k += blockDim.x) v += partials[k];
  const double total = block_sum<block_threads>(v);
  if (threadIdx.x == 0) *out = static_cast<Out>(finish(total));
}

template <class Out, class Finish>
void finish_sum(const double* partials, unsigned count, Out* out, Finish finish, cudaStream_t stream) {
  finish_sum_kernel<Out, Finish><<<1, block_threads, 0, stream>>>(partials, count, out, finish);
  MINIBATCH_CUDA_CHECK_LAUNCH("finish_sum_kernel");
}

}  // namespace minibatch::kernels::cuda
