// Public entry: LARS (per-slice trust ratio η‖w‖/(‖g‖ + β‖w‖) on lecture-form momentum).
#pragma once

#include "minibatch/optim/lars.hpp"
#include "minibatch/tensor.hpp"
