// Public entry: RMSProp (v ← αv + (1−α)g², θ ← θ − η·g/(√v + eps); centered, momentum;
// torch.optim.RMSprop).
#pragma once

#include "minibatch/optim/rmsprop.hpp"
#include "minibatch/tensor.hpp"
