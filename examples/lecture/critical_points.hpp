// Experiment 6 of the lecture — critical points: when the training loss stalls, is the
// gradient small? And at the end of training, is the point a minimum or a saddle?
//
// A small tanh network (double precision: the Hessian is probed by finite differences of
// gradients, which needs smooth activations and precision) is trained with minibatch
// SGD + momentum on a slice of Fashion-MNIST until the loss stalls. After every epoch an
// evaluate() callback measures the full training loss f(θ) and the full gradient norm
// ‖∇f(θ)‖; the loss has stalled when, over the last stall_window epochs, it fell by less
// than stall_threshold per epoch (least-squares slope of ln f: the per-epoch losses of SGD
// are noisy, and a rule on the window's two end points said "stalled" or not depending on
// the rounding of a single product). Training stops there, or after `epochs`. At the end,
// Lanczos on Hessian-vector products estimates the extreme eigenvalues of ∇²f(θ); the
// fraction of positive Ritz values and λ_min/λ_max say saddle-like or minimum-like.
//
// The claims: (a) the loss can stall while ‖∇f‖ stays far from zero — a stalled loss is
// not a critical point; (b) at the end point the Hessian's extreme eigenvalues classify it.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <minibatch/minibatch.hpp>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"
#include "lecture/report.hpp"

namespace lecture {

namespace mb = minibatch;

struct CriticalPointsOptions {
  mb::index_t train_examples = 10000;
  std::vector<mb::index_t> widths{784, 32, 10};
  mb::index_t epochs = 200;  // at most; training stops once the loss stalls
  mb::index_t batch = 64;
  double lr = 0.05, momentum = 0.9;
  mb::index_t lanczos_iterations = 30;
  mb::index_t stall_window = 15;  // epochs examined for a stall
  double stall_threshold = 0.01;  // relative loss decrease per epoch below which the loss "stalls"
  std::uint64_t seed = 1;
};

struct CriticalPointsResult {
  std::vector<double> loss, grad_norm;  // full-batch, per epoch (index 0: the start)
  bool stalled = false;                 // training stopped at a stall (else: after `epochs`)
  double window_decrease = 0;           // relative decrease of f per epoch over the last window
  double window_epochs = 0;             // epochs in the window
  double window_grad_norm = 0;          // mean ‖∇f‖ over the window
  double min_grad_norm = 0;
  mb::LanczosResult hessian;
  mb::index_t parameters = 0, examples = 0;
};

namespace detail {

// −(least-squares slope of ln f over the last `window` epochs): the relative decrease of
// the loss per epoch, robust to the noise of single epochs.
inline double relative_decrease_per_epoch(const std::vector<double>& loss, std::size_t window) {
  const std::size_t n = std::min(loss.size(), window + 1), first = loss.size() - n;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += double(i);
    my += std::log(loss[first + i]);
  }
  mx /= double(n);
  my /= double(n);
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (double(i) - mx) * (std::log(loss[first + i]) - my);
    sxx += (double(i) - mx) * (double(i) - mx);
  }
  return sxx > 0 ? -sxy / sxx : 0.0;
}

struct FullBatchProbe {
  mb::ClassificationObjective<double>* objective;
  std::span<const mb::index_t> all;
  mb::TensorView<double> params;
  std::vector<double>* loss;
  std::vector<double>* grad_norm;
  mb::Tensor<double> grad;
  std::size_t window;
  double threshold;
  bool stalled = false;

  void measure() {
    loss->push_back(mb::full_loss_and_gradient(*objective, params, all, grad.view()));
    grad_norm->push_back(mb::ops<mb::cpu>::l2_norm(mb::TensorView<const double>(grad.view())));
  }
  void evaluate(mb::EpochInfo& e) {
    measure();
    e.train_loss = loss->back();
    stalled = loss->size() > window && relative_decrease_per_epoch(*loss, window) < threshold;
  }
  bool stop_requested() const { return stalled; }
};

}  // namespace detail

inline CriticalPointsResult run_critical_points(const mb::data::Dataset& full_train, const CriticalPointsOptions& o = {}) {
  CriticalPointsResult r;
  const auto train = mb::data::head(full_train, o.train_examples);
  const auto data = mb::to_tensors<double>(train);
  mb::Mlp<double> model(o.widths, mb::Activation::tanh, o.seed);
  r.parameters = model.params().size();
  r.examples = train.rows;
  mb::ClassificationObjective<double> objective(model, data, std::max<mb::index_t>(o.batch, 500));
  const auto all = mb::all_indices(train.rows);
  const auto window = static_cast<std::size_t>(std::max<mb::index_t>(2, o.stall_window));
  detail::FullBatchProbe probe{&objective, all, model.params().flat(), &r.loss, &r.grad_norm,
                               mb::Tensor<double>(mb::Shape{model.params().size()}), window, o.stall_threshold};
  probe.measure();
  mb::Momentum<double> optimizer({.lr = o.lr, .momentum = o.momentum});
  mb::ShuffledSampler sampler({.batch_size = o.batch, .seed = o.seed});
  mb::Tensor<double> grad(mb::Shape{model.params().size()});
  mb::train_loop(optimizer, sampler, objective, model.params().flat(), grad.view(), {.epochs = o.epochs}, probe);

  r.stalled = probe.stalled;
  r.window_decrease = detail::relative_decrease_per_epoch(r.loss, window);
  const std::size_t first = r.loss.size() - std::min(r.loss.size(), window + 1);
  r.window_epochs = double(r.loss.size() - 1 - first);
  double sum = 0;
  for (auto i = first; i < r.grad_norm.size(); ++i) sum += r.grad_norm[i];
  r.window_grad_norm = sum / double(r.grad_norm.size() - first);
  r.min_grad_norm = *std::min_element(r.grad_norm.begin(), r.grad_norm.end());
  r.hessian = mb::lanczos_extreme_eigenvalues(objective, model.params().flat(), all,
                                              {.iterations = o.lanczos_iterations, .seed = o.seed});
  return r;
}

inline Section critical_points_section(const CriticalPointsResult& r, const CriticalPointsOptions& o,
                                       const std::filesystem::path& outdir, bool plots) {
  Section s;
  s.title = "6. Critical points: gradient norm and Hessian eigenvalues";
  std::string widths;
  for (auto w : o.widths) widths += (widths.empty() ? "" : "-") + std::to_string(w);
  s.setup = "MLP " + widths + " (tanh, double precision, " + std::to_string(r.parameters) + " parameters) on " +
            std::to_string(r.examples) + " Fashion-MNIST images, SGD batch " + std::to_string(o.batch) +
            " with Momentum η = " + format("%g", o.lr) + ", λ = " + format("%g", o.momentum) +
            ", trained until the loss stalls (it falls by less than " + format("%.0f%%", 100 * o.stall_threshold) +
            " per epoch over " + std::to_string(o.stall_window) + " epochs, least-squares slope of ln f) or " +
            std::to_string(o.epochs) + " epochs; full-batch loss and gradient norm after every epoch; Lanczos (" +
            std::to_string(r.hessian.iterations) + " iterations, full reorthogonalisation) on finite-difference "
            "Hessian-vector products at the end point.";
  std::vector<CsvRow> rows;
  Series loss{"training loss f(θ)", {}, {}, "linespoints pt 7 ps 0.5"};
  Series norm{"gradient norm ‖∇f(θ)‖", {}, {}, "linespoints pt 5 ps 0.5"};
  for (std::size_t e = 0; e < r.loss.size(); ++e) {
    rows.push_back({e, r.loss[e], r.grad_norm[e]});
    loss.x.push_back(double(e));
    loss.y.push_back(r.loss[e]);
    norm.x.push_back(double(e));
    norm.y.push_back(r.grad_norm[e]);
  }
  write_csv(outdir / "critical_points.csv", {"epoch", "train_loss", "grad_norm"}, rows);
  std::vector<CsvRow> ritz;
  Series ritz_series{"Ritz values", {}, {}, "points pt 7"};
  for (std::size_t i = 0; i < r.hessian.ritz_values.size(); ++i) {
    ritz.push_back({i, r.hessian.ritz_values[i]});
    ritz_series.x.push_back(double(i));
    ritz_series.y.push_back(r.hessian.ritz_values[i]);
  }
  write_csv(outdir / "critical_points_hessian.csv", {"index", "ritz_value"}, ritz);
  s.data = {"critical_points.csv", "critical_points_hessian.csv"};
  if (plots) {
    write_png(std::vector<Panel>{Plot{"Training: loss and gradient norm", "epoch", "value (log scale)", false, true,
                                      {loss, norm}, "top right"},
                                 Plot{"Hessian at the end point: Lanczos Ritz values", "index (ascending)", "eigenvalue",
                                      false, false, {ritz_series}, "top left"}},
              outdir / "critical_points.png");
    s.plots.push_back("critical_points.png");
  }
  s.measured = "Full-batch loss " + format("%.4f", r.loss.front()) + " → " + format("%.4f", r.loss.back()) +
               "; gradient norm " + format("%.3g", r.grad_norm.front()) + " → " + format("%.3g", r.grad_norm.back()) +
               " (smallest seen " + format("%.3g", r.min_grad_norm) + ") in " + std::to_string(r.loss.size() - 1) +
               " epochs. Over the last " + format("%.0f", r.window_epochs) + " epochs the loss fell by " +
               format("%.2f%%", 100 * r.window_decrease) + " per epoch while the mean gradient norm was " +
               format("%.3g", r.window_grad_norm) + ".\n\nHessian: λ_max ≈ " + format("%.4g", r.hessian.lambda_max) +
               ", λ_min ≈ " + format("%.4g", r.hessian.lambda_min) + ", " +
               format("%.0f%%", 100 * r.hessian.fraction_positive) + " of the Ritz values positive → " +
               std::string(mb::to_string(r.hessian.verdict)) + ".";
  const bool large = r.window_grad_norm > 0.1 * r.grad_norm.front();
  s.claims.push_back({"When the loss stalls, the gradient norm is usually not small.",
                      r.stalled && large ? Verdict::reproduced : Verdict::not_reproduced,
                      std::string(r.stalled ? "the loss stalled after " : "the loss did not stall within ") +
                          std::to_string(r.loss.size() - 1) + " epochs: over the last " +
                          format("%.0f", r.window_epochs) + " it fell " + format("%.2f%%", 100 * r.window_decrease) +
                          " per epoch (a stall if < " + format("%.0f%%", 100 * o.stall_threshold) +
                          "); mean ‖∇f‖ there " +
                          format("%.3g", r.window_grad_norm) + " vs " + format("%.3g", r.grad_norm.front()) +
                          " at the start (not small if > 10% of it)."});
  s.claims.push_back({"At the end point the Hessian's extreme eigenvalues tell a saddle from a minimum.",
                      r.hessian.verdict == mb::CurvatureVerdict::inconclusive ? Verdict::not_reproduced
                                                                             : Verdict::reproduced,
                      "λ_min/λ_max = " + format("%.3g", r.hessian.lambda_min / r.hessian.lambda_max) + ", " +
                          format("%.0f%%", 100 * r.hessian.fraction_positive) + " positive Ritz values: " +
                          std::string(mb::to_string(r.hessian.verdict)) + "."});
  return s;
}

}  // namespace lecture
