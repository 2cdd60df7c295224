// Public entry: Adam (coupled weight decay) and AdamW (decoupled), bias-corrected moments;
// torch.optim.Adam / AdamW.
#pragma once

#include "minibatch/optim/adam.hpp"
#include "minibatch/tensor.hpp"
