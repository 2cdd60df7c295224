// Experiment 7 of the lecture — large batch rescued: at a large batch B, plain SGD with the
// lr tuned for a small batch makes too little progress per epoch. Three rescues:
//   • linear scaling + warmup (Goyal et al. 2017): η_B = η·B/256, reached by a linear warmup
//     over the first epochs, then cosine decay;
//   • LARS (You et al. 2017): a per-layer trust ratio η‖w‖/(‖g‖ + β‖w‖) with momentum;
//   • LAMB (You et al. 2019): Adam directions with a per-layer trust ratio ‖w‖/‖u‖;
// next to the small-batch reference. All from the same initialisation, same epoch budget.
// The claim: each rescue reaches a clearly higher accuracy than plain large-batch SGD.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <minibatch/minibatch.hpp>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"
#include "lecture/report.hpp"

namespace lecture {

namespace mb = minibatch;

struct LargeBatchOptions {
  std::vector<mb::index_t> widths{784, 128, 10};
  mb::index_t epochs = 10;
  mb::index_t small_batch = 256, large_batch = 4096;
  float lr = 0.01f, momentum = 0.9f;  // tuned for the small batch
  float lars_lr = 2.0f;               // γ of LARS (its trust coefficient is 0.001)
  float lamb_lr = 0.01f;
  double warmup_epochs = 1.0;
  std::uint64_t seed = 1;
};

struct LargeBatchRow {
  std::string method;
  mb::index_t batch = 0, updates = 0;
  std::vector<double> validation_accuracy;  // per epoch
  double seconds = 0;
};

namespace detail {

// Sets the optimizer's lr from a schedule of the step before every step.
template <class Optimizer, class Schedule>
struct Scheduled {
  Optimizer* optimizer;
  Schedule schedule;
  mb::index_t step = 0;
  void on_step(const mb::StepInfo& s) { optimizer->set_lr(static_cast<float>(schedule(s.step + 1))); }
};

}  // namespace detail

inline std::vector<LargeBatchRow> run_large_batch(const mb::data::Dataset& train, const mb::data::Dataset& validation,
                                                  const LargeBatchOptions& o = {}) {
  std::vector<LargeBatchRow> rows;
  auto run = [&](std::string method, mb::index_t batch, auto& optimizer, auto&&... callbacks) {
    mb::Mlp<float> model(o.widths, mb::Activation::relu, o.seed);
    mb::ShuffledSampler sampler({.batch_size = batch, .seed = o.seed});
    const auto fit = mb::fit(model, train, optimizer, sampler,
                             {.epochs = o.epochs, .validation = &validation, .evaluate_train = false}, callbacks...);
    LargeBatchRow row{std::move(method), batch, fit.history.steps, {}, fit.history.seconds};
    for (const auto& e : fit.epochs) row.validation_accuracy.push_back(e.validation_accuracy);
    rows.push_back(std::move(row));
  };
  const mb::index_t steps_per_epoch = (train.rows + o.large_batch - 1) / o.large_batch;
  const mb::index_t total_steps = steps_per_epoch * o.epochs;
  const auto warmup_steps = std::max<mb::index_t>(1, static_cast<mb::index_t>(o.warmup_epochs * double(steps_per_epoch)));

  {
    mb::Momentum<float> sgd({.lr = o.lr, .momentum = o.momentum});
    run("small batch " + std::to_string(o.small_batch) + " (reference)", o.small_batch, sgd);
  }
  {
    mb::Momentum<float> sgd({.lr = o.lr, .momentum = o.momentum});
    run("plain SGD, same lr", o.large_batch, sgd);
  }
  {
    const double peak = mb::linear_scaling_rule(o.lr, o.large_batch);
    mb::Momentum<float> sgd({.lr = float(0.1 * peak), .momentum = o.momentum});
    auto schedule = mb::warmup_then(mb::LinearWarmup(0.1 * peak, peak, warmup_steps),
                                    mb::CosineDecay(peak, std::max<mb::index_t>(1, total_steps - warmup_steps)));
    detail::Scheduled<mb::Momentum<float>, decltype(schedule)> scheduled{&sgd, schedule};
    run("linear scaling + warmup", o.large_batch, sgd, scheduled);
  }
  {
    mb::LARS<float> lars({.lr = o.lars_lr, .momentum = o.momentum});
    auto schedule = mb::warmup_then(mb::LinearWarmup(0.1 * o.lars_lr, o.lars_lr, warmup_steps),
                                    mb::CosineDecay(o.lars_lr, std::max<mb::index_t>(1, total_steps - warmup_steps)));
    detail::Scheduled<mb::LARS<float>, decltype(schedule)> scheduled{&lars, schedule};
    run("LARS + warmup", o.large_batch, lars, scheduled);
  }
  {
    mb::LAMB<float> lamb({.lr = o.lamb_lr, .weight_decay = 0.0f});
    auto schedule = mb::warmup_then(mb::LinearWarmup(0.1 * o.lamb_lr, o.lamb_lr, warmup_steps),
                                    mb::CosineDecay(o.lamb_lr, std::max<mb::index_t>(1, total_steps - warmup_steps)));
    detail::Scheduled<mb::LAMB<float>, decltype(schedule)> scheduled{&lamb, schedule};
    run("LAMB + warmup", o.large_batch, lamb, scheduled);
  }
  return rows;
}

inline Section large_batch_section(const std::vector<LargeBatchRow>& rows, const LargeBatchOptions& o,
                                   const std::filesystem::path& outdir, bool plots) {
  Section s;
  s.title = "7. Large batch rescued";
  std::string widths;
  for (auto w : o.widths) widths += (widths.empty() ? "" : "-") + std::to_string(w);
  s.setup = "MLP " + widths + " (ReLU), same initialisation, " + std::to_string(o.epochs) + " epochs each. Small batch " +
            std::to_string(o.small_batch) + " with Momentum η = " + format("%g", o.lr) + ", λ = " +
            format("%g", o.momentum) + "; large batch " + std::to_string(o.large_batch) +
            ": plain (same η), linear scaling η·B/256 = " + format("%g", mb::linear_scaling_rule(o.lr, o.large_batch)) +
            " with " + format("%g", o.warmup_epochs) + " epoch(s) of linear warmup then cosine decay, LARS (γ = " +
            format("%g", o.lars_lr) + ", trust coefficient 0.001) and LAMB (lr " + format("%g", o.lamb_lr) +
            ") with the same warmup and decay.";
  std::string table = "| method | batch | updates | validation accuracy | seconds |\n| --- | ---: | ---: | ---: | ---: |\n";
  std::vector<CsvRow> csv;
  Plot plot{"Validation accuracy per epoch at batch " + std::to_string(o.large_batch), "epoch", "validation accuracy (%)",
            false, false, {}, "bottom right"};
  for (const auto& r : rows) {
    table += "| " + r.method + " | " + std::to_string(r.batch) + " | " + std::to_string(r.updates) + " | " +
             format("%.2f%%", 100 * r.validation_accuracy.back()) + " | " + format("%.1f", r.seconds) + " |\n";
    Series series{r.method, {}, {}, "linespoints pt 7"};
    for (std::size_t e = 0; e < r.validation_accuracy.size(); ++e) {
      csv.push_back({r.method, r.batch, e + 1, r.validation_accuracy[e]});
      series.x.push_back(double(e + 1));
      series.y.push_back(100 * r.validation_accuracy[e]);
    }
    plot.series.push_back(series);
  }
  s.measured = table;
  write_csv(outdir / "large_batch.csv", {"method", "batch", "epoch", "validation_accuracy"}, csv);
  s.data.push_back("large_batch.csv");
  if (plots) {
    write_png(plot, outdir / "large_batch.png");
    s.plots.push_back("large_batch.png");
  }
  const double plain = rows[1].validation_accuracy.back();
  for (std::size_t i = 2; i < rows.size(); ++i) {
    const double acc = rows[i].validation_accuracy.back();
    s.claims.push_back({rows[i].method + " rescues the large batch (clearly above plain large-batch SGD).",
                        acc > plain + 0.01 ? Verdict::reproduced : Verdict::not_reproduced,
                        format("%.2f%%", 100 * acc) + " vs plain " + format("%.2f%%", 100 * plain) + " (small batch: " +
                            format("%.2f%%", 100 * rows[0].validation_accuracy.back()) + "; reproduced if > 1 point above plain)."});
  }
  return s;
}

}  // namespace lecture
