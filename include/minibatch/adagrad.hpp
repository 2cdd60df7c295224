// Public entry: Adagrad (S ← S + g², θ ← θ − η·g/(√S + eps); torch.optim.Adagrad).
#pragma once

#include "minibatch/optim/adagrad.hpp"
#include "minibatch/tensor.hpp"
