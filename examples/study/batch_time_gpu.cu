// Experiment 2 on the GPU: run_batch_time on the cuda backend, named after the device.
#include <minibatch/cuda.cuh>

#include <string>

#include "lecture/gpu_timing.hpp"

namespace lecture {

std::optional<BatchTimeResult> run_batch_time_gpu(const minibatch::data::Dataset& train,
                                                  const BatchTimeOptions& options) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) return std::nullopt;
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess) return std::nullopt;
  return run_batch_time<minibatch::cuda>(train, {{std::string("gpu (") + properties.name + ")"}}, options).front();
}

}  // namespace lecture
