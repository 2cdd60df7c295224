// StepGraph: a training step captured once in a CUDA graph and replayed, for the batches
// where launching a dozen small kernels costs more than running them.
//
//   cuda_backend::StepGraph graph;
//   for (auto batch : sampler.epoch(n, e))
//     graph.run(batch, [&] { objective.loss_and_gradient(θ, batch, g); optimizer.step(θ, g); });
//
// run(batch, step) with a batch of a new size runs step() eagerly (the warm-up: cuBLAS
// picks its kernels, lazily sized buffers are allocated); the next call captures step()
// into a graph on the context stream and launches it; later calls of the same size only
// copy the batch's indices into the graph's pinned buffer and replay it. The step's index
// uploads (ops<cuda>::gather_rows) are captured as copies from that buffer, so every
// replay gathers the rows of its own batch. Two graphs alternate, each with its own
// buffer, so the host fills one while the device runs the other, and waits only for the
// step before last.
//
// What a graph bakes in: every kernel argument of the captured step — the learning rate
// and other scalars the host passes, the addresses of all buffers, the shapes. Call
// reset() whenever one of them changes (a schedule's new lr, Adam's bias corrections,
// which change every step, a reallocated tensor). A step that took the rows of a
// contiguous batch in place (no upload) bakes that batch in too; StepGraph notices and
// replays it only for the same batch, running other batches eagerly. Host-side state the
// step updates (an optimizer's step counter) moves only when the step runs on the host,
// at the warm-up and the captures, not at replays.
//
// The step must only queue work on the context stream: no synchronisation, no read of a
// device value (a loss or norm: read them after run() returns), no allocation after the
// warm-up. Anything else makes the capture fail with cuda_error naming the call, and the
// graph is dropped. A steady-state replay allocates nothing (Context::allocations()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/context.cuh"
#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/core/index.hpp"

namespace minibatch::cuda_backend {

class StepGraph {
 public:
  StepGraph() = default;
  ~StepGraph() { release(); }
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  template <class Step>
  void run(std::span<const index_t> batch, Step&& step) {
    if (batch.size() != batch_size_) {
      reset();
      batch_size_ = batch.size();
    }
    if (!warmed_ || (baked_ && !std::ranges::equal(batch, baked_batch_))) {
      step();
      warmed_ = true;
      ++eager_;
      return;
    }
    Context& ctx = context();
    Slot& slot = slots_[next_];
    next_ ^= 1;
    if (slot.launched) MINIBATCH_CUDA_CHECK(cudaEventSynchronize(slot.done.get()));
    slot.launched = false;
    if (slot.capacity < batch.size()) {
      slot.host.reset();
      slot.host = PinnedIndices(static_cast<index_t*>(ctx.allocate_host(batch.size() * sizeof(index_t))));
      slot.capacity = batch.size();
    }
    if (!batch.empty()) std::memcpy(slot.host.get(), batch.data(), batch.size_bytes());
    if (!slot.exec) capture(ctx, slot, batch, step);
    MINIBATCH_CUDA_CHECK(cudaGraphLaunch(slot.exec, ctx.stream()));
    MINIBATCH_CUDA_CHECK(cudaEventRecord(slot.done.get(), ctx.stream()));
    slot.launched = true;
    ++replays_;
  }

  // Drops the graphs (waiting for any replay in flight); the next run() warms up again.
  void reset() {
    for (Slot& slot : slots_) {
      if (slot.launched) MINIBATCH_CUDA_CHECK(cudaEventSynchronize(slot.done.get()));
      slot.launched = false;
      destroy(slot);
    }
    batch_size_ = std::numeric_limits<std::size_t>::max();
    warmed_ = false;
    baked_ = false;
    baked_batch_.clear();
    next_ = 0;
  }

  std::uint64_t captures() const noexcept { return captures_; }
  std::uint64_t replays() const noexcept { return replays_; }  // graph launches, the first of each graph included
  std::uint64_t eager_steps() const noexcept { return eager_; }

 private:
  struct FreePinned {
    void operator()(index_t* p) const noexcept { Context::deallocate_host(p); }
  };
  using PinnedIndices = std::unique_ptr<index_t, FreePinned>;

  struct Slot {
    PinnedIndices host;
    std::size_t capacity = 0;
    cudaGraphExec_t exec = nullptr;
    Event done;
    bool launched = false;
  };

  template <class Step>
  void capture(Context& ctx, Slot& slot, std::span<const index_t> batch, Step& step) {
    const cudaStream_t stream = ctx.stream();
    ctx.begin_index_capture(slot.host.get(), slot.capacity);
    MINIBATCH_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      step();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(stream, &broken);
      if (broken) cudaGraphDestroy(broken);
      cudaGetLastError();  // a failed capture leaves no sticky error; clear the last one
      ctx.end_index_capture();
      throw;
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    const std::size_t uploads = ctx.end_index_capture();
    MINIBATCH_CUDA_CHECK(ended);
    const cudaError_t made = cudaGraphInstantiate(&slot.exec, graph, 0);
    cudaGraphDestroy(graph);
    MINIBATCH_CUDA_CHECK(made);
    ++captures_;
    baked_ = uploads == 0 && !batch.empty();
    if (baked_) baked_batch_.assign(batch.begin(), batch.end());
  }

  static void destroy(Slot& slot) noexcept {
    if (slot.exec) cudaGraphExecDestroy(slot.exec);
    slot.exec = nullptr;
  }

  void release() noexcept {
    for (Slot& slot : slots_) {
      if (slot.launched) cudaEventSynchronize(slot.done.get());
      destroy(slot);
    }
  }

  Slot slots_[2];
  int next_ = 0;
  std::size_t batch_size_ = std::numeric_limits<std::size_t>::max();
  bool warmed_ = false;
  bool baked_ = false;
  std::vector<index_t> baked_batch_;
  std::uint64_t captures_ = 0, replays_ = 0, eager_ = 0;
};

}  // namespace minibatch::cuda_backend
