// The GPU umbrella: everything in <minibatch/minibatch.hpp> plus the cuda backend, so the
// same optimizers, samplers and training loop run on Tensor<T, mb::cuda>. Needs nvcc.
//
//   #include <minibatch/cuda.cuh>
//   mb::Tensor<float, mb::cuda> theta{1.0f, 2.0f};      // copied to the current GPU
//   mb::Momentum<float, mb::cuda> opt({.lr = 0.1f, .momentum = 0.9f});
//   opt.step(theta, grad);                               // one fused kernel, no sync
//   theta.to_vector();                                   // back to the host (waits)
//
// What it adds: the `cuda` tag and memory<cuda> (backend/cuda/memory.cuh), the per-device
// stream, memory pool and cuBLAS handle (backend/cuda/context.cuh), cuda_error
// (backend/cuda/error.cuh), ops<cuda> (backend/cuda/ops.cuh), StepGraph, which captures a
// training step in a CUDA graph and replays it (backend/cuda/step_graph.cuh), and the raw-pointer kernels
// (kernels/cuda/*.cuh), which other projects may call without our tensor type.
//
// Eigen 3.4 (the cpu backend) marks defaulted members __host__ __device__, which nvcc
// warns about (#20012); those warnings are silenced for its headers only. Its constexpr
// host functions called from host-device code need nvcc's --expt-relaxed-constexpr,
// which the minibatch::cuda CMake target adds for CUDA sources.
#pragma once

#pragma nv_diagnostic push
#pragma nv_diag_suppress 20012
#include "minibatch/minibatch.hpp"
#pragma nv_diagnostic pop

#include "minibatch/backend/cuda/context.cuh"
#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/backend/cuda/memory.cuh"
#include "minibatch/backend/cuda/ops.cuh"
#include "minibatch/backend/cuda/step_graph.cuh"
#include "minibatch/kernels/cuda/accuracy.cuh"
#include "minibatch/kernels/cuda/activation.cuh"
#include "minibatch/kernels/cuda/adaptive_update.cuh"
#include "minibatch/kernels/cuda/bias.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/cuda/gather.cuh"
#include "minibatch/kernels/cuda/mse.cuh"
#include "minibatch/kernels/cuda/norm.cuh"
#include "minibatch/kernels/cuda/optim_update.cuh"
#include "minibatch/kernels/cuda/reduce.cuh"
#include "minibatch/kernels/cuda/sigmoid_xent.cuh"
#include "minibatch/kernels/cuda/softmax_xent.cuh"
