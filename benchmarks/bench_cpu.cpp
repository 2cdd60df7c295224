// CPU benchmarks of issue 6, float32, Google Benchmark.
//
//   BM_Step/<model>/<batch>    one training step: gather of a random batch (the batches of
//                              one shuffled epoch in turn), forward,
//                              softmax cross-entropy (mean), backward, momentum 0.9 update;
//                              after 5 untimed steps (buffers sized, thread choice measured).
//                              model 0 = A (784-128-10), 1 = B (784-512-512-10), ReLU.
//                              The update is fused into backward (loss_and_step), as
//                              train_loop runs it when nothing reads the whole gradient.
//   BM_StepSeparate/<model>/<batch>  the same step with backward and the update apart
//                              (loss_and_gradient, then step): what the fusion gains.
//   BM_Epoch/<model>/<batch>   one real epoch of 60000 examples through train_loop: a new
//                              shuffle, every batch's gather, every step (no gradient norm).
//   BM_MomentumUpdate/<n>      the fused update alone; GB/s counts θ read+write, m read+write
//                              and g read (20 bytes per parameter).
//   BM_AdamUpdate/<n>          AdamW's update alone (ops<cpu>, Eigen packet math); GB/s counts
//                              θ, m and v read+write and g read (28 bytes per parameter).
//   BM_AdamUpdateReference/<n> the same update by the plain reference loop (kernels/ref),
//                              which the compiler leaves scalar: what ops<cpu> gains.
//   BM_Copy/<n>                std::copy moving the same 20 bytes per parameter (10 read,
//                              10 written): the memory-bound limit of the update.
//   BM_FmaCeiling              independent FMA chains in registers (AVX-512, AVX2 or
//                              scalar, whichever this build targets): this core's GFLOP/s.
//   BM_Product/<product>/<batch>  one matrix product of model B's step alone, through
//                              ops<cpu>::gemm (product 0: X·W1, 1: H·W2, 2: dZ·W2ᵀ, 3: Hᵀ·dZ
//                              for W2, 4: Xᵀ·dZ for W1; X's rows contiguous; 5: H·W3 and
//                              6: Hᵀ·dZ for W3, the output layer's 10 columns): how close the
//                              packed kernels come to the FMA ceiling without the rest of a step.
//   BM_Sliver/<kc>/<cols>      the packed product's inner loops alone, on the calling thread:
//                              10 slivers of 12 rows of A (read in place, rows kc apart)
//                              across a block of B packed once beforehand (kc × cols, 32-column
//                              slivers), C += A·B: the register block with nothing to pack,
//                              its B from L1 (kc 256, cols 32) or from L2 (a block of 512 KiB
//                              or 1 MiB, as a product's): what BM_Product loses to the rest.
//
// Counters: GFLOPs = the FLOPs of the matrix products per second: per example, 2 per
// multiply-add of every layer forward, 2 for its weight gradient and 2 for its input gradient
// except the first layer's (the data needs none; 4.8× the multiply-adds for model B, 4.03× for
// A; benchmarks/gpu/gpu_table.py counts the same), pct_fma = that as a percentage of the FMA ceiling measured
// once at start-up on one thread; threads = Eigen's thread count (OMP_NUM_THREADS with an
// OpenMP build, else 1). The data set is 60000×784 synthetic features made in code.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "minibatch/backend/cpu/gemm_packed.hpp"
#include "minibatch/kernels/ref/adaptive_update.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/samplers.hpp"
#include "minibatch/train.hpp"

namespace mb = minibatch;

namespace {

constexpr mb::index_t examples = 60000, features = 784, classes = 10;
constexpr int warmup_steps = 5;

const mb::TensorDataset<float, std::int32_t>& dataset() {
  static const auto data = [] {
    mb::TensorDataset<float, std::int32_t> d;
    d.features = mb::Tensor<float>(mb::Shape{examples, features});
    d.targets = mb::Tensor<std::int32_t>(mb::Shape{examples, 1});
    std::uint64_t s = 0x9e3779b97f4a7c15ULL;
    float* x = d.features.data();
    for (mb::index_t i = 0; i < examples * features; ++i) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      x[i] = static_cast<float>(s >> 40) * (1.0f / 16777216.0f);
    }
    for (mb::index_t i = 0; i < examples; ++i) d.targets.data()[i] = static_cast<std::int32_t>((i * 7919) % classes);
    return d;
  }();
  return data;
}

std::vector<mb::index_t> widths_of(int model) {
  return model == 0 ? std::vector<mb::index_t>{features, 128, classes}
                    : std::vector<mb::index_t>{features, 512, 512, classes};
}

// FLOPs of the matrix products of one example's step: forward and weight gradient of every
// layer, input gradient of every layer but the first.
double flops_per_example(const std::vector<mb::index_t>& w) {
  double flops = 0;
  for (std::size_t l = 1; l < w.size(); ++l)
    flops += (l == 1 ? 4.0 : 6.0) * static_cast<double>(w[l - 1]) * static_cast<double>(w[l]);
  return flops;
}

// ---- FMA ceiling -------------------------------------------------------------------------
// 12 independent accumulators hide the FMA latency (4 cycles) on two FMA ports.
// The chains are separate variables (kept in registers) and the loop count is opaque, so
// the compiler can neither fold nor shorten them.
#if defined(__AVX512F__)
using fma_vec = __m512;
constexpr int fma_lanes = 16;
inline fma_vec fma_set(float x) { return _mm512_set1_ps(x); }
inline fma_vec fma_op(fma_vec x, fma_vec a, fma_vec b) { return _mm512_fmadd_ps(x, a, b); }
inline fma_vec fma_add(fma_vec x, fma_vec y) { return _mm512_add_ps(x, y); }
#elif defined(__AVX2__) && defined(__FMA__)
using fma_vec = __m256;
constexpr int fma_lanes = 8;
inline fma_vec fma_set(float x) { return _mm256_set1_ps(x); }
inline fma_vec fma_op(fma_vec x, fma_vec a, fma_vec b) { return _mm256_fmadd_ps(x, a, b); }
inline fma_vec fma_add(fma_vec x, fma_vec y) { return _mm256_add_ps(x, y); }
#else
using fma_vec = float;
constexpr int fma_lanes = 1;
inline fma_vec fma_set(float x) { return x; }
inline fma_vec fma_op(fma_vec x, fma_vec a, fma_vec b) { return x * a + b; }
inline fma_vec fma_add(fma_vec x, fma_vec y) { return x + y; }
#endif

double fma_kernel(long iterations) {
  benchmark::DoNotOptimize(iterations);
  const fma_vec a = fma_set(0.999999f), b = fma_set(1e-7f);
  fma_vec c0 = fma_set(0), c1 = fma_set(1), c2 = fma_set(2), c3 = fma_set(3), c4 = fma_set(4), c5 = fma_set(5);
  fma_vec c6 = fma_set(6), c7 = fma_set(7), c8 = fma_set(8), c9 = fma_set(9), c10 = fma_set(10), c11 = fma_set(11);
  for (long i = 0; i < iterations; ++i) {
    c0 = fma_op(c0, a, b); c1 = fma_op(c1, a, b); c2 = fma_op(c2, a, b); c3 = fma_op(c3, a, b);
    c4 = fma_op(c4, a, b); c5 = fma_op(c5, a, b); c6 = fma_op(c6, a, b); c7 = fma_op(c7, a, b);
    c8 = fma_op(c8, a, b); c9 = fma_op(c9, a, b); c10 = fma_op(c10, a, b); c11 = fma_op(c11, a, b);
  }
  fma_vec sum = fma_add(fma_add(fma_add(c0, c1), fma_add(c2, c3)), fma_add(fma_add(c4, c5), fma_add(c6, c7)));
  sum = fma_add(sum, fma_add(fma_add(c8, c9), fma_add(c10, c11)));
  benchmark::DoNotOptimize(sum);
  return 2.0 * fma_lanes * 12 * static_cast<double>(iterations);
}

const char* fma_isa() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2";
#else
  return "scalar";
#endif
}

// Best of a few short runs, measured once per process (GFLOP/s, one thread).
double fma_ceiling_gflops() {
  static const double best = [] {
    double b = 0;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const double flops = fma_kernel(2'000'000);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      b = std::max(b, flops / s / 1e9);
    }
    return b;
  }();
  return best;
}

void BM_FmaCeiling(benchmark::State& state) {
  double flops = 0;
  for (auto _ : state) flops += fma_kernel(1'000'000);
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(fma_isa());
}

// ---- training ------------------------------------------------------------------------------
void set_model_counters(benchmark::State& state, const std::vector<mb::index_t>& w, double examples_per_iteration) {
  const double flops = flops_per_example(w) * examples_per_iteration * static_cast<double>(state.iterations());
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["fma_ceiling"] = fma_ceiling_gflops();
  state.counters["threads"] = Eigen::nbThreads();
}

// One benchmark's MLP (state.range(0)), batch size (range(1)), objective, optimizer, sampler.
struct Workload {
  explicit Workload(const benchmark::State& state)
      : w(widths_of(static_cast<int>(state.range(0)))), batch_size(static_cast<mb::index_t>(state.range(1))),
        model(w, mb::Activation::relu, 1), objective(model, dataset(), batch_size),
        opt({.lr = 0.01f, .momentum = 0.9f}), grad(mb::Shape{model.params().size()}),
        sampler({.batch_size = batch_size, .seed = 7}) {}
  std::vector<mb::index_t> w;
  mb::index_t batch_size;
  mb::Mlp<float> model;
  mb::ClassificationObjective<float> objective;
  mb::Momentum<float> opt;
  mb::Tensor<float> grad;
  mb::ShuffledSampler sampler;
};

// Times `steps` of one shuffled epoch's batches in turn, after 5 untimed ones.
template <bool Fused>
void run_steps(benchmark::State& state) {
  Workload work(state);
  auto& [w, batch_size, model, objective, opt, grad, sampler] = work;
  // The steps walk through the random batches of one shuffled epoch (as training does):
  // repeating one batch would let the momentum of its always-zero gradients decay into
  // subnormal floats, whose slow arithmetic no real run sees on every step.
  const auto order = sampler.epoch(examples, 0);
  auto params = model.params().flat();
  mb::index_t b = 0;
  // The lambda names the workload's members: clang 14 cannot capture structured bindings.
  const auto step = [&] {
    if constexpr (Fused) {
      benchmark::DoNotOptimize(work.objective.loss_and_step(params, order[b], work.grad.view(), work.opt));
    } else {
      benchmark::DoNotOptimize(work.objective.loss_and_gradient(params, order[b], work.grad.view()));
      work.opt.step(params, work.grad.view());
    }
    b = b + 1 == order.size() ? 0 : b + 1;
  };
  // Untimed warm-up: the first steps size the buffers (velocity, packing space) and, with
  // several threads, let gemm time each product on one thread and on all of them.
  for (int w = 0; w < warmup_steps; ++w) step();
  for (auto _ : state) step();
  set_model_counters(state, w, static_cast<double>(batch_size));
}

void BM_Step(benchmark::State& state) { run_steps<true>(state); }
void BM_StepSeparate(benchmark::State& state) { run_steps<false>(state); }

void BM_Epoch(benchmark::State& state) {
  Workload work(state);
  auto& [w, batch_size, model, objective, opt, grad, sampler] = work;
  // One untimed step first, as compare_pytorch.py gives PyTorch's epoch: it sizes the
  // buffers that every later step reuses.
  const auto warm_up = sampler.epoch(examples, 0);
  benchmark::DoNotOptimize(objective.loss_and_step(model.params().flat(), warm_up[0], grad.view(), opt));
  mb::index_t epoch = 0;
  for (auto _ : state) {
    const auto history = mb::train_loop(opt, sampler, objective, model.params().flat(), grad.view(),
                                        {.epochs = 1, .first_epoch = epoch++, .record_grad_norm = false,
                                         .stop_on_non_finite = false});
    benchmark::DoNotOptimize(history.steps);
  }
  set_model_counters(state, w, static_cast<double>(examples));
}

// ---- one product of model B ------------------------------------------------------------------
void BM_Product(benchmark::State& state) {
  const auto product = static_cast<int>(state.range(0));
  const auto n = static_cast<mb::index_t>(state.range(1));
  constexpr mb::index_t hidden = 512;
  struct Shape3 {
    mb::index_t a_rows, a_cols;
    bool trans_a;
    mb::index_t b_rows, b_cols;
    bool trans_b;
    const char* name;
  };
  const Shape3 shapes[] = {{n, features, false, features, hidden, false, "X·W1"},
                           {n, hidden, false, hidden, hidden, false, "H·W2"},
                           {n, hidden, false, hidden, hidden, true, "dZ·W2ᵀ"},
                           {n, hidden, true, n, hidden, false, "Hᵀ·dZ"},
                           {n, features, true, n, hidden, false, "Xᵀ·dZ"},
                           {n, hidden, false, hidden, classes, false, "H·W3"},
                           {n, hidden, true, n, classes, false, "Hᵀ·dZ3"}};
  const Shape3& s = shapes[product];
  const auto fill = [](mb::Tensor<float>& t, float scale) {
    for (mb::index_t i = 0; i < t.size(); ++i) t.data()[i] = scale * static_cast<float>((i * 7919) % 1000) / 1000.0f;
  };
  mb::Tensor<float> a(mb::Shape{s.a_rows, s.a_cols}), b(mb::Shape{s.b_rows, s.b_cols});
  fill(a, 1.0f);
  fill(b, 0.01f);
  const mb::index_t rows = s.trans_a ? s.a_cols : s.a_rows, cols = s.trans_b ? s.b_rows : s.b_cols;
  const mb::index_t inner = s.trans_a ? s.a_rows : s.a_cols;
  mb::Tensor<float> c(mb::Shape{rows, cols});
  const auto run = [&] {
    mb::ops<mb::cpu>::gemm<float>(std::as_const(a).view(), s.trans_a, std::as_const(b).view(), s.trans_b, c.view());
  };
  for (int w = 0; w < warmup_steps; ++w) run();  // packing space sized, thread choice measured
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(inner) *
                       static_cast<double>(state.iterations());
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["pct_fma"] =
      benchmark::Counter(100.0 * flops / 1e9 / fma_ceiling_gflops() / static_cast<double>(Eigen::nbThreads()),
                         benchmark::Counter::kIsRate);
  state.counters["threads"] = Eigen::nbThreads();
  state.SetLabel(s.name);
}

// ---- the packed product's inner loops alone --------------------------------------------------
void BM_Sliver(benchmark::State& state) {
  namespace packed = mb::cpu_backend::packed;
  constexpr Eigen::Index R = packed::rows_per_block, rows = 10 * R;
  const auto kc = static_cast<Eigen::Index>(state.range(0)), cols = static_cast<Eigen::Index>(state.range(1));
  std::vector<float> a(static_cast<std::size_t>(rows * kc)), bp(static_cast<std::size_t>(kc * cols)),
      c(static_cast<std::size_t>(rows * cols), 0.0f);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f;
  for (std::size_t i = 0; i < bp.size(); ++i) bp[i] = 1e-6f * static_cast<float>((i * 104729) % 1000);
  for (auto _ : state) {
    for (Eigen::Index i0 = 0; i0 < rows; i0 += R)
      packed::sliver<R>(mb::cpu_backend::small::Strided<float>{a.data() + i0 * kc, kc, 1}, bp.data(), kc,
                        c.data() + i0 * cols, cols, cols, mb::cpu_backend::small::Start::load, 1.0f);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(rows * cols * kc) * static_cast<double>(state.iterations());
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["pct_fma"] = benchmark::Counter(100.0 * flops / 1e9 / fma_ceiling_gflops(), benchmark::Counter::kIsRate);
  benchmark::DoNotOptimize(c.data());
}

// ---- memory-bound update --------------------------------------------------------------------
void BM_MomentumUpdate(benchmark::State& state) {
  const auto n = static_cast<mb::index_t>(state.range(0));
  mb::Tensor<float> theta(mb::Shape{n}), m(mb::Shape{n}), g(mb::Shape{n});
  std::fill_n(g.data(), n, 1e-3f);
  std::fill_n(theta.data(), n, 1.0f);
  mb::Momentum<float> opt({.lr = 0.01f, .momentum = 0.9f});
  opt.step(theta.view(), g.view());  // allocates and first-touches the velocity outside the timing
  for (auto _ : state) {
    opt.step(theta.view(), g.view());
    benchmark::ClobberMemory();
  }
  const double bytes = 20.0 * static_cast<double>(n) * static_cast<double>(state.iterations());
  state.counters["GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

template <bool Reference>
void adam_update(benchmark::State& state) {
  const auto n = static_cast<mb::index_t>(state.range(0));
  mb::Tensor<float> theta(mb::Shape{n}), m(mb::Shape{n}), v(mb::Shape{n}), g(mb::Shape{n});
  std::fill_n(theta.data(), n, 1.0f);
  std::fill_n(m.data(), n, 1e-3f);
  std::fill_n(v.data(), n, 1e-6f);
  std::fill_n(g.data(), n, 1e-3f);
  const mb::index_t offsets[2] = {0, n};
  const float wd = 0.01f;
  for (auto _ : state) {
    if constexpr (Reference)
      mb::kernels::ref::adam_update(theta.data(), m.data(), v.data(), g.data(), offsets, 1, &wd, 1e-3f, 0.9f, 0.999f,
                                    1e-8f, 0.1f, 0.001f, true);
    else
      mb::ops<mb::cpu>::adam_update<float>(theta.view(), m.view(), v.view(), g.view(),
                                           mb::TensorView<const mb::index_t>(offsets, mb::Shape{2}),
                                           mb::TensorView<const float>(&wd, mb::Shape{1}), 1e-3f, 0.9f, 0.999f, 1e-8f,
                                           0.1f, 0.001f, true);
    benchmark::ClobberMemory();
  }
  const double bytes = 28.0 * static_cast<double>(n) * static_cast<double>(state.iterations());
  state.counters["GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}
void BM_AdamUpdate(benchmark::State& state) { adam_update<false>(state); }
void BM_AdamUpdateReference(benchmark::State& state) { adam_update<true>(state); }

void BM_Copy(benchmark::State& state) {
  const auto n = static_cast<mb::index_t>(state.range(0));
  const mb::index_t floats = n * 5 / 2;  // 10 bytes per parameter read, 10 written
  mb::Tensor<float> src(mb::Shape{floats}), dst(mb::Shape{floats});
  std::fill_n(src.data(), floats, 1.0f);
  std::copy(src.data(), src.data() + floats, dst.data());
  for (auto _ : state) {
    std::copy(src.data(), src.data() + floats, dst.data());
    benchmark::ClobberMemory();
  }
  const double bytes = 20.0 * static_cast<double>(n) * static_cast<double>(state.iterations());
  state.counters["GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

void step_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"model", "batch"});
  for (int model : {0, 1})
    for (int batch : {1, 10, 100, 1000, 10000, 60000}) b->Args({model, batch});
}
void product_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"product", "batch"});
  for (int product = 0; product < 7; ++product)
    for (int batch : {100, 1000, 10000, 60000}) b->Args({product, batch});
}
void sliver_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kc", "cols"});
  b->Args({256, 32})->Args({512, 256})->Args({512, 512});
}
void epoch_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"model", "batch"});
  for (int model : {0, 1})
    for (int batch : {10, 100, 1000, 10000}) b->Args({model, batch});
}

}  // namespace

BENCHMARK(BM_FmaCeiling)->UseRealTime();
BENCHMARK(BM_Step)->Apply(step_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepSeparate)->Apply(step_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Epoch)->Apply(epoch_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Product)->Apply(product_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sliver)->Apply(sliver_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MomentumUpdate)->Arg(1'000'000)->Arg(10'000'000)->Arg(100'000'000)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AdamUpdate)->Arg(1'000'000)->Arg(10'000'000)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AdamUpdateReference)->Arg(1'000'000)->Arg(10'000'000)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Copy)->Arg(1'000'000)->Arg(10'000'000)->Arg(100'000'000)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
