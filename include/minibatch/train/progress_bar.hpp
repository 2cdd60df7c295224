// ProgressBar: a one-line progress bar on stderr for a training run, redrawn at most
// ten times a second; shows steps done, the last loss and the last validation accuracy.
// It draws only when stderr is a terminal (so logs and CI output stay clean), unless
// forced with `always = true`. The line is finished when the run reaches its planned
// step count.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>

#include "minibatch/train/callbacks.hpp"

namespace minibatch {

class ProgressBar {
 public:
  explicit ProgressBar(index_t total_steps, std::string label = "train", bool always = false)
      : total_(total_steps), label_(std::move(label)), enabled_(always || ::isatty(STDERR_FILENO) == 1) {}

  void on_step(const StepInfo& s) {
    done_ = s.step + 1;
    loss_ = s.loss;
    const auto now = std::chrono::steady_clock::now();
    if (done_ == total_ || now - last_draw_ > std::chrono::milliseconds(100)) {
      last_draw_ = now;
      draw();
    }
  }
  void on_epoch(const EpochInfo& e) {
    accuracy_ = e.validation_accuracy;
    draw();
  }

  bool enabled() const noexcept { return enabled_; }

 private:
  void draw() {
    if (!enabled_ || total_ == 0) return;
    const int width = 30;
    const double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %3.0f%% step %zu/%zu loss %.4f", label_.c_str(), bar.c_str(), 100 * fraction,
                 done_, total_, loss_);
    if (!std::isnan(accuracy_)) std::fprintf(stderr, " val acc %.2f%%", 100 * accuracy_);
    if (done_ >= total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

  index_t total_;
  std::string label_;
  bool enabled_;
  index_t done_ = 0;
  double loss_ = 0;
  double accuracy_ = std::nan("");
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace minibatch
