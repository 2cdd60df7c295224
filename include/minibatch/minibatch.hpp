// The CPU umbrella: everything that compiles without CUDA.
#pragma once

#include "minibatch/gd.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/samplers.hpp"
#include "minibatch/sgd.hpp"
#include "minibatch/tensor.hpp"
