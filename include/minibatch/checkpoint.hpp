// Public entry: save_checkpoint / load_checkpoint (parameters, optimizer state, position;
// atomic writes, checksummed, refused when corrupted or mismatched) and fit's
// .checkpoint / .resume_from.
#pragma once

#include "minibatch/train.hpp"
#include "minibatch/train/checkpoint.hpp"
