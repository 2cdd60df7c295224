// EarlyStopping: stops training when a monitored epoch metric has not improved by more
// than min_delta for `patience` epochs in a row. Monitors validation accuracy (higher is
// better) by default, or validation loss / mean training loss (lower is better). An
// epoch whose metric is NaN (not measured) counts as no improvement.
#pragma once

#include <cmath>
#include <limits>

#include "minibatch/core/error.hpp"
#include "minibatch/train/callbacks.hpp"

namespace minibatch {

enum class Monitor { validation_accuracy, validation_loss, train_loss };

struct EarlyStoppingOptions {
  index_t patience = 3;
  double min_delta = 0.0;
  Monitor monitor = Monitor::validation_accuracy;
};

class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {}) : options_(options) {
    require<value_error>(options_.patience > 0, "EarlyStopping: patience must be positive, got 0");
    require<value_error>(options_.min_delta >= 0, "EarlyStopping: min_delta must be >= 0, got ", options_.min_delta);
  }

  void on_epoch(const EpochInfo& e) {
    const double value = metric(e);
    const bool higher_is_better = options_.monitor == Monitor::validation_accuracy;
    const bool improved = !std::isnan(value) && (std::isnan(best_) || (higher_is_better ? value > best_ + options_.min_delta
                                                                                       : value < best_ - options_.min_delta));
    if (improved) {
      best_ = value;
      best_epoch_ = e.epoch;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
  }
  bool stop_requested() const noexcept { return bad_epochs_ >= options_.patience; }

  double best() const noexcept { return best_; }
  index_t best_epoch() const noexcept { return best_epoch_; }

 private:
  double metric(const EpochInfo& e) const {
    switch (options_.monitor) {
      case Monitor::validation_loss:
        return e.validation_loss;
      case Monitor::train_loss:
        return e.mean_loss;
      default:
        return e.validation_accuracy;
    }
  }

  EarlyStoppingOptions options_;
  double best_ = std::numeric_limits<double>::quiet_NaN();
  index_t best_epoch_ = 0;
  index_t bad_epochs_ = 0;
};

}  // namespace minibatch
