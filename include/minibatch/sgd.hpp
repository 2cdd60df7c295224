// Public entry: SGD<Rule, Sampler>, the minibatch loop, with its rules and samplers.
#pragma once

#include "minibatch/gd.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/samplers.hpp"
#include "minibatch/train/sgd.hpp"
