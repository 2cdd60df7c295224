// StepGraph (backend/cuda/step_graph.cuh): a training step captured in a CUDA graph and
// replayed gives the eager step's iterates batch for batch, allocates nothing once
// captured, replays a baked (in-place) batch only for that batch, and a step that
// synchronises fails its capture with cuda_error and leaves the backend usable.
#include <doctest/doctest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "gpu_test.hpp"
#include "minibatch/cuda.cuh"

namespace mb = minibatch;
using gpu_test::check_close;

namespace {

using Objective = mb::ClassificationObjective<float, mb::cuda>;

struct Problem {
  mb::data::Dataset blobs = mb::data::make_blobs(3000, 20, 5, 0.8, 41);
  mb::TensorDataset<float, std::int32_t, mb::cuda> data = mb::to_tensors<float, mb::cuda>(blobs);
};

// Params after `epochs` epochs of momentum SGD over the sampler's batches, each step run
// eagerly or through a StepGraph.
template <class Sampler>
std::vector<float> train(const Problem& p, Sampler sampler, mb::index_t batch, int epochs, bool graph,
                         mb::cuda_backend::StepGraph* g = nullptr, std::uint64_t* steady_allocations = nullptr) {
  mb::Mlp<float, mb::cuda> net({20, 64, 5}, mb::Activation::relu, 3);
  Objective objective(net, p.data, batch);
  mb::Momentum<float, mb::cuda> opt({.lr = 0.05f, .momentum = 0.9f});
  mb::Tensor<float, mb::cuda> grad(mb::Shape{net.params().size()});
  auto theta = net.params().flat();
  mb::cuda_backend::StepGraph local;
  mb::cuda_backend::StepGraph& steps = g ? *g : local;
  std::uint64_t after_warmup = 0;
  mb::index_t count = 0;
  for (int e = 0; e < epochs; ++e) {
    const mb::BatchRange batches = sampler.epoch(p.data.size(), static_cast<mb::index_t>(e));
    for (mb::index_t b = 0; b < batches.size(); ++b) {
      const std::span<const mb::index_t> idx = batches[b];
      auto step = [&] {
        objective.loss_and_gradient(theta, idx, grad.view());
        opt.step(theta, grad.view());
      };
      if (graph) steps.run(idx, step);
      else step();
      if (++count == 3) after_warmup = mb::cuda_backend::allocation_count();
    }
  }
  if (steady_allocations) *steady_allocations = mb::cuda_backend::allocation_count() - after_warmup;
  return net.params().flat().to_vector();
}

}  // namespace

TEST_CASE("StepGraph replays a shuffled-batch momentum step: the eager iterates, no allocation once captured") {
  const Problem p;
  const mb::SamplerOptions sampling{.batch_size = 32, .seed = 9, .drop_last = true};
  mb::cuda_backend::StepGraph graph;
  std::uint64_t allocations = 1;
  const auto replayed = train(p, mb::ShuffledSampler(sampling), 32, 2, true, &graph, &allocations);
  const auto eager = train(p, mb::ShuffledSampler(sampling), 32, 2, false);
  const std::uint64_t steps = 2 * (3000 / 32);
  CHECK(graph.eager_steps() == 1);
  CHECK(graph.captures() == 2);
  CHECK(graph.replays() == steps - 1);
  CHECK(allocations == 0);
  check_close(replayed, eager, {1e-6, 1e-5}, "graph vs eager params after 2 epochs of batch 32");
}

TEST_CASE("StepGraph replays batches of one (always gathered) and keeps the eager iterates") {
  const Problem p;
  const mb::SamplerOptions sampling{.batch_size = 1, .seed = 10, .drop_last = true};
  mb::cuda_backend::StepGraph graph;
  const auto replayed = train(p, mb::ShuffledSampler(sampling), 1, 1, true, &graph);
  const auto eager = train(p, mb::ShuffledSampler(sampling), 1, 1, false);
  CHECK(graph.replays() == 3000 - 1);
  check_close(replayed, eager, {1e-6, 1e-5}, "graph vs eager params after an epoch of batch 1");
}

TEST_CASE("StepGraph: a full batch is used in place and baked in; it replays only for that batch") {
  const Problem p;
  mb::cuda_backend::StepGraph graph;
  const auto replayed = train(p, mb::FullBatchSampler{}, 3000, 5, true, &graph);
  const auto eager = train(p, mb::FullBatchSampler{}, 3000, 5, false);
  CHECK(graph.replays() == 4);
  check_close(replayed, eager, {1e-6, 1e-5}, "graph vs eager params after 5 full-batch steps");

  // A different contiguous batch of the same size cannot reuse the baked graph: eager.
  mb::Mlp<float, mb::cuda> net({20, 64, 5}, mb::Activation::relu, 3);
  Objective objective(net, p.data, 100);
  mb::Tensor<float, mb::cuda> grad(mb::Shape{net.params().size()});
  mb::cuda_backend::StepGraph g;
  std::vector<mb::index_t> first(100), second(100);
  for (mb::index_t i = 0; i < 100; ++i) first[i] = i, second[i] = 100 + i;
  const auto step_on = [&](const std::vector<mb::index_t>& batch) {
    g.run(batch, [&] { objective.loss_and_gradient(net.params().flat(), batch, grad.view()); });
  };
  step_on(first);
  step_on(first);
  step_on(second);
  CHECK(g.replays() == 1);
  CHECK(g.eager_steps() == 2);
  const auto via_graph = grad.to_vector();
  objective.loss_and_gradient(net.params().flat(), second, grad.view());
  check_close(via_graph, grad.to_vector(), {0, 0}, "gradient of the second batch (eager fallback)");
}

TEST_CASE("StepGraph: a step that reads a value back fails its capture with cuda_error; the backend stays usable") {
  mb::Tensor<float, mb::cuda> x{1.0f, 2.0f, 2.0f};
  mb::cuda_backend::StepGraph g;
  const std::vector<mb::index_t> batch{0};
  double norm = 0;
  auto step = [&] { norm = mb::ops<mb::cuda>::l2_norm(mb::TensorView<const float, mb::cuda>(x.view())); };
  g.run(batch, step);  // warm-up: eager, fine
  CHECK(norm == doctest::Approx(3.0));
  CHECK_THROWS_AS(g.run(batch, step), mb::cuda_error);
  CHECK(g.captures() == 0);
  CHECK(mb::ops<mb::cuda>::l2_norm(mb::TensorView<const float, mb::cuda>(x.view())) == doctest::Approx(3.0));
}
