// Public entry: LAMB (AdamW direction u rescaled per slice by ‖w‖/‖u‖).
#pragma once

#include "minibatch/optim/lamb.hpp"
#include "minibatch/tensor.hpp"
