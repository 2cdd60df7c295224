// Public entry: Momentum (lecture form m ← λ·m − η·g, θ ← θ + m; Nesterov; PyTorch form).
#pragma once

#include "minibatch/optim/momentum.hpp"
#include "minibatch/tensor.hpp"
