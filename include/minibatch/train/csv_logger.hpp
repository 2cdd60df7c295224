// CsvLogger: writes one CSV row per epoch (and, optionally, one per step to a second
// file) while training runs. Each row is flushed when written, so an interrupted run
// keeps everything logged so far. A file that cannot be opened is an io_error naming it.
//
//   epochs file: epoch,steps,mean_loss,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds
//   steps file:  step,epoch,batch,batch_size,loss,grad_norm,seconds
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "minibatch/core/error.hpp"
#include "minibatch/train/callbacks.hpp"

namespace minibatch {

class CsvLogger {
 public:
  explicit CsvLogger(const std::filesystem::path& epochs_csv, const std::filesystem::path& steps_csv = {})
      : epochs_(open(epochs_csv)) {
    std::fputs("epoch,steps,mean_loss,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds\n",
               epochs_.get());
    std::fflush(epochs_.get());
    if (!steps_csv.empty()) {
      steps_ = open(steps_csv);
      std::fputs("step,epoch,batch,batch_size,loss,grad_norm,seconds\n", steps_.get());
    }
  }

  void on_step(const StepInfo& s) {
    if (!steps_) return;
    std::fprintf(steps_.get(), "%zu,%zu,%zu,%zu,%.9g,%.9g,%.9g\n", s.step, s.epoch, s.batch, s.batch_size, s.loss,
                 s.grad_norm, s.seconds);
  }

  void on_epoch(const EpochInfo& e) {
    std::fprintf(epochs_.get(), "%zu,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", e.epoch, e.steps, e.mean_loss,
                 e.train_loss, e.train_accuracy, e.validation_loss, e.validation_accuracy, e.seconds);
    std::fflush(epochs_.get());
    if (steps_) std::fflush(steps_.get());
  }

 private:
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  using File = std::unique_ptr<std::FILE, Closer>;

  static File open(const std::filesystem::path& path) {
    File f(std::fopen(path.c_str(), "w"));
    require<io_error>(f != nullptr, path.string(), ": cannot open for writing");
    return f;
  }

  File epochs_;
  File steps_;
};

}  // namespace minibatch
