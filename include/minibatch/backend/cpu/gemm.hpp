// Matrix products of the cpu backend: C ← op(A)·op(B) + β·C on row-major views.
//
//  - Small batches (a side of at most 16 rows): gemm_small.hpp, straight from the operands.
//  - Everything else at least one register block wide (2 packets of columns, 32 floats with
//    AVX-512): gemm_packed.hpp, our blocked product around the same register kernel.
//  - Narrower products with at least a register block's width of rows (the 10 columns of an
//    output layer, forward Z = H·W and weight gradient dW = Hᵀ·dZ): the packed product of
//    the transpose, Cᵀ = op(B)ᵀ·op(A)ᵀ, which is wide, into a per-thread buffer, then
//    C ← β·C + (Cᵀ)ᵀ. Eigen's GEMM, which the packed one replaced for these, fills 10 of
//    its 48 lanes: on AMD EPYC (Zen 5, AVX-512, one thread) the transpose was 1.0–1.4×
//    faster for the forward products and 1.6–3.2× for the weight gradients of models A and
//    B at batch 1000–60000, the copy included (benchmarks/RESULTS.md). Not for C of 2 or
//    3 columns with op(A) not transposed: there Eigen's was as fast or up to 1.4× faster.
//  - The other narrow products (C under a register block both ways, e.g. 20 × 20 × 300, and
//    those 2- and 3-column ones): Eigen's own GEMM (its packing routines and GEBP
//    micro-kernel), driven here with its blocks in our buffer.
//  - gemm_rows: the packed product with op(A) the rows of a data set that a minibatch names
//    (or their transpose), read in place through the index: the first layer's products
//    without the gather that would copy the batch first.
//
// Around the last two:
//  - No heap allocation per call. Eigen's product takes its packing buffers from malloc on
//    every call once they exceed EIGEN_STACK_ALLOCATION_LIMIT (128 KiB; every product with a
//    784×512 weight does). Here both take them from a buffer that each thread keeps and only
//    grows (to a few MiB at most: the blocks are sized for the caches, not the operands),
//    so a steady-state training step allocates nothing.
//  - The thread count is chosen by the size of the product, and measured. Eigen's own
//    OpenMP product splits anything above 50 000 multiply-adds over all threads, which
//    share one packed block and spin-wait for each other: small products get slower, and a
//    busy second core stalls both. Here a product below parallel_macs multiply-adds runs
//    on the calling thread; a larger one may be cut along the longer side of C into
//    independent slabs that the threads take in turn (each packs its own blocks; the only
//    wait is the final join), on Eigen::nbThreads() threads (OMP_NUM_THREADS, or
//    Eigen::setNbThreads) — if that has been measured to be faster for this shape
//    (ThreadChoice below: a second core that another process holds makes it slower). The
//    result is the same, bit for bit, whatever the number of threads. Without OpenMP
//    every product runs on the calling thread.
//
// Thin products (one row, one column or an inner dimension of 1) are matrix-vector or outer
// products, and tiny ones (rows + cols + inner < 20) coefficient loops; those go through
// Eigen's expressions, which need no buffers. Relies on Eigen 3.4's internal GEMM interface
// (general_matrix_matrix_product, level3_blocking, computeProductBlockingSizes).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <type_traits>

#include <Eigen/Core>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "minibatch/backend/cpu/eigen.hpp"
#include "minibatch/backend/cpu/gemm_packed.hpp"
#include "minibatch/backend/cpu/gemm_small.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/kernels/ref/gather.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch::cpu_backend {

// Products below this many multiply-adds (about 0.1 ms) run on one thread even when more
// are available: measured on a free second core, 2 threads gain 1.2–2.5× from about 2M
// multiply-adds up (benchmarks/RESULTS.md), but a gain of microseconds is not worth one
// try on a core that another process holds (up to about 8 ms to wake a thread there).
inline constexpr double parallel_macs = 1 << 22;
// A slab covers at least this many rows (or columns) of C: each slab packs the whole of
// the other operand again.
inline constexpr Eigen::Index min_slab = 64;

// How many times any thread's packing buffer has grown (ThreadChoice does not count the
// time of a product that grew one).
inline std::atomic<std::uint64_t> packing_growths{0};

// Storage for packed blocks: one per thread and scalar type, grown to the largest product
// this thread has computed and kept until the thread ends. New storage is written through
// once when it is taken, so its page faults fall in the call that grew it (which
// ThreadChoice does not count), not in whichever later call first packs into the far end.
template <class T>
class PackingBuffer {
 public:
  PackingBuffer() = default;
  PackingBuffer(const PackingBuffer&) = delete;
  PackingBuffer& operator=(const PackingBuffer&) = delete;
  ~PackingBuffer() { Eigen::internal::aligned_free(data_); }

  T* reserve(std::size_t n) {
    if (n > capacity_) {
      Eigen::internal::aligned_free(data_);
      data_ = nullptr;
      capacity_ = 0;
      data_ = static_cast<T*>(Eigen::internal::aligned_malloc(n * sizeof(T)));
      capacity_ = n;
      std::fill(data_, data_ + n, T(0));
      packing_growths.fetch_add(1, std::memory_order_relaxed);
    }
    return data_;
  }

  static PackingBuffer& this_thread() {
    static thread_local PackingBuffer buffer;
    return buffer;
  }

  // A second one per thread, for the transposed result of a narrow product (transposed
  // below), which must outlive the packing into this_thread()'s.
  static PackingBuffer& for_results() {
    static thread_local PackingBuffer buffer;
    return buffer;
  }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// The block sizes Eigen's own gemm_blocking_space would choose for a rows × cols × inner
// product, and the packing space they take. Eigen computes a product into a row-major C as
// the transposed, column-major one, so its blocking sees rows and cols swapped (mc runs
// along our cols, nc along our rows).
struct BlockSizes {
  Eigen::Index mc, nc, kc;
  std::size_t offset_b, total;  // in scalars: block B starts at offset_b, both end at total
};

template <class T>
BlockSizes block_sizes(Eigen::Index rows, Eigen::Index cols, Eigen::Index inner) {
  BlockSizes s{cols, rows, inner, 0, 0};
  Eigen::internal::computeProductBlockingSizes<T, T, 1, Eigen::Index>(s.kc, s.mc, s.nc, 1);
  constexpr std::size_t align = EIGEN_DEFAULT_ALIGN_BYTES / sizeof(T) > 0 ? EIGEN_DEFAULT_ALIGN_BYTES / sizeof(T) : 1;
  s.offset_b = (static_cast<std::size_t>(s.mc * s.kc) + align - 1) / align * align;
  s.total = s.offset_b + static_cast<std::size_t>(s.kc * s.nc);
  return s;
}

// Eigen's blocking with its blocks in this thread's PackingBuffer.
template <class T>
class Blocking : public Eigen::internal::level3_blocking<T, T> {
 public:
  explicit Blocking(const BlockSizes& s) {
    this->m_mc = s.mc;
    this->m_nc = s.nc;
    this->m_kc = s.kc;
    T* p = PackingBuffer<T>::this_thread().reserve(s.total);
    this->m_blockA = p;
    this->m_blockB = p + s.offset_b;
  }
};

using packed::Operand;

// C[rows × cols] (row stride ldc) += op(A)·op(B) on the calling thread, through Eigen's GEMM,
// with blocks of the given sizes (at most rows × cols × inner's own: a slab may use those
// of a larger slab).
template <class T>
void blocked_product(Operand<T> a, Operand<T> b, T* c, Eigen::Index ldc, Eigen::Index rows, Eigen::Index cols,
                     Eigen::Index inner, const BlockSizes& sizes) {
  using Eigen::ColMajor;
  using Eigen::Index;
  using Eigen::RowMajor;
  using Eigen::internal::general_matrix_matrix_product;
  Blocking<T> blocking(sizes);
  const T one(1);
  if (!a.transposed && !b.transposed)
    general_matrix_matrix_product<Index, T, RowMajor, false, T, RowMajor, false, RowMajor, 1>::run(
        rows, cols, inner, a.data, a.stride, b.data, b.stride, c, 1, ldc, one, blocking);
  else if (a.transposed && !b.transposed)
    general_matrix_matrix_product<Index, T, ColMajor, false, T, RowMajor, false, RowMajor, 1>::run(
        rows, cols, inner, a.data, a.stride, b.data, b.stride, c, 1, ldc, one, blocking);
  else if (!a.transposed && b.transposed)
    general_matrix_matrix_product<Index, T, RowMajor, false, T, ColMajor, false, RowMajor, 1>::run(
        rows, cols, inner, a.data, a.stride, b.data, b.stride, c, 1, ldc, one, blocking);
  else
    general_matrix_matrix_product<Index, T, ColMajor, false, T, ColMajor, false, RowMajor, 1>::run(
        rows, cols, inner, a.data, a.stride, b.data, b.stride, c, 1, ldc, one, blocking);
}

// C[rows × cols] (row stride ldc) ← β·C.
template <class T>
void scale_block(T* c, Eigen::Index ldc, Eigen::Index rows, Eigen::Index cols, T beta) {
  if (beta == T(1)) return;
  Eigen::Map<RowMajorMatrix<T>, 0, Eigen::OuterStride<>> block(c, rows, cols, Eigen::OuterStride<>(ldc));
  if (beta == T(0)) block.setZero();
  else block *= beta;
}

// How a product is computed on one thread: by the packed kernels (gemm_packed.hpp) when C
// is at least one register block wide, by Eigen's GEMM when it is narrower; and the
// packing space that takes, in scalars.
struct Method {
  bool packed;
  BlockSizes sizes;  // Eigen's blocks; unused when packed
  std::size_t space;
};

template <class T>
Method method_of(bool packed, Eigen::Index rows, Eigen::Index cols, Eigen::Index inner) {
  if (packed) return {true, {}, packed::space<T>(cols, inner)};
  const BlockSizes sizes = block_sizes<T>(rows, cols, inner);
  return {false, sizes, sizes.total};
}

template <class T>
bool packs(Eigen::Index cols) {
  return cols >= packed::cols_per_block<T>;
}

// C[rows × cols] (row stride ldc) ← op(A)·op(B) + β·C on the calling thread, with the
// blocks of `method` (those of rows × cols × inner, or of a larger slab of the same product).
template <class T>
void serial_product(const Method& method, Operand<T> a, Operand<T> b, T* c, Eigen::Index ldc, Eigen::Index rows,
                    Eigen::Index cols, Eigen::Index inner, T beta) {
  if (method.packed) {
    packed::product(a, b, c, ldc, rows, cols, inner, beta, PackingBuffer<T>::this_thread().reserve(method.space));
    return;
  }
  scale_block(c, ldc, rows, cols, beta);
  blocked_product(a, b, c, ldc, rows, cols, inner, method.sizes);
}

// ---- the thread count ----------------------------------------------------------------------
// A product of at least parallel_macs multiply-adds may use Eigen::nbThreads() threads, and
// whether it does is measured per shape (rows, cols, inner, transposes): each shape keeps its
// last three times on one thread and on all of them (a call that grew a packing buffer is
// not counted: it paid for the allocation and for touching new memory; so the first call on
// all threads is not, and the first on one thread usually is) and compares their medians,
// the faster of two while only two are known: one slow call (the other core busy for a
// moment) does not decide, where a running mean kept one 8 ms outlier against 1 ms calls
// for hundreds of calls. It uses all threads when that is faster by a margin (their times
// vary more: a busy core answers late), and retries the other way now and then: first after
// min_wait decided calls (a second sample, in case the first was slow by chance, but not at
// once: a 6-step epoch that retried at once ran a third of its large products on one
// thread), then after enough calls that the retries cost at most retry_cost of the time,
// so one that loses by a lot comes rarely. Where the other cores
// are busy (a shared machine) the extra threads lose and stay idle; where they are free
// they win and are used. The numbers do not depend on the choice: the slabs below are
// computed bit for bit as the whole product is.
class ThreadChoice {
 public:
  // Whether the next product of this shape runs on all threads: all until one such call
  // has been counted, then one until one such call has been counted, then the faster.
  bool parallel() noexcept {
    if (sides_[1].count.load(std::memory_order_relaxed) == 0) return true;
    if (sides_[0].count.load(std::memory_order_relaxed) == 0) return false;
    const double serial = sides_[0].estimate(), threaded = sides_[1].estimate();
    const bool use_all = threaded < (1 - margin) * serial;
    const long call = calls_.fetch_add(1, std::memory_order_relaxed);
    if (call < retry_at_.load(std::memory_order_relaxed)) return use_all;
    const double best = std::min(serial, threaded), other = std::max(serial, threaded);
    const double wait = std::clamp((other - best) / (retry_cost * best), double(min_wait), 4096.0);
    retry_at_.store(call + static_cast<long>(wait), std::memory_order_relaxed);
    return !use_all;
  }

  // The time of one call; not counted when it grew a packing buffer.
  void record(bool parallel, double seconds, bool grew) noexcept {
    if (grew) return;
    Side& side = sides_[parallel ? 1 : 0];
    const long n = side.count.load(std::memory_order_relaxed);
    side.last[n % 3].store(seconds, std::memory_order_relaxed);
    side.count.store(n + 1, std::memory_order_release);
  }

  // The record of a shape at this thread limit; shapes that collide in the table share one
  // (a worse guess, no error).
  static ThreadChoice& of(Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, bool trans_a, bool trans_b,
                          int threads, bool gathered = false) noexcept {
    static ThreadChoice table[256];
    std::uint64_t h = 0;
    for (const auto v : {std::uint64_t(rows), std::uint64_t(cols), std::uint64_t(inner),
                         std::uint64_t(gathered) << 2 | std::uint64_t(trans_a) << 1 | std::uint64_t(trans_b),
                         std::uint64_t(threads)})
      h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
    return table[h >> 56];
  }

 private:
  static constexpr double margin = 0.1, retry_cost = 0.01;
  static constexpr long min_wait = 8;
  // The counted times of one way (one thread, or all), the last three in a ring. Products of
  // one shape on several user threads at once may interleave their updates: a worse guess,
  // no error.
  struct Side {
    std::atomic<long> count{0};
    std::atomic<double> last[3] = {0.0, 0.0, 0.0};
    // The median of the last three times; the faster of two, or the one.
    double estimate() const noexcept {
      const long n = std::min(count.load(std::memory_order_acquire), 3L);
      const double a = last[0].load(std::memory_order_relaxed), b = last[1].load(std::memory_order_relaxed);
      if (n <= 1) return a;
      if (n == 2) return std::min(a, b);
      const double c = last[2].load(std::memory_order_relaxed);
      return std::max(std::min(a, b), std::min(std::max(a, b), c));
    }
  };
  Side sides_[2];
  std::atomic<long> calls_{0}, retry_at_{min_wait};
};

// Slabs of C along its longer side, fixed by the shape and the thread limit alone (never by
// timing). Their edges fall on the register blocks (packed: R rows, 2 packets of columns;
// Eigen's: nr rows, mr columns, as its kernel sees C transposed), so every entry is
// accumulated in the same order as in the whole product: the same bits on one thread or
// several. Every slab uses the method of a full one, so a thread that has computed any
// slab of a shape has the packing space for all of them.
struct Slabs {
  bool by_rows;
  Eigen::Index count, step;
  Method method;
};

template <class T>
Slabs slabs_of(bool packed, Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, int threads) {
  using Traits = Eigen::internal::gebp_traits<T, T>;
  const bool by_rows = rows >= cols;
  const Eigen::Index extent = by_rows ? rows : cols;
  const Eigen::Index tile = packed ? (by_rows ? Eigen::Index(packed::rows_per_block) : packed::cols_per_block<T>)
                                   : (by_rows ? Eigen::Index(Traits::nr) : Eigen::Index(Traits::mr));
  const Eigen::Index wanted = std::clamp<Eigen::Index>(extent / min_slab, 1, 2 * Eigen::Index(threads));
  const Eigen::Index step = std::min(extent, ((extent + wanted - 1) / wanted + tile - 1) / tile * tile);
  return {by_rows, (extent + step - 1) / step, step,
          method_of<T>(packed, by_rows ? step : rows, by_rows ? cols : step, inner)};
}

// Product s of the slabs: rows of C are rows of op(A), columns are columns of op(B); a slab's
// operand starts `first` rows (or columns) in, which is `first` rows of the stored matrix
// when it is not transposed and `first` columns when it is.
template <class T>
void slab_product(const Slabs& slabs, Eigen::Index s, Operand<T> a, Operand<T> b, T* c, Eigen::Index rows,
                  Eigen::Index cols, Eigen::Index inner, T beta) {
  const Eigen::Index first = s * slabs.step;
  const Eigen::Index length = std::min(slabs.step, (slabs.by_rows ? rows : cols) - first);
  if (slabs.by_rows) {
    if (a.transposed) a.data += first;
    else if (a.index) a.index += first;
    else a.data += first * a.stride;
    serial_product(slabs.method, a, b, c + first * cols, cols, length, cols, inner, beta);
  } else {
    b.data += b.transposed ? first * b.stride : first;
    serial_product(slabs.method, a, b, c + first, cols, rows, length, inner, beta);
  }
}

// C[rows × cols] ← op(A)·op(B) + β·C, past the small-batch and thin cases: the packed kernels
// (or Eigen's for C narrower than a register block), in slabs on up to `threads` threads.
template <class T>
void blocked(Operand<T> op_a, Operand<T> op_b, T* c, Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, T beta,
             [[maybe_unused]] int threads) {
  const bool packed = packs<T>(cols);
#if defined(_OPENMP)
  if (threads > 1 && !omp_in_parallel()) {
    const Slabs slabs = slabs_of<T>(packed, rows, cols, inner, threads);
    if (slabs.count > 1) {
      // Every thread of the team makes room for a slab first, whether or not it gets one
      // this time (so none grows its buffer in a later call). An exception must not leave
      // an OpenMP region: the first one is rethrown after it. The threads take the slabs
      // one at a time from a shared counter, not by `omp for schedule(dynamic, 1)`: LLVM's
      // OpenMP runtime (clang's libomp) allocates on the heap in every such loop, about 27
      // times per region (4 with a static schedule), which a steady-state step must not.
      std::exception_ptr failure;
      std::atomic<Eigen::Index> next_slab{0};
#pragma omp parallel num_threads(threads)
      {
        try {
          PackingBuffer<T>::this_thread().reserve(slabs.method.space);
        } catch (...) {
#pragma omp critical(minibatch_gemm_failure)
          if (!failure) failure = std::current_exception();
        }
        for (Eigen::Index s = next_slab.fetch_add(1, std::memory_order_relaxed); s < slabs.count;
             s = next_slab.fetch_add(1, std::memory_order_relaxed)) {
          try {
            slab_product(slabs, s, op_a, op_b, c, rows, cols, inner, beta);
          } catch (...) {
#pragma omp critical(minibatch_gemm_failure)
            if (!failure) failure = std::current_exception();
          }
        }
      }
      if (failure) std::rethrow_exception(failure);
      return;
    }
  }
#endif
  serial_product(method_of<T>(packed, rows, cols, inner), op_a, op_b, c, cols, rows, cols, inner, beta);
}

// Whether C[rows × cols] = op(A)·op(B) is computed as its transpose: narrower than a
// register block, with at least a register block's width of rows, and 4 columns or more
// unless op(A) is transposed (above).
template <class T>
bool computes_transpose(Eigen::Index rows, Eigen::Index cols, bool trans_a) {
  return !packs<T>(cols) && packs<T>(rows) && (trans_a || cols >= 4);
}

// C[rows × cols] ← op(A)·op(B) + β·C as Cᵀ = op(B)ᵀ·op(A)ᵀ, by the packed kernels into this
// thread's for_results() buffer (on up to `threads` threads, in slabs), then copied across.
// The same bits on any number of threads, as blocked's are.
template <class T>
void transposed(Operand<T> op_a, Operand<T> op_b, T* c, Eigen::Index rows, Eigen::Index cols, Eigen::Index inner,
                T beta, int threads) {
  T* ct = PackingBuffer<T>::for_results().reserve(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
  blocked(Operand<T>{op_b.data, op_b.stride, !op_b.transposed}, Operand<T>{op_a.data, op_a.stride, !op_a.transposed},
          ct, cols, rows, inner, T(0), threads);
  for (Eigen::Index i = 0; i < rows; ++i) {
    T* row = c + i * cols;
    const T* from = ct + i;
    if (beta == T(0))
      for (Eigen::Index j = 0; j < cols; ++j) row[j] = from[j * rows];
    else
      for (Eigen::Index j = 0; j < cols; ++j) row[j] = beta * row[j] + from[j * rows];
  }
}

// C ← op(A)·op(B) + β·C on at most `threads` threads (1 without OpenMP); the public gemm
// below chooses `threads`.
template <class T>
void gemm(TensorView<const T, cpu> a, bool trans_a, TensorView<const T, cpu> b, bool trans_b, TensorView<T, cpu> c,
          T beta, int threads) {
  static_assert(!std::is_const_v<T>);
  const auto A = as_matrix(a);
  const auto Bm = as_matrix(b);
  auto C = as_matrix(c);
  const Eigen::Index rows = trans_a ? A.cols() : A.rows();
  const Eigen::Index inner = trans_a ? A.rows() : A.cols();
  const Eigen::Index inner_b = trans_b ? Bm.cols() : Bm.rows();
  const Eigen::Index cols = trans_b ? Bm.rows() : Bm.cols();
  require<shape_error>(inner == inner_b && C.rows() == rows && C.cols() == cols, "gemm: cannot multiply ", a.shape(),
                       trans_a ? "ᵀ" : "", " by ", b.shape(), trans_b ? "ᵀ" : "", " into ", c.shape());
  if (rows == 0 || cols == 0) return;

  // A small batch: straight from the operands, no packing (backend/cpu/gemm_small.hpp).
  constexpr Eigen::Index packet = small::packet_size<T>;
  if (!trans_a && rows <= small::max_small && inner >= 1) {
    if (trans_b && inner >= packet && rows <= small::max_small_nt) {
      small::small_rows_nt(a.data(), A.cols(), b.data(), Bm.cols(), c.data(), cols, rows, cols, inner, beta);
      return;
    }
    if (!trans_b && cols >= packet) {
      small::small_rows_nn(a.data(), A.cols(), b.data(), Bm.cols(), c.data(), cols, rows, cols, inner, beta);
      return;
    }
  }
  if (trans_a && !trans_b && inner >= 1 && inner <= small::max_small && cols >= packet) {
    small::small_inner_tn(a.data(), A.cols(), b.data(), Bm.cols(), c.data(), cols, rows, cols, inner, beta);
    return;
  }

  using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;
  using ColVec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const bool thin = rows == 1 || cols == 1 || inner <= 1 || rows + cols + inner < 20;
  if (thin) {
    scale_block(c.data(), cols, rows, cols, beta);
    if (inner == 0) return;
    // The vector operands are contiguous whether or not they are transposed.
    if (rows == 1) {
      const Eigen::Map<const RowVec> x(a.data(), inner);
      Eigen::Map<RowVec> y(c.data(), cols);
      if (trans_b) y.noalias() += x * Bm.transpose();
      else y.noalias() += x * Bm;
    } else if (cols == 1) {
      const Eigen::Map<const ColVec> x(b.data(), inner);
      Eigen::Map<ColVec> y(c.data(), rows);
      if (trans_a) y.noalias() += A.transpose() * x;
      else y.noalias() += A * x;
    } else if (inner == 1) {
      C.noalias() += Eigen::Map<const ColVec>(a.data(), rows) * Eigen::Map<const RowVec>(b.data(), cols);
    } else if (!trans_a && !trans_b) C.noalias() += A.lazyProduct(Bm);
    else if (trans_a && !trans_b) C.noalias() += A.transpose().lazyProduct(Bm);
    else if (!trans_a && trans_b) C.noalias() += A.lazyProduct(Bm.transpose());
    else C.noalias() += A.transpose().lazyProduct(Bm.transpose());
    return;
  }

  const Operand<T> op_a{a.data(), A.cols(), trans_a}, op_b{b.data(), Bm.cols(), trans_b};
  if (computes_transpose<T>(rows, cols, trans_a)) transposed(op_a, op_b, c.data(), rows, cols, inner, beta, threads);
  else blocked(op_a, op_b, c.data(), rows, cols, inner, beta, threads);
}

// Runs product(threads) on Eigen::nbThreads() threads or on one, as ThreadChoice decides for
// products of at least parallel_macs multiply-adds (one thread below that, or without OpenMP).
template <class Product>
void on_chosen_threads(Eigen::Index rows, Eigen::Index cols, Eigen::Index inner, bool trans_a, bool trans_b,
                       bool gathered, Product&& product) {
#if defined(_OPENMP)
  const int threads = Eigen::nbThreads();
  if (threads > 1 && !omp_in_parallel() &&
      static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(inner) >= parallel_macs) {
    ThreadChoice& choice = ThreadChoice::of(rows, cols, inner, trans_a, trans_b, threads, gathered);
    const bool parallel = choice.parallel();
    const std::uint64_t growths = packing_growths.load(std::memory_order_relaxed);
    const auto start = std::chrono::steady_clock::now();
    product(parallel ? threads : 1);
    choice.record(parallel, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                  packing_growths.load(std::memory_order_relaxed) != growths);
    return;
  }
#else
  (void)rows, (void)cols, (void)inner, (void)trans_a, (void)trans_b, (void)gathered;
#endif
  product(1);
}

template <class T>
void gemm(TensorView<const T, cpu> a, bool trans_a, TensorView<const T, cpu> b, bool trans_b, TensorView<T, cpu> c,
          T beta) {
  if (a.rank() != 2 || c.rank() != 2) return gemm(a, trans_a, b, trans_b, c, beta, 1);  // gemm names the shapes
  const auto rows = static_cast<Eigen::Index>(c.shape()[0]), cols = static_cast<Eigen::Index>(c.shape()[1]);
  const auto inner = static_cast<Eigen::Index>(a.shape()[trans_a ? 0 : 1]);
  on_chosen_threads(rows, cols, inner, trans_a, trans_b, false,
                    [&](int threads) { gemm(a, trans_a, b, trans_b, c, beta, threads); });
}

// ---- a product with a minibatch gathered in place ---------------------------------------------
// op(A) = X[index] (the rows of X that index names, in its order) or its transpose, read
// where X keeps them: C ← X[index]·op(B) + β·C (the first layer's forward product) or
// C ← X[index]ᵀ·op(B) + β·C (its weight gradient), the same bits as gemm on the gathered
// rows, without copying them. Only the packed kernels read a gathered operand: it needs
// more than small::max_small indices and C at least one register block wide
// (gathers_in_place); the training step gathers anything else first.
template <class T>
bool gathers_in_place(Eigen::Index batch, Eigen::Index cols) {
  return batch > small::max_small && cols >= packed::cols_per_block<T>;
}

template <class T>
void gemm_rows(TensorView<const T, cpu> x, std::span<const std::size_t> index, bool trans_x,
               TensorView<const T, cpu> b, bool trans_b, TensorView<T, cpu> c, T beta) {
  static_assert(!std::is_const_v<T>);
  require<shape_error>(x.rank() == 2 && b.rank() == 2 && c.rank() == 2, "gemm_rows: cannot multiply rows of ",
                       x.shape(), " by ", b.shape(), trans_b ? "ᵀ" : "", " into ", c.shape());
  const auto batch = static_cast<Eigen::Index>(index.size()), width = static_cast<Eigen::Index>(x.shape()[1]);
  const Eigen::Index rows = trans_x ? width : batch, inner = trans_x ? batch : width;
  const auto inner_b = static_cast<Eigen::Index>(b.shape()[trans_b ? 1 : 0]);
  const auto cols = static_cast<Eigen::Index>(b.shape()[trans_b ? 0 : 1]);
  require<shape_error>(inner == inner_b && static_cast<Eigen::Index>(c.shape()[0]) == rows &&
                           static_cast<Eigen::Index>(c.shape()[1]) == cols,
                       "gemm_rows: cannot multiply ", batch, " rows of ", x.shape(), trans_x ? " (transposed)" : "",
                       " by ", b.shape(), trans_b ? "ᵀ" : "", " into ", c.shape());
  require<value_error>(gathers_in_place<T>(batch, cols), "gemm_rows: ", batch, " rows into ", cols,
                       " columns: only products of more than ", small::max_small, " rows and at least ",
                       packed::cols_per_block<T>, " columns read the rows in place; gather them and call gemm");
  kernels::ref::check_indices(index.data(), index.size(), x.shape()[0], "gemm_rows", "rows");
  if (rows == 0) return;
  const Operand<T> op_x{x.data(), width, trans_x, index.data()};
  const Operand<T> op_b{b.data(), static_cast<Eigen::Index>(b.shape()[1]), trans_b};
  on_chosen_threads(rows, cols, inner, trans_x, trans_b, true,
                    [&](int threads) { blocked(op_x, op_b, c.data(), rows, cols, inner, beta, threads); });
}

}  // namespace minibatch::cpu_backend
