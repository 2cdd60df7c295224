// The CPU umbrella: everything that compiles without CUDA.
#pragma once

#include "minibatch/adagrad.hpp"
#include "minibatch/adam.hpp"
#include "minibatch/data.hpp"
#include "minibatch/diagnostics.hpp"
#include "minibatch/gd.hpp"
#include "minibatch/lamb.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/models.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/optim/clip.hpp"
#include "minibatch/rmsprop.hpp"
#include "minibatch/samplers.hpp"
#include "minibatch/schedules.hpp"
#include "minibatch/sgd.hpp"
#include "minibatch/tensor.hpp"
#include "minibatch/train.hpp"
