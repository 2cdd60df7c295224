// The lecture's toy for "GD vs SGD": 20 examples of a line fit y ≈ w·x + b, so the
// loss is a surface over (w, b) whose contours and optimizer paths can be drawn.
//
//   fᵢ(w, b) = ½(w·xᵢ + b − yᵢ)²,   L(w, b) = (1/20) Σᵢ fᵢ(w, b)
//
// Both runs start at the same point with the same learning rate and the same number of
// epochs, and the library's own loop moves them:
//   full batch  SGD<GradientDescent<double>, FullBatchSampler>: 1 update per epoch on
//               the exact gradient — a steady path;
//   batch 1     SGD<GradientDescent<double>, ShuffledSampler> with batch_size = 1:
//               20 updates per epoch, each on one example's gradient — a noisy path.
// An on_step callback records (w, b) after every update. "Steady" and "noisy" are
// measured on the full loss L: how many updates made L go up.
//
// run_toy_gd_sgd(outdir) writes outdir/gd_vs_sgd.csv (both paths, one row per update)
// and, with plots on, outdir/gd_vs_sgd.png (+ .gp): the contours of L with both paths,
// and L against epochs. Called by examples/gd_vs_sgd and by the study program.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <minibatch/core/rng.hpp>
#include <minibatch/sgd.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"

namespace lecture {

struct ToyOptions {
  std::size_t points = 20;
  std::size_t epochs = 20;
  double lr = 0.2;
  double true_w = 2.0, true_b = 1.0;  // data: y = true_w·x + true_b + noise·N(0, 1), x uniform in [−1, 1]
  double noise = 0.5;
  double start_w = -2.0, start_b = -2.0;
  std::uint64_t seed = 7;  // the data and the shuffle of the batch-1 run
  bool plots = true;
};

// A path in (w, b): the start, then the point after every update.
struct ToyPath {
  std::vector<double> w, b, loss;  // loss = the full loss L at the point
  std::size_t updates = 0;
  std::size_t loss_rises = 0;  // updates after which L was higher than before
  double final_loss() const { return loss.back(); }
};

struct ToyResult {
  double best_w = 0, best_b = 0, best_loss = 0;  // the least-squares solution and its loss
  ToyPath full_batch, batch1;
  bool full_batch_steady = false;  // L fell at every full-batch update
  bool batch1_noisy = false;       // L rose after some batch-1 updates
  std::vector<std::filesystem::path> files;
};

// The data set as a separable objective: mean loss and mean gradient over a batch.
struct ToyRegression {
  std::vector<double> x, y;

  std::size_t size() const { return x.size(); }
  double loss_and_gradient(minibatch::TensorView<const double> theta, std::span<const std::size_t> batch,
                           minibatch::TensorView<double> grad) const {
    double loss = 0, gw = 0, gb = 0;
    for (std::size_t i : batch) {
      const double r = theta[0] * x[i] + theta[1] - y[i];
      loss += 0.5 * r * r;
      gw += r * x[i];
      gb += r;
    }
    const double inv = 1.0 / static_cast<double>(batch.size());
    grad[0] = gw * inv;
    grad[1] = gb * inv;
    return loss * inv;
  }
  double full_loss(double w, double b) const {
    double loss = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double r = w * x[i] + b - y[i];
      loss += 0.5 * r * r;
    }
    return loss / static_cast<double>(x.size());
  }
};

inline ToyRegression make_toy_data(const ToyOptions& o) {
  ToyRegression data;
  minibatch::Rng rng(o.seed);
  for (std::size_t i = 0; i < o.points; ++i) {
    const double x = 2.0 * rng.uniform() - 1.0;
    data.x.push_back(x);
    data.y.push_back(o.true_w * x + o.true_b + o.noise * rng.normal());
  }
  return data;
}

namespace detail {

template <class Sampler>
ToyPath follow_toy(ToyRegression& data, Sampler sampler, const ToyOptions& o) {
  namespace mb = minibatch;
  ToyPath path;
  mb::Tensor<double> theta{o.start_w, o.start_b};
  auto record = [&] {
    path.w.push_back(theta[0]);
    path.b.push_back(theta[1]);
    path.loss.push_back(data.full_loss(theta[0], theta[1]));
  };
  record();
  mb::SGD sgd(mb::GradientDescent<double>({.lr = o.lr}), std::move(sampler));
  const mb::History history =
      sgd.run(data, theta, {.epochs = o.epochs}, mb::on_step([&](const mb::StepInfo&) { record(); }));
  path.updates = history.steps;
  for (std::size_t k = 1; k < path.loss.size(); ++k) path.loss_rises += path.loss[k] > path.loss[k - 1];
  return path;
}

}  // namespace detail

inline ToyResult run_toy_gd_sgd(const std::filesystem::path& outdir, const ToyOptions& o = {}) {
  namespace mb = minibatch;
  namespace fs = std::filesystem;
  ToyResult result;
  ToyRegression data = make_toy_data(o);

  // Least squares in closed form: the minimum the contours are drawn around.
  double mx = 0, my = 0, mxx = 0, mxy = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    mx += data.x[i];
    my += data.y[i];
    mxx += data.x[i] * data.x[i];
    mxy += data.x[i] * data.y[i];
  }
  const double n = static_cast<double>(data.size());
  mx /= n, my /= n, mxx /= n, mxy /= n;
  result.best_w = (mxy - mx * my) / (mxx - mx * mx);
  result.best_b = my - result.best_w * mx;
  result.best_loss = data.full_loss(result.best_w, result.best_b);

  result.full_batch = detail::follow_toy(data, mb::FullBatchSampler{}, o);
  result.batch1 =
      detail::follow_toy(data, mb::ShuffledSampler({.batch_size = 1, .seed = o.seed, .drop_last = false}), o);
  result.full_batch_steady = result.full_batch.loss_rises == 0;
  result.batch1_noisy = result.batch1.loss_rises > 0;

  fs::create_directories(outdir);
  const fs::path csv = outdir / "gd_vs_sgd.csv";
  std::vector<CsvRow> rows;
  auto add_rows = [&](const char* method, const ToyPath& p) {
    const double per_epoch = static_cast<double>(p.updates) / static_cast<double>(o.epochs);
    for (std::size_t k = 0; k < p.w.size(); ++k)
      rows.push_back({method, k, static_cast<double>(k) / per_epoch, p.w[k], p.b[k], p.loss[k]});
  };
  add_rows("full batch", result.full_batch);
  add_rows("batch 1", result.batch1);
  write_csv(csv, {"method", "update", "epochs", "w", "b", "loss"}, rows);
  result.files.push_back(csv);

  if (o.plots) {
    // A box around both paths and the minimum, with some margin.
    double w_lo = result.best_w, w_hi = result.best_w, b_lo = result.best_b, b_hi = result.best_b;
    for (const ToyPath* p : {&result.full_batch, &result.batch1}) {
      w_lo = std::min(w_lo, *std::min_element(p->w.begin(), p->w.end()));
      w_hi = std::max(w_hi, *std::max_element(p->w.begin(), p->w.end()));
      b_lo = std::min(b_lo, *std::min_element(p->b.begin(), p->b.end()));
      b_hi = std::max(b_hi, *std::max_element(p->b.begin(), p->b.end()));
    }
    const double w_pad = 0.15 * (w_hi - w_lo) + 0.1, b_pad = 0.15 * (b_hi - b_lo) + 0.1;
    std::vector<double> levels;
    for (double gap : geometric_levels(0.01, 2.0, 14)) levels.push_back(result.best_loss + gap);

    auto epochs_axis = [&](const ToyPath& p) {
      std::vector<double> e(p.w.size());
      for (std::size_t k = 0; k < e.size(); ++k)
        e[k] = static_cast<double>(k) * static_cast<double>(o.epochs) / static_cast<double>(p.updates);
      return e;
    };
    const std::string full_title = "full batch (" + std::to_string(o.points) +
                                   " examples): " + std::to_string(result.full_batch.updates) + " updates";
    const std::string one_title = "batch 1: " + std::to_string(result.batch1.updates) + " updates";
    ContourPlot surface{
        .title = "Loss contours and paths, " + std::to_string(o.epochs) + " epochs, lr " + to_text(o.lr),
        .xlabel = "w (slope)",
        .ylabel = "b (intercept)",
        .f = [&data](double w, double b) { return data.full_loss(w, b); },
        .xmin = w_lo - w_pad,
        .xmax = w_hi + w_pad,
        .ymin = b_lo - b_pad,
        .ymax = b_hi + b_pad,
        .levels = levels,
        .paths = {{.title = one_title,
                   .x = result.batch1.w,
                   .y = result.batch1.b,
                   .style = "linespoints lt 2 lw 1 pt 7 ps 0.5"},
                  {.title = full_title,
                   .x = result.full_batch.w,
                   .y = result.full_batch.b,
                   .style = "linespoints lt 1 lw 2.5 pt 7 ps 1.3"},
                  {.title = "minimum (least squares)",
                   .x = {result.best_w},
                   .y = {result.best_b},
                   .style = "points pt 3 ps 3 lw 2 lc rgb 'black'"}},
        .key = "bottom right",
    };
    Plot losses{
        .title = "Full loss L after each update",
        .xlabel = "epochs",
        .ylabel = "L(w, b) on all " + std::to_string(o.points) + " examples",
        .logy = true,
        .series = {{.title = one_title,
                    .x = epochs_axis(result.batch1),
                    .y = result.batch1.loss,
                    .style = "lines lt 2 lw 1.5"},
                   {.title = full_title,
                    .x = epochs_axis(result.full_batch),
                    .y = result.full_batch.loss,
                    .style = "linespoints lt 1 lw 2.5 pt 7 ps 1.3"},
                   {.title = "minimum",
                    .x = {0.0, static_cast<double>(o.epochs)},
                    .y = {result.best_loss, result.best_loss},
                    .style = "lines dt 2 lw 1.5 lc rgb 'black'"}},
    };
    const fs::path png = outdir / "gd_vs_sgd.png";
    write_png({surface, losses}, png);
    result.files.push_back(png);
    result.files.push_back(fs::path(png).replace_extension(".gp"));
  }
  return result;
}

}  // namespace lecture
