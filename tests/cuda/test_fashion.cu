// The Fashion-MNIST MLP trained on the GPU reaches the cpu's accuracy from the same seed:
// the tutorial's recipe (784-256-10 ReLU, momentum SGD, batch 64, lr 0.05 with a cosine
// decay over 10 epochs), test accuracy within 0.5 points. Both start on the same
// trajectory (the first step losses agree); float rounding then separates them, so only a
// run that has settled can be compared. Measured: 3 epochs at a constant lr ended 1.0
// point apart on an H200 machine (GPU 85.38%, its CPU 84.38%), and on a 2-core Xeon VM a
// one-ulp nudge of the initial weights moved that run from 84.90% to 85.01%; the 10-epoch
// cosine run there: 88.69% vs 88.78% nudged (0.09 points).
// Runs where the data set is: MINIBATCH_FASHION_MNIST_DIR, else Debian's default folder;
// without either it says so and checks nothing (a GPU machine need not carry the data).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "gpu_test.hpp"

#include "minibatch/cuda.cuh"

namespace mb = minibatch;

namespace {

std::string fashion_dir() {
  const char* dir = std::getenv("MINIBATCH_FASHION_MNIST_DIR");
  return dir ? dir : mb::data::default_data_dir;
}

struct Trained {
  mb::Evaluation test;
  std::vector<double> losses;
};

template <class B>
Trained train_and_test(const mb::data::Mnist& mnist) {
  constexpr mb::index_t epochs = 10;
  constexpr float lr = 0.05f;
  mb::Mlp<float, B> model({784, 256, 10}, mb::Activation::relu, 1);
  mb::Momentum<float, B> opt({.lr = lr, .momentum = 0.9f});
  mb::ShuffledSampler sampler({.batch_size = 64, .seed = 1, .drop_last = false});
  auto cosine = mb::on_epoch([&](const mb::EpochInfo& e) {
    opt.set_lr(static_cast<float>(lr * 0.5 * (1 + std::cos(std::numbers::pi * double(e.epoch + 1) / double(epochs)))));
  });
  const auto fitted = mb::fit(model, mnist.train, opt, sampler, {.epochs = epochs, .evaluate_train = false}, cosine);
  std::printf("  %s: %zu epochs in %.2f s, final step loss %.4f\n", std::string(B::name).c_str(), epochs,
              fitted.history.seconds, fitted.history.loss.back());
  return {mb::evaluate(model, mnist.test), fitted.history.loss};
}

}  // namespace

TEST_CASE("Fashion-MNIST MLP 784-256-10: the GPU's test accuracy is the cpu's within 0.5 points") {
  const std::string dir = fashion_dir();
  if (!std::filesystem::exists(std::filesystem::path(dir) / "train-images-idx3-ubyte.gz") &&
      !std::filesystem::exists(std::filesystem::path(dir) / "train-images-idx3-ubyte")) {
    MESSAGE("Fashion-MNIST not found in " << dir << " (set MINIBATCH_FASHION_MNIST_DIR): not checked");
    return;
  }
  const auto mnist = mb::data::load_mnist(dir);
  const auto gpu = train_and_test<mb::cuda>(mnist);
  const auto cpu = train_and_test<mb::cpu>(mnist);
  std::printf("  Fashion-MNIST test accuracy: cuda %.2f%%, cpu %.2f%%\n", 100 * gpu.test.accuracy,
              100 * cpu.test.accuracy);
  const std::vector<double> gpu_start(gpu.losses.begin(), gpu.losses.begin() + 20);
  const std::vector<double> cpu_start(cpu.losses.begin(), cpu.losses.begin() + 20);
  gpu_test::check_close(gpu_start, cpu_start, {1e-5, 1e-3}, "the first 20 step losses");
  CHECK(gpu.test.accuracy > 0.87);
  CHECK(std::abs(gpu.test.accuracy - cpu.test.accuracy) <= 0.005);
}
