// Quickstart: minibatch SGD with momentum on a least-squares problem.
//
// What it shows: the public contract in one screen — a tensor of parameters, a separable
// objective (mean loss and mean gradient over a batch of example indices), a sampler
// that draws the batches, and SGD<Momentum, ShuffledSampler> driving them.
// Run:  ./build/release/examples/quickstart/quickstart
// You should see the loss fall epoch by epoch and the fitted line approach
// y = 3x − 1 (the data are that line plus noise), ending with "fit: y = 3.0x - 1.0".
#include <cmath>
#include <cstdio>
#include <span>
#include <vector>

#include <minibatch/core/rng.hpp>
#include <minibatch/sgd.hpp>

namespace mb = minibatch;

// fᵢ(θ) = ½(θ₀·xᵢ + θ₁ − yᵢ)²; the loop hands us a batch of indices and wants means.
struct LineFit {
  std::vector<double> x, y;
  std::size_t size() const { return x.size(); }
  double loss_and_gradient(mb::TensorView<const double> theta, std::span<const std::size_t> batch,
                           mb::TensorView<double> grad) const {
    double loss = 0, g0 = 0, g1 = 0;
    for (std::size_t i : batch) {
      const double r = theta[0] * x[i] + theta[1] - y[i];
      loss += 0.5 * r * r;
      g0 += r * x[i];
      g1 += r;
    }
    const double inv = 1.0 / static_cast<double>(batch.size());
    grad[0] = g0 * inv;
    grad[1] = g1 * inv;
    return loss * inv;
  }
};

int main() {
  LineFit data;
  mb::Rng rng(2024);
  for (int i = 0; i < 1000; ++i) {
    const double xi = 2.0 * rng.uniform() - 1.0;
    data.x.push_back(xi);
    data.y.push_back(3.0 * xi - 1.0 + 0.1 * rng.normal());
  }

  mb::Tensor<double> theta{0.0, 0.0};
  mb::SGD sgd(mb::Momentum<double>({.lr = 0.05, .momentum = 0.9}),
              mb::ShuffledSampler({.batch_size = 32, .seed = 42, .drop_last = false}));
  auto report = mb::on_epoch([](const mb::EpochInfo& e) {
    std::printf("epoch %zu: mean batch loss %.5f\n", e.epoch, e.mean_loss);
  });
  const mb::History history = sgd.run(data, theta, {.epochs = 5}, report);
  std::printf("%zu updates in %.3f ms\n", history.steps, history.seconds * 1e3);
  std::printf("fit: y = %.1fx - %.1f\n", theta[0], -theta[1]);
  return std::abs(theta[0] - 3.0) < 0.1 && std::abs(theta[1] + 1.0) < 0.1 ? 0 : 1;
}
