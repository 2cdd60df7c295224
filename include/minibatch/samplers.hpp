// Public entry: the minibatch samplers (full batch, sequential, shuffled, with replacement).
#pragma once

#include "minibatch/samplers/full_batch.hpp"
#include "minibatch/samplers/replacement.hpp"
#include "minibatch/samplers/sequential.hpp"
#include "minibatch/samplers/shuffled.hpp"
