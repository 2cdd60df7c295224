// Experiment 4 of the lecture — small vs large batch (Keskar et al. 2017): train the same
// MLP from the same initialisation with a small batch (SB, 256) and a large batch (LB,
// 10% of the training set) to comparable training accuracy, then compare
//   • test accuracy (the generalization gap),
//   • ε-sharpness of both solutions for ε = 1e-3 and 5e-4: the largest relative rise of
//     the training loss in the box |zᵢ| ≤ ε(|θᵢ| + 1), found by projected ascent
//     (diagnostics/sharpness.hpp; a lower bound — Keskar used L-BFGS-B),
//   • the 1-D interpolation f(α·θ_LB + (1−α)·θ_SB), α ∈ [−1, 2], train and test loss.
// The claim: LB converges to sharper minima and generalizes worse (Keskar's F1/MNIST:
// 98.03% SB vs 97.81% LB test accuracy at equal train accuracy).
//
// Both runs use Momentum (lecture form) with the same lr and stop at the first epoch whose
// training accuracy reaches `target_train_accuracy` (or after max_epochs).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <minibatch/minibatch.hpp>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"
#include "lecture/report.hpp"

namespace lecture {

namespace mb = minibatch;

struct SharpFlatOptions {
  mb::index_t train_examples = 5000;  // training subset (0: all)
  std::vector<mb::index_t> widths{784, 128, 10};
  mb::index_t small_batch = 256;
  double large_fraction = 0.1;  // LB = 10% of the training examples
  float lr = 0.01f, momentum = 0.9f;
  double target_train_accuracy = 0.95;
  mb::index_t max_epochs_small = 150, max_epochs_large = 600;
  mb::index_t sharpness_steps = 10;
  mb::index_t sharpness_examples = 5000;  // training examples the sharpness is measured on
  mb::index_t interpolation_points = 31;
  std::uint64_t seed = 1;
};

struct TrainedSolution {
  std::string name;
  mb::index_t batch = 0, epochs = 0, updates = 0;
  double train_accuracy = 0, test_accuracy = 0, train_loss = 0, test_loss = 0;
  std::vector<double> sharpness;  // one per ε
  std::vector<float> params;
};

struct SharpFlatResult {
  std::vector<double> epsilons{1e-3, 5e-4};
  TrainedSolution small, large;
  std::vector<mb::InterpolationRow> curve;  // targets: train, test
  mb::index_t train_examples = 0;
};

namespace detail {

// Stops after the first epoch whose training accuracy reaches the target.
struct StopAtTrainAccuracy {
  double target;
  bool reached = false;
  void on_epoch(const mb::EpochInfo& e) { reached = e.train_accuracy >= target; }
  bool stop_requested() const { return reached; }
};

}  // namespace detail

inline SharpFlatResult run_sharp_flat(const mb::data::Dataset& full_train, const mb::data::Dataset& test,
                                      const SharpFlatOptions& o = {}) {
  SharpFlatResult result;
  const auto train = o.train_examples ? mb::data::head(full_train, o.train_examples) : full_train;
  result.train_examples = train.rows;
  const auto train_t = mb::to_tensors<float>(train);
  const auto test_t = mb::to_tensors<float>(test);
  const auto sharp_indices = mb::all_indices(std::min(o.sharpness_examples, train.rows));

  auto train_one = [&](std::string name, mb::index_t batch, mb::index_t max_epochs) {
    TrainedSolution s;
    s.name = std::move(name);
    s.batch = batch;
    mb::Mlp<float> model(o.widths, mb::Activation::relu, o.seed);
    mb::Momentum<float> optimizer({.lr = o.lr, .momentum = o.momentum});
    mb::ShuffledSampler sampler({.batch_size = batch, .seed = o.seed});
    detail::StopAtTrainAccuracy stop{o.target_train_accuracy};
    const auto fit = mb::fit(model, train, optimizer, sampler, {.epochs = max_epochs}, stop);
    s.epochs = fit.history.epochs;
    s.updates = fit.history.steps;
    mb::ClassificationObjective<float> train_objective(model, train_t, 2000);
    mb::ClassificationObjective<float> test_objective(model, test_t, 2000);
    const auto tr = train_objective.evaluate(model.params().flat());
    const auto te = test_objective.evaluate(model.params().flat());
    s.train_accuracy = tr.accuracy;
    s.train_loss = tr.loss;
    s.test_accuracy = te.accuracy;
    s.test_loss = te.loss;
    for (double eps : result.epsilons) {
      const auto sharp = mb::epsilon_sharpness(train_objective, model.params().flat(), sharp_indices,
                                               {.epsilon = eps, .steps = o.sharpness_steps, .seed = o.seed});
      s.sharpness.push_back(sharp.sharpness);
    }
    s.params = model.params().flat().to_vector();
    return s;
  };
  result.small = train_one("SB", o.small_batch, o.max_epochs_small);
  const auto large_batch = static_cast<mb::index_t>(o.large_fraction * static_cast<double>(train.rows));
  result.large = train_one("LB", large_batch, o.max_epochs_large);

  mb::Mlp<float> probe(o.widths, mb::Activation::relu, o.seed);
  mb::ClassificationObjective<float> train_objective(probe, train_t, 2000), test_objective(probe, test_t, 2000);
  const mb::Tensor<float> sb(mb::Shape{result.small.params.size()}, result.small.params);
  const mb::Tensor<float> lb(mb::Shape{result.large.params.size()}, result.large.params);
  const auto alphas = mb::linspace(-1.0, 2.0, o.interpolation_points);
  std::vector<mb::InterpolationTarget<mb::ClassificationObjective<float>>> targets{{&train_objective, {}},
                                                                                 {&test_objective, {}}};
  result.curve = mb::interpolation_curve(targets, sb.view(), lb.view(), alphas);
  return result;
}

// Writes sharp_flat.csv (the two solutions), sharp_flat_interpolation.csv and the plot.
inline Section sharp_flat_section(const SharpFlatResult& r, const SharpFlatOptions& o,
                                  const std::filesystem::path& outdir, bool plots) {
  Section s;
  s.title = "4. Small vs large batch: sharp and flat minima";
  std::string widths;
  for (auto w : o.widths) widths += (widths.empty() ? "" : "-") + std::to_string(w);
  s.setup = "MLP " + widths + " (ReLU) on " + std::to_string(r.train_examples) +
            " Fashion-MNIST training images, same initialisation, Momentum η = " + format("%g", o.lr) + ", λ = " +
            format("%g", o.momentum) + "; SB = batch " + std::to_string(r.small.batch) + ", LB = batch " +
            std::to_string(r.large.batch) + " (" + format("%.0f", 100 * o.large_fraction) +
            "% of the data); each trained until its training accuracy reached " +
            format("%.0f%%", 100 * o.target_train_accuracy) + ". Sharpness on " +
            std::to_string(std::min(o.sharpness_examples, r.train_examples)) + " training images, " +
            std::to_string(o.sharpness_steps) + " projected ascent steps.";
  std::string table =
      "| run | batch | epochs | updates | train acc | test acc | train loss | test loss | sharpness ε=1e-3 | sharpness ε=5e-4 |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  std::vector<CsvRow> rows;
  for (const auto* t : {&r.small, &r.large}) {
    table += "| " + t->name + " | " + std::to_string(t->batch) + " | " + std::to_string(t->epochs) + " | " +
             std::to_string(t->updates) + " | " + format("%.2f%%", 100 * t->train_accuracy) + " | " +
             format("%.2f%%", 100 * t->test_accuracy) + " | " + format("%.4f", t->train_loss) + " | " +
             format("%.4f", t->test_loss) + " | " + format("%.3g", t->sharpness[0]) + " | " +
             format("%.3g", t->sharpness[1]) + " |\n";
    rows.push_back({t->name, t->batch, t->epochs, t->updates, t->train_accuracy, t->test_accuracy, t->train_loss,
                    t->test_loss, t->sharpness[0], t->sharpness[1]});
  }
  s.measured = table;
  write_csv(outdir / "sharp_flat.csv",
            {"run", "batch", "epochs", "updates", "train_accuracy", "test_accuracy", "train_loss", "test_loss",
             "sharpness_1e-3", "sharpness_5e-4"},
            rows);
  std::vector<CsvRow> curve_rows;
  Series train{"train loss", {}, {}, "linespoints pt 7 ps 0.6"}, test{"test loss", {}, {}, "linespoints pt 5 ps 0.6"};
  for (const auto& row : r.curve) {
    curve_rows.push_back({row.alpha, row.loss[0], row.loss[1], row.accuracy[0], row.accuracy[1]});
    train.x.push_back(row.alpha);
    train.y.push_back(row.loss[0]);
    test.x.push_back(row.alpha);
    test.y.push_back(row.loss[1]);
  }
  write_csv(outdir / "sharp_flat_interpolation.csv", {"alpha", "train_loss", "test_loss", "train_accuracy", "test_accuracy"},
            curve_rows);
  s.data = {"sharp_flat.csv", "sharp_flat_interpolation.csv"};
  if (plots) {
    write_png(Plot{"f(α·θ_LB + (1−α)·θ_SB): α = 0 is the small-batch, α = 1 the large-batch solution", "α",
                   "cross-entropy loss", false, false, {train, test}, "top center"},
              outdir / "sharp_flat_interpolation.png");
    s.plots.push_back("sharp_flat_interpolation.png");
  }
  const double gap = 100 * (r.small.test_accuracy - r.large.test_accuracy);
  const double train_gap = 100 * std::abs(r.small.train_accuracy - r.large.train_accuracy);
  s.claims.push_back({"At comparable training accuracy the large batch generalizes worse (lower test accuracy).",
                      gap > 0 && train_gap < 2 ? Verdict::reproduced : Verdict::not_reproduced,
                      "test accuracy SB " + format("%.2f%%", 100 * r.small.test_accuracy) + " vs LB " +
                          format("%.2f%%", 100 * r.large.test_accuracy) + " (gap " + format("%.2f", gap) +
                          " points) at train accuracy " + format("%.2f%%", 100 * r.small.train_accuracy) + " vs " +
                          format("%.2f%%", 100 * r.large.train_accuracy) +
                          " (reproduced if the gap is positive and the train accuracies are within 2 points)."});
  const bool sharper = r.large.sharpness[0] > r.small.sharpness[0] && r.large.sharpness[1] > r.small.sharpness[1];
  s.claims.push_back({"The large batch converges to a sharper minimum (higher ε-sharpness for both ε).",
                      sharper ? Verdict::reproduced : Verdict::not_reproduced,
                      "ε = 1e-3: SB " + format("%.3g", r.small.sharpness[0]) + ", LB " + format("%.3g", r.large.sharpness[0]) +
                          "; ε = 5e-4: SB " + format("%.3g", r.small.sharpness[1]) + ", LB " +
                          format("%.3g", r.large.sharpness[1]) + "."});
  return s;
}

}  // namespace lecture
