// The per-device state of the cuda backend: one Context per GPU, holding
//
//   stream()            the stream every minibatch operation on that device is queued on
//                       (a blocking stream, so work a user puts on the legacy default
//                       stream stays ordered with ours)
//   allocate/deallocate stream-ordered device memory from the context's own memory pool,
//                       which keeps freed blocks cached (release threshold = ∞): after the
//                       first step, freeing and re-allocating the same sizes costs no
//                       cudaMalloc. Devices without memory pools fall back to cudaMalloc.
//   cublas()            a cuBLAS handle bound to stream(), with a workspace we allocate, so
//                       cuBLAS never allocates behind our back; created on first use
//   scratch             the reduction workspace, a device result cell, a pinned read-back
//                       cell and a double-buffered pinned staging area for index uploads,
//                       allocated once and grown only when a larger batch first appears
//                       (during a step-graph capture, uploads come from the graph's own
//                       pinned buffer: begin_index_capture)
//   allocations()       how many device or pinned allocations this context has made: a
//                       steady-state training step must leave it unchanged (tests check)
//
// context() returns the context of the current device, created on first use. It lives in
// the one mutable global of the backend, a function-local static registry, because
// memory<cuda> is a set of static functions (Tensor<T, cuda> carries no handle) and so
// must reach its stream and pool without an argument. The registry is deliberately never
// destroyed: Tensors with static storage duration may be freed after any static of ours,
// and at exit the CUDA runtime may already be unloading; the driver reclaims everything
// when the process ends. Every member below is RAII, so a Context itself cleans up.
//
// Thread safety: finding or creating a context is thread-safe; driving one device from
// several host threads at once is not (they would share its scratch buffers).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"

namespace minibatch::cuda_backend {

// Makes `device` current for the guard's lifetime.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    MINIBATCH_CUDA_CHECK(cudaGetDevice(&previous_));
    if (device != previous_) MINIBATCH_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

class Stream {
 public:
  Stream() { MINIBATCH_CUDA_CHECK(cudaStreamCreate(&stream_)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const noexcept { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  Event() { MINIBATCH_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const noexcept { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// A memory pool of this device that keeps what is freed (release threshold = ∞).
class MemPool {
 public:
  explicit MemPool(int device) {
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    MINIBATCH_CUDA_CHECK(cudaMemPoolCreate(&pool_, &props));
    std::uint64_t keep_everything = UINT64_MAX;
    MINIBATCH_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep_everything));
  }
  ~MemPool() { cudaMemPoolDestroy(pool_); }
  MemPool(const MemPool&) = delete;
  MemPool& operator=(const MemPool&) = delete;
  cudaMemPool_t get() const noexcept { return pool_; }

 private:
  cudaMemPool_t pool_ = nullptr;
};

class CublasHandle {
 public:
  CublasHandle() { MINIBATCH_CUDA_CHECK(cublasCreate(&handle_)); }
  ~CublasHandle() { cublasDestroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const noexcept { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

class Context {
 public:
  // Doubles in the reduction workspace: partial sums of a first pass (at most
  // kernels::cuda::max_partials of them) or per-chunk column sums.
  static constexpr std::size_t reduce_workspace_size = std::size_t{1} << 16;
  // cuBLAS workspace: 32 MiB, what NVIDIA recommends for Hopper (sm_90).
  static constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;

  // Builds the context of `device`, which must be the current device.
  explicit Context(int device)
      : device_(device), pool_(make_pool(device)), reduce_workspace_(allocate(reduce_workspace_size * sizeof(double)), free_),
        result_(allocate(result_bytes), free_), readback_(allocate_pinned(result_bytes)) {}

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const noexcept { return device_; }
  cudaStream_t stream() const noexcept { return stream_.get(); }

  // Stream-ordered device memory on stream(); bytes = 0 gives nullptr. Counted.
  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    if (pool_) MINIBATCH_CUDA_CHECK(cudaMallocFromPoolAsync(&p, bytes, pool_->get(), stream()));
    else MINIBATCH_CUDA_CHECK(cudaMalloc(&p, bytes));
    allocations_.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  void deallocate(void* p) const noexcept { free_(p); }

  std::uint64_t allocations() const noexcept { return allocations_.load(std::memory_order_relaxed); }

  // The handle, created and bound to stream() with our own workspace on first use.
  cublasHandle_t cublas() {
    if (!cublas_) {
      cublas_workspace_ = DevicePtr(allocate(cublas_workspace_bytes), free_);
      auto handle = std::make_unique<CublasHandle>();
      // SetStream resets the workspace to cuBLAS's own, so it goes first.
      MINIBATCH_CUDA_CHECK(cublasSetStream(handle->get(), stream()));
      MINIBATCH_CUDA_CHECK(cublasSetWorkspace(handle->get(), cublas_workspace_.get(), cublas_workspace_bytes));
      cublas_ = std::move(handle);
    }
    return cublas_->get();
  }

  double* reduce_workspace() const noexcept { return static_cast<double*>(reduce_workspace_.get()); }

  // A device cell for one scalar result (a loss, a norm, a count), reused by every op.
  template <class T>
  T* result_cell() const noexcept {
    static_assert(sizeof(T) <= result_bytes);
    return static_cast<T*>(result_.get());
  }

  // Copies one value from the device to the host; waits for the stream.
  template <class T>
  T read(const T* device_value) {
    static_assert(sizeof(T) <= result_bytes);
    MINIBATCH_CUDA_CHECK(cudaMemcpyAsync(readback_.get(), device_value, sizeof(T), cudaMemcpyDeviceToHost, stream()));
    synchronize();
    T value;
    std::memcpy(&value, readback_.get(), sizeof(T));
    return value;
  }

  // Queues the upload of host indices into a device buffer and returns it. The indices
  // are copied into one of two pinned staging buffers first, so the host may reuse `idx`
  // at once and the copy is truly asynchronous; a staging buffer is reused only once its
  // previous upload has completed. The returned buffer stays valid for the work queued
  // after this call, until the next upload.
  //
  // While a step graph captures (capture_indices_from), the upload is captured as a copy
  // from the graph's own pinned buffer instead, which the graph's owner fills before each
  // replay; nothing is staged or waited for then.
  const index_t* upload_indices(std::span<const index_t> idx) {
    if (idx.empty()) return nullptr;
    const std::size_t bytes = idx.size_bytes();
    if (capture_source_) {
      require<shape_error>(idx.size() <= capture_capacity_ && idx.size() <= index_capacity_,
                           "upload_indices: a batch of ", idx.size(), " indices during graph capture, the graph holds ",
                           capture_capacity_);
      MINIBATCH_CUDA_CHECK(
          cudaMemcpyAsync(index_device_.get(), capture_source_, bytes, cudaMemcpyHostToDevice, stream()));
      ++captured_uploads_;
      return static_cast<const index_t*>(index_device_.get());
    }
    reserve_indices(idx.size());
    Staging& slot = staging_[next_staging_];
    next_staging_ ^= 1;
    if (slot.pending) MINIBATCH_CUDA_CHECK(cudaEventSynchronize(slot.uploaded.get()));
    slot.pending = false;
    if (slot.capacity < bytes) {
      slot.host = PinnedPtr(allocate_pinned(std::max(bytes, 2 * slot.capacity)));
      slot.capacity = std::max(bytes, 2 * slot.capacity);
    }
    std::memcpy(slot.host.get(), idx.data(), bytes);
    MINIBATCH_CUDA_CHECK(cudaMemcpyAsync(index_device_.get(), slot.host.get(), bytes, cudaMemcpyHostToDevice, stream()));
    MINIBATCH_CUDA_CHECK(cudaEventRecord(slot.uploaded.get(), stream()));
    slot.pending = true;
    return static_cast<const index_t*>(index_device_.get());
  }

  // Grows the device index buffer to hold `count` indices (before a capture: a capture
  // must not allocate).
  void reserve_indices(std::size_t count) {
    if (count <= index_capacity_) return;
    const std::size_t capacity = std::max(count, 2 * index_capacity_);
    index_device_ = DevicePtr(allocate(capacity * sizeof(index_t)), free_);
    index_capacity_ = capacity;
  }

  // Graph capture of index uploads (backend/cuda/step_graph.cuh): from now until
  // end_index_capture(), upload_indices captures copies from `pinned` (capacity indices).
  void begin_index_capture(const index_t* pinned, std::size_t capacity) {
    reserve_indices(capacity);
    capture_source_ = pinned;
    capture_capacity_ = capacity;
    captured_uploads_ = 0;
  }
  // Ends it; returns how many uploads were captured.
  std::size_t end_index_capture() noexcept {
    capture_source_ = nullptr;
    capture_capacity_ = 0;
    return captured_uploads_;
  }

  // Pinned host memory, counted (graph index buffers).
  void* allocate_host(std::size_t bytes) { return allocate_pinned(bytes); }
  static void deallocate_host(void* p) noexcept { cudaFreeHost(p); }

  void synchronize() { MINIBATCH_CUDA_CHECK(cudaStreamSynchronize(stream())); }

  // Hands the pool's cached free blocks back to the driver (e.g. after a huge tensor).
  void release_cached_memory() {
    synchronize();
    if (pool_) MINIBATCH_CUDA_CHECK(cudaMemPoolTrimTo(pool_->get(), 0));
  }

 private:
  static constexpr std::size_t result_bytes = 16;

  struct Free {
    cudaStream_t stream;
    bool pooled;
    void operator()(void* p) const noexcept {
      if (!p) return;
      if (pooled) cudaFreeAsync(p, stream);
      else cudaFree(p);
    }
  };
  struct FreePinned {
    void operator()(void* p) const noexcept { cudaFreeHost(p); }
  };
  using DevicePtr = std::unique_ptr<void, Free>;
  using PinnedPtr = std::unique_ptr<void, FreePinned>;

  struct Staging {
    PinnedPtr host;
    std::size_t capacity = 0;
    Event uploaded;
    bool pending = false;
  };

  static std::unique_ptr<MemPool> make_pool(int device) {
    int supported = 0;
    MINIBATCH_CUDA_CHECK(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device));
    return supported ? std::make_unique<MemPool>(device) : nullptr;
  }

  void* allocate_pinned(std::size_t bytes) {
    void* p = nullptr;
    MINIBATCH_CUDA_CHECK(cudaMallocHost(&p, bytes));
    allocations_.fetch_add(1, std::memory_order_relaxed);
    return p;
  }

  // Declaration order = construction order; members are destroyed in reverse, so every
  // buffer is freed on the stream before the stream and the pool go.
  int device_;
  std::atomic<std::uint64_t> allocations_{0};
  std::unique_ptr<MemPool> pool_;
  Stream stream_;
  Free free_{stream_.get(), pool_ != nullptr};
  DevicePtr reduce_workspace_;
  DevicePtr result_;
  PinnedPtr readback_;
  DevicePtr cublas_workspace_{nullptr, free_};
  std::unique_ptr<CublasHandle> cublas_;
  DevicePtr index_device_{nullptr, free_};
  std::size_t index_capacity_ = 0;
  Staging staging_[2];
  int next_staging_ = 0;
  const index_t* capture_source_ = nullptr;
  std::size_t capture_capacity_ = 0;
  std::size_t captured_uploads_ = 0;
};

namespace detail {

struct ContextRegistry {
  std::mutex mutex;
  std::vector<std::unique_ptr<Context>> by_device;
};

// The backend's one mutable global (see the opening comment for why, and why it leaks).
inline ContextRegistry& registry() {
  static ContextRegistry* const contexts = new ContextRegistry();
  return *contexts;
}

}  // namespace detail

// The context of `device`, created (with that device made current) on first use.
inline Context& context(int device) {
  auto& reg = detail::registry();
  std::lock_guard lock(reg.mutex);
  const auto slot = static_cast<std::size_t>(device);
  if (reg.by_device.size() <= slot) reg.by_device.resize(slot + 1);
  if (!reg.by_device[slot]) {
    DeviceGuard guard(device);
    reg.by_device[slot] = std::make_unique<Context>(device);
  }
  return *reg.by_device[slot];
}

// The context of the current device.
inline Context& context() {
  int device = 0;
  MINIBATCH_CUDA_CHECK(cudaGetDevice(&device));
  return context(device);
}

// Device and pinned allocations made so far by every context: the counting hook that
// lets a test check that a steady-state step allocates nothing.
inline std::uint64_t allocation_count() {
  auto& reg = detail::registry();
  std::lock_guard lock(reg.mutex);
  std::uint64_t total = 0;
  for (const auto& c : reg.by_device)
    if (c) total += c->allocations();
  return total;
}

}  // namespace minibatch::cuda_backend
