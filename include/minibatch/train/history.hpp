// History: what a training run returns. One entry per step for the batch loss and the
// gradient norm (NaN where not recorded), the wall time of each step, and per-epoch means.
// The vectors are reserved for the whole run up front, so recording never allocates
// inside the loop.
#pragma once

#include <vector>

#include "minibatch/core/index.hpp"

namespace minibatch {

struct History {
  std::vector<double> loss;          // mean loss of the batch at each step, before the update
  std::vector<double> grad_norm;     // ‖g‖₂ of each step's mean batch gradient
  std::vector<double> step_seconds;  // wall time of each step (gradient + update)
  std::vector<double> epoch_loss;    // mean of the step losses of each epoch
  std::vector<double> epoch_seconds;
  index_t steps = 0;
  index_t epochs = 0;
  double seconds = 0;      // wall time of the whole run
  bool stopped = false;    // a callback asked to stop before the planned end

  void reserve(index_t planned_steps, index_t planned_epochs) {
    loss.reserve(planned_steps);
    grad_norm.reserve(planned_steps);
    step_seconds.reserve(planned_steps);
    epoch_loss.reserve(planned_epochs);
    epoch_seconds.reserve(planned_epochs);
  }
};

}  // namespace minibatch
