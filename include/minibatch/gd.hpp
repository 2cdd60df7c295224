// Public entry: GradientDescent (θ ← θ − η·g) and the tensors it updates.
#pragma once

#include "minibatch/optim/gradient_descent.hpp"
#include "minibatch/tensor.hpp"
