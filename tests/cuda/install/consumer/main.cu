// A downstream CUDA project: includes only <minibatch/cuda.cuh> from an installed package
// and runs three momentum steps on the GPU. Exits 77 when there is no CUDA device.
#include <minibatch/cuda.cuh>

#include <iostream>

int main() {
  namespace mb = minibatch;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::cout << "no CUDA device\n";
    return 77;
  }
  mb::Tensor<float, mb::cuda> theta{1.0f, 2.0f};
  mb::Momentum<float, mb::cuda> opt({.lr = 0.1f, .momentum = 0.9f});
  for (int step = 0; step < 3; ++step) {
    mb::Tensor<float, mb::cuda> grad = theta;  // f(θ) = ½‖θ‖²
    opt.step(theta, grad);
  }
  const std::vector<float> host = theta.to_vector();
  std::cout << "theta = " << host[0] << ' ' << host[1] << '\n';
}
