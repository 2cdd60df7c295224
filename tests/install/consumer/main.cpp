// A downstream project: includes only <minibatch/momentum.hpp> from an installed package.
#include <minibatch/momentum.hpp>

#include <iostream>

int main() {
  namespace mb = minibatch;
  mb::Tensor<double> theta{1.0, 2.0};
  mb::Momentum<double> opt({.lr = 0.1, .momentum = 0.9});
  for (int step = 0; step < 3; ++step) {
    mb::Tensor<double> grad = theta;  // f(θ) = ½‖θ‖²
    opt.step(theta, grad);
  }
  std::cout << "theta = " << theta[0] << ' ' << theta[1] << '\n';
}
