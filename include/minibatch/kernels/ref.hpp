// The reference kernels: plain loops over raw pointers, the oracle that every fused CPU
// and CUDA kernel is tested against. Row-major; gradients overwrite their output; losses
// are the mean over the batch, so their gradients carry the 1/n.
#pragma once

#include "minibatch/kernels/ref/accuracy.hpp"
#include "minibatch/kernels/ref/activation.hpp"
#include "minibatch/kernels/ref/bias.hpp"
#include "minibatch/kernels/ref/dense.hpp"
#include "minibatch/kernels/ref/gather.hpp"
#include "minibatch/kernels/ref/mse.hpp"
#include "minibatch/kernels/ref/norm.hpp"
#include "minibatch/kernels/ref/optim_update.hpp"
#include "minibatch/kernels/ref/sigmoid_xent.hpp"
#include "minibatch/kernels/ref/softmax_xent.hpp"
