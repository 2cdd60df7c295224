// Public entry: models (Mlp and the linear models as its one-layer case), loss heads,
// backend-resident data sets and the supervised objective.
#pragma once

#include "minibatch/data/tensor_dataset.hpp"
#include "minibatch/losses/mean_squared_error.hpp"
#include "minibatch/losses/sigmoid_cross_entropy.hpp"
#include "minibatch/losses/softmax_cross_entropy.hpp"
#include "minibatch/models/mlp.hpp"
#include "minibatch/models/supervised.hpp"
