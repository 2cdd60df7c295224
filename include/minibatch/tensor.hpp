// Public entry: Tensor, TensorView, Shape, ParamBuffer on the cpu backend.
#pragma once

#include "minibatch/backend/cpu/eigen.hpp"
#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"
