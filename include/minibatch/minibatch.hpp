// The CPU umbrella: everything that compiles without CUDA.
#pragma once

#include "minibatch/data.hpp"
#include "minibatch/gd.hpp"
#include "minibatch/models.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/samplers.hpp"
#include "minibatch/sgd.hpp"
#include "minibatch/tensor.hpp"
#include "minibatch/train.hpp"
