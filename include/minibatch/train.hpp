// Public entry: fit() and the training callbacks (progress bar, CSV log, early stopping).
#pragma once

#include "minibatch/models.hpp"
#include "minibatch/sgd.hpp"
#include "minibatch/train/csv_logger.hpp"
#include "minibatch/train/early_stopping.hpp"
#include "minibatch/train/fit.hpp"
#include "minibatch/train/progress_bar.hpp"
