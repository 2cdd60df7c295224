// Experiment 3 of the lecture — batch size vs accuracy: train the same MLP from the same
// initialisation for the same number of epochs with different batch sizes, and compare
// train and validation accuracy.
//
// The lr rule is the same for every batch size: η and λ fixed (no scaling with the batch),
// so a batch of B makes ⌈N/B⌉ updates per epoch. The claim: within a fixed epoch budget,
// small batches (many noisy updates) reach higher accuracy than large ones (few exact
// updates); very large batches fall behind unless their lr is rescaled (experiment 7).
#pragma once

#include <string>
#include <vector>

#include <minibatch/minibatch.hpp>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"
#include "lecture/report.hpp"

namespace lecture {

namespace mb = minibatch;

struct BatchAccuracyOptions {
  std::vector<mb::index_t> batch_sizes{16, 64, 256, 1024, 4096};
  std::vector<mb::index_t> widths{784, 128, 10};
  mb::index_t epochs = 3;
  float lr = 0.02f;
  float momentum = 0.9f;
  std::uint64_t seed = 1;
};

struct BatchAccuracyRow {
  mb::index_t batch = 0;
  mb::index_t updates = 0;
  double train_accuracy = 0;
  double validation_accuracy = 0;
  double seconds = 0;
};

template <class B = mb::cpu>
std::vector<BatchAccuracyRow> run_batch_accuracy(const mb::data::Dataset& train, const mb::data::Dataset& validation,
                                                 const BatchAccuracyOptions& options = {}) {
  std::vector<BatchAccuracyRow> rows;
  for (mb::index_t batch : options.batch_sizes) {
    mb::Mlp<float, B> model(options.widths, mb::Activation::relu, options.seed);
    mb::Momentum<float, B> optimizer({.lr = options.lr, .momentum = options.momentum});
    mb::ShuffledSampler sampler({.batch_size = batch, .seed = options.seed});
    const auto result = mb::fit(model, train, optimizer, sampler,
                                {.epochs = options.epochs, .validation = &validation, .evaluate_train = false});
    const auto final_train = mb::evaluate(model, train);
    rows.push_back({batch, result.history.steps, final_train.accuracy, result.epochs.back().validation_accuracy,
                    result.history.seconds});
  }
  return rows;
}

// Writes batch_accuracy.csv and batch_accuracy.png (train and validation accuracy vs batch).
inline Section batch_accuracy_section(const std::vector<BatchAccuracyRow>& rows, const BatchAccuracyOptions& o,
                                      const std::filesystem::path& outdir, bool plots) {
  Section s;
  s.title = "3. Batch size vs accuracy";
  std::string widths;
  for (auto w : o.widths) widths += (widths.empty() ? "" : "-") + std::to_string(w);
  s.setup = "MLP " + widths + " (ReLU) from the same initialisation, " + std::to_string(o.epochs) +
            " epochs for every batch size, Momentum (lecture form) with the same lr rule for all: η = " +
            format("%g", o.lr) + ", λ = " + format("%g", o.momentum) + " — no scaling with the batch.";
  std::vector<CsvRow> csv;
  std::string table = "| batch | updates | train accuracy | validation accuracy | seconds |\n| ---: | ---: | ---: | ---: | ---: |\n";
  Series train{"train", {}, {}, "linespoints pt 7"}, val{"validation", {}, {}, "linespoints pt 5"};
  for (const auto& r : rows) {
    csv.push_back({r.batch, r.updates, r.train_accuracy, r.validation_accuracy, r.seconds});
    table += "| " + std::to_string(r.batch) + " | " + std::to_string(r.updates) + " | " +
             format("%.2f%%", 100 * r.train_accuracy) + " | " + format("%.2f%%", 100 * r.validation_accuracy) + " | " +
             format("%.1f", r.seconds) + " |\n";
    train.x.push_back(double(r.batch));
    train.y.push_back(100 * r.train_accuracy);
    val.x.push_back(double(r.batch));
    val.y.push_back(100 * r.validation_accuracy);
  }
  s.measured = table;
  write_csv(outdir / "batch_accuracy.csv", {"batch", "updates", "train_accuracy", "validation_accuracy", "seconds"}, csv);
  s.data.push_back("batch_accuracy.csv");
  if (plots) {
    write_png(Plot{"Accuracy after " + std::to_string(o.epochs) + " epochs vs batch size", "batch size", "accuracy (%)", true,
                   false, {train, val}, "bottom left"},
              outdir / "batch_accuracy.png");
    s.plots.push_back("batch_accuracy.png");
  }
  if (rows.size() >= 2) {
    const auto& small = rows.front();
    const auto& large = rows.back();
    const double gap = 100 * (small.validation_accuracy - large.validation_accuracy);
    s.claims.push_back({"Within a fixed epoch budget and lr, small batches reach higher accuracy than large ones.",
                        gap > 1.0 ? Verdict::reproduced : Verdict::not_reproduced,
                        "validation accuracy at batch " + std::to_string(small.batch) + ": " +
                            format("%.2f%%", 100 * small.validation_accuracy) + ", at batch " +
                            std::to_string(large.batch) + ": " + format("%.2f%%", 100 * large.validation_accuracy) +
                            " (" + format("%.2f", gap) + " points; reproduced if > 1)."});
  }
  return s;
}

}  // namespace lecture
