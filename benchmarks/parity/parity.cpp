// PyTorch parity driver: runs minibatch's optimizers in double on a fixed least-squares
// problem for 100 steps and prints every iterate, one line per step:
//
//     <config> <step> θ₀ θ₁ θ₂ θ₃ θ₄        (%.17g, so the text round-trips exactly)
//
// parity.py runs torch.optim on the same problem from the same start and compares. The
// problem uses exactly representable data and the gradient is computed with the same loop
// order on both sides, so any difference comes from the optimizers' arithmetic.
//
//   f(θ) = (1/n) Σᵢ ½(xᵢ·θ − yᵢ)²,  n = 8, d = 5
//   X[i][j] = ((7i + 3j) mod 11 − 5)/4,  y[i] = ((5i) mod 7 − 3)/2,  θ⁰[j] = (j − 2)/4
//
// torch.optim.SGD's weight_decay has no counterpart in Momentum: for the "sgd_wd" config
// the driver adds it to the gradient (g + λθ), which is exactly what torch does.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "minibatch/adagrad.hpp"
#include "minibatch/adam.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/rmsprop.hpp"

namespace mb = minibatch;

namespace {

constexpr int n = 8, d = 5, steps = 100;

double x(int i, int j) { return static_cast<double>((7 * i + 3 * j) % 11 - 5) / 4.0; }
double y(int i) { return static_cast<double>((5 * i) % 7 - 3) / 2.0; }

// g = (1/n) Σᵢ (xᵢ·θ − yᵢ)·xᵢ, in this loop order (parity.py uses the same).
void gradient(const mb::Tensor<double>& theta, mb::Tensor<double>& g) {
  for (int j = 0; j < d; ++j) g[j] = 0.0;
  for (int i = 0; i < n; ++i) {
    double r = -y(i);
    for (int j = 0; j < d; ++j) r += x(i, j) * theta[j];
    for (int j = 0; j < d; ++j) g[j] += r * x(i, j);
  }
  for (int j = 0; j < d; ++j) g[j] /= n;
}

template <class Opt>
void run(const std::string& name, Opt opt, double coupled_decay = 0.0) {
  mb::Tensor<double> theta(mb::Shape{d}), g(mb::Shape{d});
  for (int j = 0; j < d; ++j) theta[j] = (j - 2) / 4.0;
  for (int s = 1; s <= steps; ++s) {
    gradient(theta, g);
    for (int j = 0; j < d; ++j) g[j] += coupled_decay * theta[j];
    opt.step(theta, g);
    std::printf("%s %d", name.c_str(), s);
    for (int j = 0; j < d; ++j) std::printf(" %.17g", theta[j]);
    std::printf("\n");
  }
}

}  // namespace

int main() {
  using F = mb::MomentumForm;
  run("sgd_momentum", mb::Momentum<double>({.lr = 0.05, .momentum = 0.9, .form = F::pytorch}));
  run("sgd_momentum_lecture", mb::Momentum<double>({.lr = 0.05, .momentum = 0.9}));
  run("sgd_dampening", mb::Momentum<double>({.lr = 0.05, .momentum = 0.9, .form = F::pytorch, .dampening = 0.3}));
  run("sgd_nesterov", mb::Momentum<double>({.lr = 0.05, .momentum = 0.9, .nesterov = true, .form = F::pytorch}));
  run("sgd_nesterov_lecture", mb::Momentum<double>({.lr = 0.05, .momentum = 0.9, .nesterov = true}));
  run("sgd_wd", mb::Momentum<double>({.lr = 0.05, .momentum = 0.9, .form = F::pytorch}), 0.01);
  run("adagrad", mb::Adagrad<double>({.lr = 0.1}));
  run("adagrad_decay_wd",
      mb::Adagrad<double>({.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1}));
  run("rmsprop", mb::RMSProp<double>({.lr = 0.01}));
  run("rmsprop_centered_momentum_wd", mb::RMSProp<double>({.lr = 0.01, .alpha = 0.9, .weight_decay = 0.01,
                                                            .momentum = 0.9, .centered = true}));
  run("adam", mb::Adam<double>({.lr = 0.01}));
  run("adam_betas_wd", mb::Adam<double>({.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .weight_decay = 0.01}));
  run("adamw", mb::AdamW<double>({.lr = 0.01}));
  run("adamw_wd", mb::AdamW<double>({.lr = 0.01, .weight_decay = 0.1}));
  return 0;
}
