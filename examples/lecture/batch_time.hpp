// Experiment 2 of the lecture — batch size vs time: the time of one update (gather a
// batch, forward, backward, momentum step) of the MLP 784-512-512-10 for batch sizes
// 1 … 60000, and the time of one epoch over the training set, which is the number of
// updates per epoch ⌈N/B⌉ times the time per update.
//
// The claim: on a GPU the time per update barely grows with the batch until the device
// is full, so large batches finish an epoch far faster; on a CPU the time per update
// grows roughly linearly with the batch once past the overheads, so the epoch time
// flattens instead. Each time is the median of repeated steps (at least `min_repeats`,
// and at least `min_seconds` of measuring, at most `max_repeats`, after a warm-up).
// The CPU is timed on one thread and, built with OpenMP, on all of Eigen::nbThreads(),
// the two taking turns: more cores shorten the large batches' products, not batch 1's
// fixed costs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>
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
  mb::index_t min_repeats = 3;   // per setup
  mb::index_t max_repeats = 200;
  double min_seconds = 0.3;      // per setup
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
  int threads = 0;  // the cpu backend's thread count (TimedSetup::threads), 0 for the others
  std::vector<BatchTimeRow> rows;
};

// One way of running the timed step: its name in the report, the number of threads the
// cpu backend's products may use (0: leave Eigen::nbThreads() as it is) and the steps run
// before its timing starts. The first step allocates and fills the caches. On several
// threads the library also times each large product on one thread and on all before it
// settles on one (backend/cpu/gemm.hpp, ThreadChoice), which takes three steps; it goes on
// trying the other way now and then, so while the other cores give little (on a virtual
// machine, at times: benchmarks/RESULTS.md) the products run on one thread, and the times
// on several threads include that, as training would.
struct TimedSetup {
  std::string device;
  int threads = 0;
  mb::index_t warmup_steps = 1;
};

// Times the training step on backend B over `train` (batch sizes above N are clamped), for
// every setup. At each batch size the setups take turns of turn_seconds (at least one step
// each, until a setup has its repeats and seconds), so that a change in the machine's load
// falls on all of them alike and their ratios are side by side. On a 2-core Zen 4 VM at
// batch 1, where both thread counts run the same 1-thread code, 2 threads over 1 ranged
// 0.80–1.27× timed one after the other and 0.91–1.06× taking turns. Where several setups
// take turns, the first step of a turn of short steps is not timed: after another setup's
// turn the second thread may have gone to sleep (traced: 0.1–0.4 ms to join the first
// product), which training, step after step on the same threads, does not pay.
template <class B = mb::cpu>
std::vector<BatchTimeResult> run_batch_time(const mb::data::Dataset& train, const std::vector<TimedSetup>& setups,
                                            const BatchTimeOptions& options = {}) {
  constexpr double turn_seconds = 0.05, short_step = 0.01;
  if (options.min_repeats < 1 || options.max_repeats < options.min_repeats || !(options.min_seconds >= 0))
    throw std::invalid_argument("run_batch_time: need 1 <= min_repeats <= max_repeats and min_seconds >= 0, got " +
                                std::to_string(options.min_repeats) + ", " + std::to_string(options.max_repeats) +
                                " and " + std::to_string(options.min_seconds));
  if (setups.empty()) throw std::invalid_argument("run_batch_time: no setup to time");
  const int threads_before = Eigen::nbThreads();
  struct Restore {
    int threads;
    ~Restore() { Eigen::setNbThreads(threads); }
  } restore{threads_before};
  std::vector<BatchTimeResult> results;
  for (const auto& setup : setups) results.push_back({setup.device, train.rows, setup.threads, {}});
  const auto select = [&](std::size_t k) { Eigen::setNbThreads(setups[k].threads > 0 ? setups[k].threads : threads_before); };
  const auto data = mb::to_tensors<float, B>(train);
  mb::Mlp<float, B> model(options.widths, mb::Activation::relu, options.seed);
  mb::Tensor<float, B> grad(mb::Shape{model.params().size()});
  for (mb::index_t requested : options.batch_sizes) {
    const mb::index_t batch = std::min(requested, train.rows);
    mb::ClassificationObjective<float, B> objective(model, data, batch);
    mb::Momentum<float, B> optimizer({.lr = 0.0f, .momentum = 0.9f});  // lr 0: timing only, weights stay put
    mb::ShuffledSampler sampler({.batch_size = batch, .seed = options.seed, .drop_last = true});
    mb::index_t epoch = 0, next = 0;
    mb::BatchRange batches = sampler.epoch(train.rows, epoch);
    // One step on the next batch of the running epoch; its time in seconds.
    const auto step = [&] {
      if (next == batches.size()) {
        batches = sampler.epoch(train.rows, ++epoch);
        next = 0;
      }
      const auto t0 = std::chrono::steady_clock::now();
      const double loss = objective.loss_and_gradient(model.params().flat(), batches[next++], grad.view());
      optimizer.step(model.params().flat(), grad.view());
      (void)loss;  // reading the loss synchronises a device backend, so the step is complete
      return seconds_since(t0);
    };
    struct Record {
      std::vector<double> times;
      double timed = 0, last = 0;
    };
    std::vector<Record> records(setups.size());
    const auto finished = [&](const Record& r) {
      return r.times.size() >= options.max_repeats ||
             (r.times.size() >= options.min_repeats && r.timed >= options.min_seconds);
    };
    const auto done = [&] { return std::all_of(records.begin(), records.end(), finished); };
    for (std::size_t k = 0; k < setups.size(); ++k) {  // the warm-ups, each in one go
      select(k);
      for (mb::index_t n = 0; n < setups[k].warmup_steps; ++n) records[k].last = step();
    }
    while (!done()) {
      for (std::size_t k = 0; k < setups.size(); ++k) {
        Record& r = records[k];
        select(k);
        const bool skip_first = setups.size() > 1 && r.last < short_step;
        for (double turn = 0; turn < turn_seconds && !finished(r);) {
          const double seconds = step();
          const bool first = turn == 0;
          turn += seconds;
          r.last = seconds;
          if (!(first && skip_first)) {
            r.times.push_back(seconds);
            r.timed += seconds;
          }
        }
      }
    }
    const auto updates_per_epoch = static_cast<double>((train.rows + batch - 1) / batch);
    for (std::size_t k = 0; k < setups.size(); ++k) {
      const double update = median(records[k].times);
      results[k].rows.push_back({requested, update, update * updates_per_epoch, records[k].times.size()});
    }
  }
  return results;
}

// The cpu backend on one thread and, where Eigen::nbThreads() is more (OpenMP), on all of
// them, named "cpu, 1 thread" and "cpu, N threads".
inline std::vector<TimedSetup> cpu_thread_setups() {
  std::vector<TimedSetup> setups{{"cpu, 1 thread", 1, 1}};
  if (const int all = Eigen::nbThreads(); all > 1)
    setups.push_back({"cpu, " + std::to_string(all) + " threads", all, 3});
  return setups;
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
            "⌈N/B⌉ × time per update with N = " + std::to_string(results.front().examples) +
            "; the CPU on one thread and, built with OpenMP, on all of them.";
  s.measured = table;
  const auto find = [](const BatchTimeResult& r, mb::index_t b) -> const BatchTimeRow* {
    for (const auto& row : r.rows)
      if (row.batch == b) return &row;
    return nullptr;
  };
  // Where the CPU was timed on one thread and on several: what the other cores gave.
  const BatchTimeResult* one_thread = nullptr;
  for (const auto& r : results)
    if (r.threads == 1) one_thread = &r;
  for (const auto& r : results) {
    if (!one_thread || r.threads <= 1) continue;
    std::string line;
    for (const auto& row : r.rows)
      if (const auto* serial = find(*one_thread, row.batch))
        line += (line.empty() ? "" : ", ") + std::to_string(row.batch) + ": " +
                format("%.2f×", serial->update_seconds / row.update_seconds);
    s.measured += "\nTime per update on 1 thread over the time on " + std::to_string(r.threads) +
                  " threads, by batch: " + line + ".\n";
  }
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
