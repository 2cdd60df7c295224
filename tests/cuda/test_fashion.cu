// The Fashion-MNIST MLP trained on the GPU reaches the cpu's accuracy from the same seed:
// 784-256-10 ReLU, momentum SGD, batch 64, 3 epochs, test accuracy within 0.5 points.
// Runs where the data set is: MINIBATCH_FASHION_MNIST_DIR, else Debian's default folder;
// without either it says so and checks nothing (a GPU machine need not carry the data).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "minibatch/cuda.cuh"

namespace mb = minibatch;

namespace {

std::string fashion_dir() {
  const char* dir = std::getenv("MINIBATCH_FASHION_MNIST_DIR");
  return dir ? dir : mb::data::default_data_dir;
}

template <class B>
mb::Evaluation train_and_test(const mb::data::Mnist& mnist) {
  mb::Mlp<float, B> model({784, 256, 10}, mb::Activation::relu, 1);
  mb::Momentum<float, B> opt({.lr = 0.05f, .momentum = 0.9f});
  mb::ShuffledSampler sampler({.batch_size = 64, .seed = 1, .drop_last = false});
  const auto fitted = mb::fit(model, mnist.train, opt, sampler, {.epochs = 3, .evaluate_train = false});
  std::printf("  %s: 3 epochs in %.2f s, final step loss %.4f\n", std::string(B::name).c_str(),
              fitted.history.seconds, fitted.history.loss.back());
  return mb::evaluate(model, mnist.test);
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
  std::printf("  Fashion-MNIST test accuracy: cuda %.2f%%, cpu %.2f%%\n", 100 * gpu.accuracy, 100 * cpu.accuracy);
  CHECK(gpu.accuracy > 0.85);
  CHECK(std::abs(gpu.accuracy - cpu.accuracy) <= 0.005);
}
