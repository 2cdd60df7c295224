// Public entry: learning-rate schedules (constant, step, cosine, inverse time, linear
// warmup, join) and the linear scaling rule lr = base·B/256.
#pragma once

#include "minibatch/optim/schedules.hpp"
