// Row gather on the GPU: build a minibatch from the rows its sampler chose, with the
// data set resident on the device (kernels/ref/gather.hpp: gather_rows):
//
//   dst[k][c] = src[idx[k]][c]          src is src_rows×cols, dst is count×cols, row-major
//
// One block per destination row (grid-stride over rows), its threads stride along the
// columns, so reads and writes are coalesced. idx is a DEVICE array of std::size_t
// (ops<cuda>::gather_rows uploads the sampler's host indices); offsets are 64-bit, so the
// source may hold more than 2³¹ elements. The reference throws on a bad index before
// copying anything; a kernel cannot, so here an index ≥ src_rows fills its row with T{}
// (ops<cuda> checks the indices on the host first and throws index_error like the
// reference). Works for any trivially copyable T (float features, int32 labels).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"

namespace minibatch::kernels::cuda {

inline constexpr std::size_t max_gather_blocks = 65535;

template <class T>
__global__ void gather_rows_kernel(const T* src, std::size_t src_rows, std::size_t cols, const std::size_t* idx,
                                   std::size_t count, T* dst) {
  for (std::size_t k = blockIdx.x; k < count; k += gridDim.x) {
    const std::size_t from = idx[k];
    T* out = dst + k * cols;
    if (from < src_rows) {
      const T* row = src + from * cols;
      for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = row[c];
    } else {
      for (std::size_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = T{};
    }
  }
}

template <class T>
void gather_rows(const T* src, std::size_t src_rows, std::size_t cols, const std::size_t* idx, std::size_t count,
                 T* dst, cudaStream_t stream) {
  if (count == 0 || cols == 0) return;
  // Narrow rows (labels: cols = 1) waste most of a wide block; size it to the row.
  const unsigned threads = cols >= block_threads ? block_threads : static_cast<unsigned>((cols + 31) / 32 * 32);
  gather_rows_kernel<<<grid_blocks(count, 1, max_gather_blocks), threads, 0, stream>>>(src, src_rows, cols, idx, count,
                                                                                        dst);
  MINIBATCH_CUDA_CHECK_LAUNCH("gather_rows_kernel");
}

}  // namespace minibatch::kernels::cuda
