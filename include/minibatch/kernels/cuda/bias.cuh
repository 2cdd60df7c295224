// Column sums on the GPU, the gradient of a bias (kernels/ref/bias.hpp: bias_backward):
//
//   db[j] = Σᵢ dy[i][j]          dy row-major n×cols; db OVERWRITTEN
//
// Deterministic and without atomics. The rows are cut into `chunks` of consecutive rows;
// a block of 32×8 threads owns 32 adjacent columns of one chunk (reads are coalesced
// along a row), each thread adds every 8th row of its column in double, and the 8 partial
// sums are added in a fixed order. With one chunk that sum is db; otherwise each chunk
// writes workspace[chunk][j] and a second kernel adds the chunks in order. The number of
// chunks depends on n, cols and workspace_size only (≈ 256 rows a chunk, as many as the
// workspace holds), never on the device. All pointers are device pointers; workspace
// holds workspace_size doubles. n = 0 gives db = 0.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"

namespace minibatch::kernels::cuda {

inline constexpr unsigned column_sums_tile = 32;   // columns of a block
inline constexpr unsigned column_sums_lanes = 8;   // threads along the rows of a block
inline constexpr std::size_t column_sums_chunk_rows = 256;

template <class T>
__global__ void column_sums_chunk_kernel(const T* dy, std::size_t n, std::size_t cols, std::size_t chunk_rows,
                                         T* db, double* workspace) {
  __shared__ double sums[column_sums_lanes][column_sums_tile];
  const std::size_t j = std::size_t{blockIdx.x} * column_sums_tile + threadIdx.x;
  const std::size_t begin = std::size_t{blockIdx.y} * chunk_rows;
  const std::size_t end = begin + chunk_rows < n ? begin + chunk_rows : n;
  double v = 0.0;
  if (j < cols)
    for (std::size_t i = begin + threadIdx.y; i < end; i += column_sums_lanes) v += static_cast<double>(dy[i * cols + j]);
  sums[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    double total = 0.0;
    for (unsigned r = 0; r < column_sums_lanes; ++r) total += sums[r][threadIdx.x];
    if (gridDim.y == 1) db[j] = static_cast<T>(total);
    else workspace[std::size_t{blockIdx.y} * cols + j] = total;
  }
}

template <class T>
__global__ void column_sums_combine_kernel(const double* workspace, std::size_t chunks, std::size_t cols, T* db) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t j = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; j < cols; j += stride) {
    double total = 0.0;
    for (std::size_t c = 0; c < chunks; ++c) total += workspace[c * cols + j];
    db[j] = static_cast<T>(total);
  }
}

template <class T>
void column_sums(const T* dy, T* db, std::size_t n, std::size_t cols, double* workspace, std::size_t workspace_size,
                 cudaStream_t stream) {
  if (cols == 0) return;
  if (n == 0) {
    MINIBATCH_CUDA_CHECK(cudaMemsetAsync(db, 0, cols * sizeof(T), stream));
    return;
  }
  constexpr std::size_t max_chunks = 65535;  // gridDim.y limit
  std::size_t chunks = (n + column_sums_chunk_rows - 1) / column_sums_chunk_rows;
  if (chunks > workspace_size / cols) chunks = workspace_size / cols;
  if (chunks > max_chunks) chunks = max_chunks;
  if (chunks == 0) chunks = 1;
  const std::size_t chunk_rows = (n + chunks - 1) / chunks;
  chunks = (n + chunk_rows - 1) / chunk_rows;
  const std::size_t tiles = (cols + column_sums_tile - 1) / column_sums_tile;
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(chunks));
  column_sums_chunk_kernel<<<grid, dim3(column_sums_tile, column_sums_lanes), 0, stream>>>(dy, n, cols, chunk_rows,
                                                                                           db, workspace);
  MINIBATCH_CUDA_CHECK_LAUNCH("column_sums_chunk_kernel");
  if (chunks > 1) {
    column_sums_combine_kernel<<<grid_blocks(cols, block_threads, max_elementwise_blocks), block_threads, 0,
                                 stream>>>(workspace, chunks, cols, db);
    MINIBATCH_CUDA_CHECK_LAUNCH("column_sums_combine_kernel");
  }
}

}  // namespace minibatch::kernels::cuda
