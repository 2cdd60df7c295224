// The models, loss heads and fit(), unchanged, on the cuda backend: every model gradient
// against the cpu at the same parameters (a full batch of 60000 rows and a gathered
// batch), and a short fit() whose losses and accuracies follow the cpu's.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gpu_test.hpp"
#include "minibatch/cuda.cuh"

namespace mb = minibatch;
using gpu_test::check_close;
using gpu_test::random_labels;
using gpu_test::random_values;

namespace {

template <class Target, class B>
mb::TensorDataset<float, Target, B> dataset(std::size_t n, std::size_t cols, const std::vector<Target>& targets) {
  const auto features = random_values<float>(n * cols, 201);
  const std::size_t k = targets.size() / n;
  return {mb::Tensor<float, B>(mb::Shape{n, cols}, std::span<const float>(features)),
          mb::Tensor<Target, B>(mb::Shape{n, k}, std::span<const Target>(targets))};
}

struct Gradient {
  double loss;
  std::vector<float> grad;
};

// Loss and gradient of the network (widths, hidden activation, seed 7) on one batch.
template <class Loss, class B, class Target>
Gradient gradient(const std::vector<mb::index_t>& widths, mb::Activation hidden, const std::vector<Target>& targets,
                  std::size_t n, std::span<const mb::index_t> batch) {
  mb::Mlp<float, B> net(widths, hidden, 7);
  const auto data = dataset<Target, B>(n, widths.front(), targets);
  mb::SupervisedObjective<float, B, Loss> objective(net, data, batch.size());
  mb::Tensor<float, B> grad(mb::Shape{net.params().size()});
  const double loss = objective.loss_and_gradient(net.params().flat(), batch, grad.view());
  return {loss, grad.to_vector()};
}

template <class Loss, class Target>
void compare_gradients(const std::string& name, const std::vector<mb::index_t>& widths, mb::Activation hidden,
                       const std::vector<Target>& targets, std::size_t n, std::span<const mb::index_t> batch) {
  const auto gpu = gradient<Loss, mb::cuda>(widths, hidden, targets, n, batch);
  const auto cpu = gradient<Loss, mb::cpu>(widths, hidden, targets, n, batch);
  check_close(gpu.loss, cpu.loss, {1e-6, 1e-5}, name + " loss");
  check_close(gpu.grad, cpu.grad, {1e-6, 1e-4}, name + " gradient");
}

std::vector<mb::index_t> iota(std::size_t n) {
  std::vector<mb::index_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::vector<mb::index_t> shuffled_batch(std::size_t n, std::size_t size) {
  mb::Rng rng(211);
  std::vector<mb::index_t> v(size);
  for (auto& i : v) i = rng.below(n);
  return v;
}

}  // namespace

TEST_CASE("Mlp gradients on cuda match the cpu: softmax on 60000 rows, sigmoid and mse heads, gathered batches") {
  const std::size_t n = 60000;
  const auto labels = random_labels(n, 10, 202);
  const auto all = iota(n), some = shuffled_batch(n, 1000);
  compare_gradients<mb::SoftmaxCrossEntropy>("Mlp 37-64-10 relu, softmax, batch 60000 (in place)", {37, 64, 10},
                                             mb::Activation::relu, labels, n, all);
  compare_gradients<mb::SoftmaxCrossEntropy>("Mlp 37-64-64-10 tanh, softmax, gathered batch 1000",
                                             {37, 64, 64, 10}, mb::Activation::tanh, labels, n, some);

  const std::size_t m = 5000;
  auto binary = random_labels(m, 2, 203);
  compare_gradients<mb::SigmoidCrossEntropy>("Mlp 37-16-1 sigmoid, logistic, batch 5000", {37, 16, 1},
                                             mb::Activation::sigmoid, binary, m, iota(m));
  const auto targets = random_values<float>(m * 3, 204);
  compare_gradients<mb::MeanSquaredError>("Mlp 37-16-3 tanh, mse, gathered batch 1000", {37, 16, 3},
                                          mb::Activation::tanh, targets, m, shuffled_batch(m, 1000));
}

TEST_CASE("fit() on cuda follows the cpu: step losses, and accuracies within 0.5 points") {
  // One draw of blobs, split: the validation rows share the training rows' centers.
  const auto parts = mb::data::train_validation_split(mb::data::make_blobs(7000, 20, 5, 0.8, 31), 1.0 / 7.0, 32);
  const mb::data::Dataset& train = parts.first;
  const mb::data::Dataset& validation = parts.second;
  auto run = [&]<class B>(B) {
    mb::Mlp<float, B> model({20, 64, 5}, mb::Activation::relu, 3);
    mb::Momentum<float, B> opt({.lr = 0.05f, .momentum = 0.9f});
    mb::ShuffledSampler sampler({.batch_size = 100, .seed = 5, .drop_last = false});
    return mb::fit(model, train, opt, sampler, {.epochs = 3, .validation = &validation});
  };
  const auto gpu = run(mb::cuda{});
  const auto cpu = run(mb::cpu{});
  check_close(gpu.history.loss, cpu.history.loss, {1e-3, 1e-2}, "fit step losses");
  REQUIRE(gpu.epochs.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    std::printf("  epoch %zu: train accuracy cuda %.4f cpu %.4f, validation cuda %.4f cpu %.4f\n", e,
                gpu.epochs[e].train_accuracy, cpu.epochs[e].train_accuracy, gpu.epochs[e].validation_accuracy,
                cpu.epochs[e].validation_accuracy);
    CHECK(std::abs(gpu.epochs[e].train_accuracy - cpu.epochs[e].train_accuracy) <= 0.005);
    CHECK(std::abs(gpu.epochs[e].validation_accuracy - cpu.epochs[e].validation_accuracy) <= 0.005);
  }
}

TEST_CASE("fit() on cuda reads losses once per epoch by default; every_step gives the same history; divergence is named") {
  const auto data = mb::data::make_blobs(2000, 20, 5, 0.8, 33);
  auto run = [&](mb::ReadBack read_back, float lr) {
    mb::Mlp<float, mb::cuda> model({20, 32, 5}, mb::Activation::relu, 3);
    mb::Momentum<float, mb::cuda> opt({.lr = lr, .momentum = 0.9f});
    mb::ShuffledSampler sampler({.batch_size = 100, .seed = 5, .drop_last = false});
    return mb::fit(model, data, opt, sampler, {.epochs = 2, .evaluate_train = false, .read_back = read_back});
  };
  const auto lazy = run(mb::ReadBack::automatic, 0.05f);
  const auto eager = run(mb::ReadBack::every_step, 0.05f);
  REQUIRE(lazy.history.loss.size() == 40);
  check_close(lazy.history.loss, eager.history.loss, {0, 0}, "per-epoch vs per-step read-back: step losses");
  check_close(lazy.history.grad_norm, eager.history.grad_norm, {0, 1e-12}, "per-epoch vs per-step: gradient norms");
  try {
    run(mb::ReadBack::automatic, 1e30f);
    FAIL("a learning rate of 1e30 should diverge");
  } catch (const mb::divergence_error& e) {
    MESSAGE(e.what());
    CHECK(std::string(e.what()).find("read_back = per_epoch") != std::string::npos);
  }
}
