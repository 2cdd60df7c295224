// Experiment 2 of the lecture — batch size vs time: the time of one update (gather a
// batch, forward, backward, momentum step) of the MLP 784-512-512-10 for batch sizes
// 1 … 60000, and the time of one epoch over the training set, which is the number of
// updates per epoch ⌈N/B⌉ times the time per update.
//
// The claim: on a GPU the time per update barely grows with the batch until the device
// is full, so large batches finish an epoch far faster; on a CPU the time per update
// grows roughly linearly with the batch once past the overheads, so the epoch time
// flattens instead. Each time is the median of repeated steps (at least `min_repeats`,
// and at least `min_seconds` of measuring, at most `max_repeats`).
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <minibatch/minibatch.hpp>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"
#include "lecture/report.hpp"
#include "lecture/timing.hpp"

namespace lecture {

namespace mb = minibatch;

struct BatchTimeOptions {
  std::vector<mb::index_t> batch_sizes{1, 10, 100, 1000, 10000, 60000};
  std::vector<mb::index_t> widths{784, 512, 512, 10};
  mb::index_t min_repeats = 3;
  mb::index_t max_repeats = 200;
  double min_seconds = 0.3;
  std::uint64_t seed = 1;
};

struct BatchTimeRow {
  mb::index_t batch = 0;
  double update_seconds = 0;  // median time of one update
  double epoch_seconds = 0;   // ⌈N/B⌉ · update_seconds
  mb::index_t repeats = 0;
};

struct BatchTimeResult {
  std::string device;
  mb::index_t examples = 0;
  std::vector<BatchTimeRow> rows;
};

// Times the training step on backend B over `train` (batch sizes above N are clamped).
template <class B = mb::cpu>
BatchTimeResult run_batch_time(const mb::data::Dataset& train, std::string device, const BatchTimeOptions& options = {}) {
  BatchTimeResult result{std::move(device), train.rows, {}};
  const auto data = mb::to_tensors<float, B>(train);
  mb::Mlp<float, B> model(options.widths, mb::Activation::relu, options.seed);
  mb::Tensor<float, B> grad(mb::Shape{model.params().size()});
  for (mb::index_t requested : options.batch_sizes) {
    const mb::index_t batch = std::min(requested, train.rows);
    mb::ClassificationObjective<float, B> objective(model, data, batch);
    mb::Momentum<float, B> optimizer({.lr = 0.0f, .momentum = 0.9f});  // lr 0: timing only, weights stay put
    mb::ShuffledSampler sampler({.batch_size = batch, .seed = options.seed, .drop_last = true});
    std::vector<double> times;
    const auto start = std::chrono::steady_clock::now();
    mb::index_t epoch = 0;
    bool warm = false;
    while (times.size() < options.max_repeats &&
           (times.size() < options.min_repeats || seconds_since(start) < options.min_seconds)) {
      for (std::span<const std::size_t> indices : sampler.epoch(train.rows, epoch++)) {
        const auto t0 = std::chrono::steady_clock::now();
        const double loss = objective.loss_and_gradient(model.params().flat(), indices, grad.view());
        optimizer.step(model.params().flat(), grad.view());
        (void)loss;  // reading the loss synchronises a device backend, so the step is complete
        if (warm) times.push_back(seconds_since(t0));
        warm = true;
        if (times.size() >= options.max_repeats ||
            (times.size() >= options.min_repeats && seconds_since(start) >= options.min_seconds))
          break;
      }
    }
    const double update = median(times);
    const auto updates_per_epoch = static_cast<double>((train.rows + batch - 1) / batch);
    result.rows.push_back({requested, update, update * updates_per_epoch, times.size()});
  }
  return result;
}

// Writes batch_time.csv (every device measured) and the lecture's two plots:
// batch_time_update.png (time per update vs batch) and batch_time_epoch.png (per epoch).
inline Section batch_time_section(const std::vector<BatchTimeResult>& results, const std::filesystem::path& outdir,
                                  bool plots) {
  Section s;
  s.title = "2. Batch size vs time";
  std::vector<CsvRow> rows;
  std::string table = "| device | batch | time per update | time per epoch | repeats |\n| --- | ---: | ---: | ---: | ---: |\n";
  Plot update{"Time per update vs batch size (MLP 784-512-512-10)", "batch size", "seconds per update", true, true, {}};
  Plot epoch{"Time per epoch vs batch size (MLP 784-512-512-10)", "batch size", "seconds per epoch", true, true, {}};
  for (const auto& r : results) {
    Series su{r.device, {}, {}, "linespoints pt 7"}, se{r.device, {}, {}, "linespoints pt 7"};
    for (const auto& row : r.rows) {
      rows.push_back({r.device, row.batch, row.update_seconds, row.epoch_seconds, row.repeats});
      table += "| " + r.device + " | " + std::to_string(row.batch) + " | " + format("%.4g ms", 1e3 * row.update_seconds) +
               " | " + format("%.4g s", row.epoch_seconds) + " | " + std::to_string(row.repeats) + " |\n";
      su.x.push_back(double(row.batch));
      su.y.push_back(row.update_seconds);
      se.x.push_back(double(row.batch));
      se.y.push_back(row.epoch_seconds);
    }
    update.series.push_back(su);
    epoch.series.push_back(se);
  }
  write_csv(outdir / "batch_time.csv", {"device", "batch", "update_seconds", "epoch_seconds", "repeats"}, rows);
  s.data.push_back("batch_time.csv");
  if (plots) {
    write_png(update, outdir / "batch_time_update.png");
    write_png(epoch, outdir / "batch_time_epoch.png");
    s.plots = {"batch_time_update.png", "batch_time_epoch.png"};
  }
  s.setup = "One training step (gather, forward, backward, momentum update) of the MLP 784-512-512-10 on "
            "Fashion-MNIST, float32; time per update = median over repeated steps; time per epoch = "
            "⌈N/B⌉ × time per update with N = " + std::to_string(results.front().examples) + ".";
  s.measured = table;

  const auto find = [](const BatchTimeResult& r, mb::index_t b) -> const BatchTimeRow* {
    for (const auto& row : r.rows)
      if (row.batch == b) return &row;
    return nullptr;
  };
  const BatchTimeResult* gpu = nullptr;
  for (const auto& r : results)
    if (r.device.rfind("cpu", 0) != 0) gpu = &r;
  Claim flat{"On a GPU the time per update barely grows from batch 1 to 1000 (1 ≈ 10 ≈ 100 ≈ 1000).",
             Verdict::not_tested, "No GPU was available to this run."};
  if (gpu) {
    const auto* b1 = find(*gpu, 1);
    const auto* b1000 = find(*gpu, 1000);
    if (b1 && b1000) {
      const double ratio = b1000->update_seconds / b1->update_seconds;
      flat.verdict = ratio < 3.0 ? Verdict::reproduced : Verdict::not_reproduced;
      flat.evidence = gpu->device + ": update(1000) / update(1) = " + format("%.2f", ratio) + " (reproduced if < 3).";
    }
  }
  s.claims.push_back(flat);
  for (const auto& r : results) {
    const auto* b1 = find(r, 1);
    const auto* big = r.rows.empty() ? nullptr : &r.rows.back();
    if (!b1 || !big || big == b1) continue;
    const double speedup = b1->epoch_seconds / big->epoch_seconds;
    s.claims.push_back({"A large batch finishes an epoch far faster than batch 1 (" + r.device + ").",
                        speedup > 2 ? Verdict::reproduced : Verdict::not_reproduced,
                        "epoch(1) / epoch(" + std::to_string(big->batch) + ") = " + format("%.1f", speedup) +
                            " (reproduced if > 2); update(" + std::to_string(big->batch) + ") / update(1) = " +
                            format("%.0f", big->update_seconds / b1->update_seconds) + "."});
  }
  return s;
}

}  // namespace lecture
