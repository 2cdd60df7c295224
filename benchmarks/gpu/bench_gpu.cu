// bench_gpu: the GPU half of the issue-6 benchmarks, on the first CUDA device — one
// training step and one epoch of the MLPs A = 784-128-10 and B = 784-512-512-10 (ReLU,
// softmax cross-entropy, momentum 0.9, float32) at batch 1 … 60000, run eagerly and
// through a StepGraph (the step captured in a CUDA graph and replayed).
//
// One step = upload the batch's indices, gather its rows from the device-resident data set
// (60000 × 784, uniform pixels, random labels), forward, loss, backward, fused momentum
// update — what fit() does on the GPU, without the per-epoch evaluation. Per-step time: 5
// repeats of K consecutive steps timed with CUDA events (K makes a repeat last ~0.1 s),
// the median and the min of the per-step means. Per epoch: a new shuffle on the host, then
// every batch of 60000 examples, to the last kernel's end (1 epoch at batch ≤ 10, else the
// median of 3).
//
// Products (--products A,B): each matrix product of the model's step alone, as Mlp issues it
// through ops<cuda>::gemm (forward of layer l: a·W_l; weight gradient: aᵀ·δ; input gradient of
// layers 2…: δ·W_lᵀ), on random operands of the step's shapes: K calls captured in one CUDA
// graph (K such that a replay lasts ~10 ms), 5 replays, the median per call. Launches are gone,
// so this is the time cuBLAS's kernel choice takes on the device, and the sum over a step's
// products set against the graph step's time shows what the other kernels cost.
//
// Output: one JSON object per measurement (JSON Lines, the format of torch_cuda.py, which
// times PyTorch on the same workloads; gpu_table.py puts both side by side). Each record
// carries the device allocations made while it was timed (0 expected) and the last loss.
//
//   bench_gpu [--out FILE] [--batches 1,10,...] [--models A,B] [--epoch-models B]
//             [--products A,B] [--modes eager,graph] [--time-limit SECONDS] [--quick]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <minibatch/cuda.cuh>

namespace mb = minibatch;
using clock_type = std::chrono::steady_clock;

namespace {

struct Args {
  std::string out;
  std::vector<mb::index_t> batches{1, 10, 100, 1000, 10000, 60000};
  std::vector<std::string> models{"A", "B"};
  std::vector<std::string> epoch_models{"B"};
  std::vector<std::string> products;
  std::vector<std::string> modes{"eager", "graph"};
  double time_limit = 150;
  bool quick = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--out") a.out = value();
    else if (flag == "--batches") {
      a.batches.clear();
      for (const auto& b : split(value())) a.batches.push_back(std::stoull(b));
    } else if (flag == "--models") a.models = split(value());
    else if (flag == "--epoch-models") a.epoch_models = split(value());
    else if (flag == "--products") a.products = split(value());
    else if (flag == "--modes") a.modes = split(value());
    else if (flag == "--time-limit") a.time_limit = std::stod(value());
    else if (flag == "--quick") a.quick = true;
    else throw std::invalid_argument("unknown option " + flag);
  }
  return a;
}

std::vector<mb::index_t> widths_of(const std::string& model) {
  if (model == "A") return {784, 128, 10};
  if (model == "B") return {784, 512, 512, 10};
  throw std::invalid_argument("unknown model " + model + " (A or B)");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

using Data = mb::TensorDataset<float, std::int32_t, mb::cuda>;

// One model at one batch size, stepping through shuffled epochs, eagerly or by graph.
class Trainer {
 public:
  Trainer(const std::string& model, const Data& data, mb::index_t batch, bool graph)
      : net_(widths_of(model), mb::Activation::relu, 1),
        objective_(net_, data, batch),
        opt_({.lr = 0.01f, .momentum = 0.9f}),
        sampler_({.batch_size = batch, .seed = 1, .drop_last = true}),
        grad_(mb::Shape{net_.params().size()}),
        n_(data.size()),
        use_graph_(graph),
        batches_(sampler_.epoch(n_, 0)) {}

  // The next batch of the current epoch (a new shuffle when it runs out).
  void step() {
    if (next_ == batches_.size()) {
      batches_ = sampler_.epoch(n_, ++epoch_);
      next_ = 0;
    }
    run(batches_[next_++]);
  }

  // One whole new epoch, shuffle included; returns once the device is done.
  double epoch_seconds() {
    const auto start = clock_type::now();
    batches_ = sampler_.epoch(n_, ++epoch_);
    for (next_ = 0; next_ < batches_.size(); ++next_) run(batches_[next_]);
    mb::cuda_backend::context().synchronize();
    return std::chrono::duration<double>(clock_type::now() - start).count();
  }

  double loss() { return mb::ops<mb::cuda>::read(mb::TensorView<const float, mb::cuda>(loss_)); }
  std::uint64_t replays() const { return graph_.replays(); }

 private:
  void run(std::span<const mb::index_t> batch) {
    auto work = [&] {
      loss_ = objective_.loss_and_gradient(net_.params().flat(), batch, grad_.view()).tensor();
      opt_.step(net_.params().flat(), grad_.view());
    };
    if (use_graph_) graph_.run(batch, work);
    else work();
  }

  mb::Mlp<float, mb::cuda> net_;
  mb::ClassificationObjective<float, mb::cuda> objective_;
  mb::Momentum<float, mb::cuda> opt_;
  mb::ShuffledSampler sampler_;
  mb::Tensor<float, mb::cuda> grad_;
  mb::index_t n_;
  bool use_graph_;
  mb::BatchRange batches_;
  mb::index_t next_ = 0, epoch_ = 0;
  mb::cuda_backend::StepGraph graph_;
  mb::TensorView<const float, mb::cuda> loss_;
};

class Events {
 public:
  Events() {
    MINIBATCH_CUDA_CHECK(cudaEventCreate(&start_));
    MINIBATCH_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Events() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
  void start() { MINIBATCH_CUDA_CHECK(cudaEventRecord(start_, mb::cuda_backend::context().stream())); }
  double stop_ms() {
    MINIBATCH_CUDA_CHECK(cudaEventRecord(stop_, mb::cuda_backend::context().stream()));
    MINIBATCH_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    MINIBATCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// The data set of torch_cuda.py: pixels uniform in [0, 1), labels uniform in 0..9 (nothing
// to learn, so the loss stays near ln 10 and every batch size stays finite).
mb::data::Dataset uniform_data(mb::index_t rows) {
  mb::data::Dataset d;
  d.rows = rows, d.cols = 784, d.classes = 10;
  mb::Rng rng(7);
  d.features.resize(rows * d.cols);
  for (float& x : d.features) x = static_cast<float>(rng.uniform());
  d.labels.resize(rows);
  for (auto& y : d.labels) y = static_cast<std::int32_t>(rng.below(10));
  return d;
}

// One matrix product of a step: C[rows × cols] ← op(A)·op(B), op(A) rows × inner.
struct Product {
  std::string name;
  mb::index_t rows, cols, inner;
  bool trans_a, trans_b;
};

// The products of one training step of the MLP `widths` at `batch`, in the order Mlp issues
// them on the GPU (the first layer reads the gathered batch, so no product is indexed).
std::vector<Product> products_of(const std::vector<mb::index_t>& widths, mb::index_t batch) {
  std::vector<Product> forward, backward;
  for (std::size_t l = 1; l < widths.size(); ++l) {
    const mb::index_t in = widths[l - 1], out = widths[l];
    const std::string layer = std::to_string(l);
    forward.push_back({"forward " + layer, batch, out, in, false, false});
    backward.push_back({"weight gradient " + layer, in, out, batch, true, false});
    if (l > 1) backward.push_back({"input gradient " + layer, batch, in, out, false, true});
  }
  std::vector<Product> all = forward;
  all.insert(all.end(), backward.rbegin(), backward.rend());
  return all;
}

// A device tensor of the given shape, uniform in [-1, 1).
mb::Tensor<float, mb::cuda> random_tensor(mb::index_t rows, mb::index_t cols, mb::Rng& rng) {
  std::vector<float> host(rows * cols);
  for (float& x : host) x = static_cast<float>(2 * rng.uniform() - 1);
  return mb::Tensor<float, mb::cuda>(mb::Shape{rows, cols}, std::span<const float>(host));
}

// Milliseconds per call of `call` on the context's stream: K calls captured in one CUDA graph,
// K such that a replay lasts ~10 ms (at least 5 calls, at most 1000), then the median of 5
// replays over K. Two eager calls first warm cuBLAS up (its heuristics, its handle).
template <class Call>
double graph_ms_per_call(Call&& call, Events& events) {
  const cudaStream_t stream = mb::cuda_backend::context().stream();
  call();
  events.start();
  call();
  const double estimate_ms = std::max(events.stop_ms(), 1e-4);
  const int k = std::clamp(static_cast<int>(std::ceil(10.0 / estimate_ms)), 5, 1000);
  cudaGraph_t graph = nullptr;
  MINIBATCH_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    for (int i = 0; i < k; ++i) call();
  } catch (...) {  // leave the stream out of capture mode, as StepGraph does
    cudaStreamEndCapture(stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  MINIBATCH_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  MINIBATCH_CUDA_CHECK(made);
  std::vector<double> per_call;
  try {
    MINIBATCH_CUDA_CHECK(cudaGraphLaunch(exec, stream));  // the first replay uploads the graph
    for (int r = 0; r < 5; ++r) {
      events.start();
      MINIBATCH_CUDA_CHECK(cudaGraphLaunch(exec, stream));
      per_call.push_back(events.stop_ms() / k);
    }
  } catch (...) {
    cudaGraphExecDestroy(exec);
    throw;
  }
  cudaGraphExecDestroy(exec);
  return median(per_call);
}

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
      std::fprintf(stderr, "bench_gpu: no CUDA device\n");
      return 77;
    }
    cudaDeviceProp properties{};
    MINIBATCH_CUDA_CHECK(cudaGetDeviceProperties(&properties, 0));
    const std::string device = properties.name;
    std::ofstream file;
    if (!args.out.empty()) file.open(args.out);
    auto emit = [&](const std::string& record) {
      std::cout << record << '\n' << std::flush;
      if (file) file << record << '\n' << std::flush;
    };
    const auto begin = clock_type::now();
    auto out_of_time = [&] {
      return std::chrono::duration<double>(clock_type::now() - begin).count() > args.time_limit;
    };

    const mb::index_t rows = args.quick ? 6000 : 60000;
    const Data data = mb::to_tensors<float, mb::cuda>(uniform_data(rows));
    const std::string head = "{\"framework\":\"minibatch\",\"device\":\"" + device + "\"";
    Events events;

    // Runs measure(trainer, model, batch, mode) for every configuration, a fresh Trainer
    // warmed up by 10 steps (both graphs captured) each time, until the time limit.
    auto for_each = [&](const std::vector<std::string>& models, auto&& measure) {
      for (const auto& model : models)
        for (const mb::index_t batch : args.batches)
          for (const auto& mode : args.modes) {
            if (batch > rows || out_of_time()) continue;
            Trainer trainer(model, data, batch, mode == "graph");
            for (int i = 0; i < 10; ++i) trainer.step();
            const std::string record = head + ",\"mode\":\"" + mode + "\",\"model\":\"" + model +
                                       "\",\"batch\":" + std::to_string(batch);
            emit(record + measure(trainer, batch) + ",\"loss\":" + json_number(trainer.loss()) + "}");
          }
    };

    for_each(args.models, [&](Trainer& trainer, mb::index_t) {
      events.start();
      for (int i = 0; i < 3; ++i) trainer.step();
      const double estimate_ms = std::max(events.stop_ms() / 3, 1e-3);
      const int k = std::clamp(static_cast<int>(std::ceil((args.quick ? 10.0 : 100.0) / estimate_ms)), 3, 100000);
      const std::uint64_t allocations = mb::cuda_backend::allocation_count();
      std::vector<double> per_step;
      for (int r = 0; r < 5; ++r) {
        events.start();
        for (int i = 0; i < k; ++i) trainer.step();
        per_step.push_back(events.stop_ms() / k);
      }
      const std::uint64_t allocated = mb::cuda_backend::allocation_count() - allocations;
      return ",\"step_ms_median\":" + json_number(median(per_step)) +
             ",\"step_ms_min\":" + json_number(*std::min_element(per_step.begin(), per_step.end())) +
             ",\"steps_timed\":" + std::to_string(5 * k) + ",\"device_allocations\":" + std::to_string(allocated) +
             ",\"graph_replays\":" + std::to_string(trainer.replays());
    });

    for_each(args.epoch_models, [&](Trainer& trainer, mb::index_t batch) {
      const int epochs = batch <= 10 ? 1 : 3;
      std::vector<double> seconds;
      for (int e = 0; e < epochs; ++e) seconds.push_back(trainer.epoch_seconds());
      return ",\"epoch_s\":" + json_number(median(seconds)) + ",\"epochs_timed\":" + std::to_string(epochs) +
             ",\"examples\":" + std::to_string(rows);
    });
    mb::Rng rng(11);
    for (const auto& model : args.products)
      for (const mb::index_t batch : args.batches) {
        if (batch > rows) continue;
        for (const Product& p : products_of(widths_of(model), batch)) {
          if (out_of_time()) break;
          const auto a = p.trans_a ? random_tensor(p.inner, p.rows, rng) : random_tensor(p.rows, p.inner, rng);
          const auto b = p.trans_b ? random_tensor(p.cols, p.inner, rng) : random_tensor(p.inner, p.cols, rng);
          mb::Tensor<float, mb::cuda> c(mb::Shape{p.rows, p.cols});
          const double ms = graph_ms_per_call(
              [&] { mb::ops<mb::cuda>::gemm<float>(a.view(), p.trans_a, b.view(), p.trans_b, c.view()); }, events);
          const double flop =
              2.0 * static_cast<double>(p.rows) * static_cast<double>(p.cols) * static_cast<double>(p.inner);
          emit(head + ",\"kind\":\"product\",\"model\":\"" + model + "\",\"batch\":" + std::to_string(batch) +
               ",\"product\":\"" + p.name + "\",\"rows\":" + std::to_string(p.rows) + ",\"cols\":" +
               std::to_string(p.cols) + ",\"inner\":" + std::to_string(p.inner) + ",\"trans_a\":" +
               (p.trans_a ? "true" : "false") + ",\"trans_b\":" + (p.trans_b ? "true" : "false") +
               ",\"ms_median\":" + json_number(ms) + ",\"tflops\":" + json_number(flop / ms / 1e9) + "}");
        }
      }
    if (out_of_time()) std::fprintf(stderr, "bench_gpu: stopped at the time limit (%g s)\n", args.time_limit);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu: %s\n", e.what());
    return 1;
  }
}
