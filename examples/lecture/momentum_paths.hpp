// Momentum in pictures: where plain gradient descent stops and momentum rolls on.
//
// Momentum, lecture form (λ = momentum, η = lr):  m⁰ = 0,  mᵗ = λ·mᵗ⁻¹ − η·gᵗ⁻¹,  θᵗ = θᵗ⁻¹ + mᵗ.
// Every run below is the library's SGD<Rule, FullBatchSampler> on an objective with one
// "example" (size() = 1), so each epoch is one update of GradientDescent, Momentum or
// Momentum with nesterov = true; an on_step callback records the iterate.
//
// (a) 1-D: f(x) = 0.05·(x⁶/6 − 9x⁴/4 − 4x³/3 + 6x²),  f'(x) = 0.05·(x + 2)²·x·(x − 1)·(x − 3).
//     Going right from x = −3: a flat saddle-like part at x = −2 (f' = f'' = 0: the slope
//     vanishes but it is no minimum), a small local minimum at x = 0 behind a bump at
//     x = 1, and the global minimum at x = 3. From x = −3 with η = 0.1, GD crawls to the
//     flat part and stalls there; GD started past it (x = −1.5) stops in the local
//     minimum; Momentum (λ = 0.9) from x = −3 rolls over both and settles at x = 3.
//     Where each run ended is computed from its last iterate, not assumed.
// (b) 2-D: the ill-conditioned valley f(x, y) = ½(x² + κ·y²), κ = 100, from (−4, 1) with
//     η = 1.2/κ for GD, Momentum and Nesterov (λ = 0.9): steps until f ≤ 1e-6.
//
// run_momentum(outdir) writes outdir/momentum_1d.csv, outdir/momentum_2d.csv and, with
// plots on, momentum_1d.png (the curve with each run's iterates on it | x against step)
// and momentum_2d.png (contours with the three trajectories | f against step), each with
// its gnuplot script (.gp). Called by examples/momentum and by the study program.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <minibatch/sgd.hpp>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lecture/csv.hpp"
#include "lecture/plot.hpp"

namespace lecture {

struct MomentumPathsOptions {
  double momentum = 0.9;  // λ for Momentum and Nesterov, both parts
  // (a) the 1-D loss
  double lr_1d = 0.1;
  double start_1d = -3.0;
  double start_past_plateau_1d = -1.5;
  std::size_t steps_1d = 300;
  // (b) the 2-D valley
  double kappa = 100;
  double lr_2d = 0.012;  // 1.2/κ: GD is stable for η < 2/κ, Nesterov with λ = 0.9 for η < 1.36/κ
  double start_x_2d = -4.0, start_y_2d = 1.0;
  double tolerance_2d = 1e-6;  // on f (its minimum is 0)
  std::size_t max_steps_2d = 3000;
  bool plots = true;
};

// The start and the iterate after every update (y empty in 1-D), with the loss there.
struct Trajectory {
  std::string method{};
  std::vector<double> x{}, y{}, loss{};
  std::size_t steps = 0;
  std::optional<std::size_t> steps_to_tolerance{};  // first step with loss ≤ the tolerance (2-D)
};

struct MomentumResult {
  // (a) 1-D
  double global_min_x = 0, global_min_loss = 0;  // found on a fine grid over [−3.5, 4]
  Trajectory gd_1d, gd_past_plateau_1d, momentum_1d;
  std::string gd_stopped_at, gd_past_plateau_stopped_at, momentum_stopped_at;  // named landmark
  double gd_final_gradient = 0;                                                // |f'| where GD stalled
  bool gd_stuck = false;               // GD from the start ended away from the global minimum
  bool gd_past_plateau_stuck = false;  // so did GD started past the flat part
  bool momentum_escaped = false;       // Momentum from the same start ended at the global minimum
  // (b) 2-D
  Trajectory gd_2d, momentum_2d, nesterov_2d;
  bool momentum_faster_2d = false, nesterov_faster_2d = false;  // fewer steps to the tolerance than GD
  std::vector<std::filesystem::path> files;
};

// (a) as a separable objective with one example.
struct BumpyLoss1D {
  static double f(double x) {
    const double x2 = x * x;
    return 0.05 * (x2 * x2 * x2 / 6 - 9 * x2 * x2 / 4 - 4 * x2 * x / 3 + 6 * x2);
  }
  static double df(double x) { return 0.05 * (x + 2) * (x + 2) * x * (x - 1) * (x - 3); }

  std::size_t size() const { return 1; }
  double loss_and_gradient(minibatch::TensorView<const double> theta, std::span<const std::size_t>,
                           minibatch::TensorView<double> grad) const {
    grad[0] = df(theta[0]);
    return f(theta[0]);
  }
};

// (b) as a separable objective with one example.
struct Valley2D {
  double kappa = 100;

  double f(double x, double y) const { return 0.5 * (x * x + kappa * y * y); }
  std::size_t size() const { return 1; }
  double loss_and_gradient(minibatch::TensorView<const double> theta, std::span<const std::size_t>,
                           minibatch::TensorView<double> grad) const {
    grad[0] = theta[0];
    grad[1] = kappa * theta[1];
    return f(theta[0], theta[1]);
  }
};

namespace detail {

// Runs SGD<Rule, FullBatchSampler> from start for at most max_steps updates, recording
// every iterate; stops early once loss_at(θ) ≤ tolerance when one is given.
template <class Rule, class Objective, class LossAt>
Trajectory follow_trajectory(std::string method, Rule rule, Objective& objective, std::vector<double> start,
                             std::size_t max_steps, LossAt loss_at, std::optional<double> tolerance = std::nullopt) {
  namespace mb = minibatch;
  Trajectory t{.method = std::move(method)};
  mb::Tensor<double> theta(mb::Shape{start.size()}, std::span<const double>(start));
  bool reached = false;
  auto record = [&] {
    t.x.push_back(theta[0]);
    if (theta.size() > 1) t.y.push_back(theta[1]);
    t.loss.push_back(loss_at(theta));
    if (tolerance && !reached && t.loss.back() <= *tolerance) {
      reached = true;
      t.steps_to_tolerance = t.loss.size() - 1;
    }
  };
  record();
  mb::SGD sgd(std::move(rule), mb::FullBatchSampler{});
  const mb::History history =
      sgd.run(objective, theta, {.epochs = max_steps}, mb::on_step([&](const mb::StepInfo&) { record(); }),
              mb::stop_when([&] { return reached; }));
  t.steps = history.steps;
  return t;
}

// Names the landmark of the 1-D loss nearest to x (within 0.1), else gives x.
inline std::string landmark_1d(double x) {
  struct Landmark {
    double x;
    const char* name;
  };
  static constexpr Landmark landmarks[] = {{-2.0, "the flat saddle-like part (x = -2)"},
                                           {0.0, "the small local minimum (x = 0)"},
                                           {1.0, "the top of the bump (x = 1)"},
                                           {3.0, "the global minimum (x = 3)"}};
  for (const Landmark& l : landmarks)
    if (std::abs(x - l.x) < 0.1) return l.name;
  return "x = " + to_text(x);
}

inline std::vector<double> step_axis(const Trajectory& t) {
  std::vector<double> steps(t.loss.size());
  for (std::size_t k = 0; k < steps.size(); ++k) steps[k] = static_cast<double>(k);
  return steps;
}

}  // namespace detail

inline MomentumResult run_momentum(const std::filesystem::path& outdir, const MomentumPathsOptions& o = {}) {
  namespace mb = minibatch;
  namespace fs = std::filesystem;
  MomentumResult r;
  fs::create_directories(outdir);

  // (a) 1-D.
  {
    const double lo = -3.5, hi = 4.0;
    const std::size_t samples = 75001;
    r.global_min_x = lo;
    r.global_min_loss = BumpyLoss1D::f(lo);
    for (std::size_t i = 1; i < samples; ++i) {
      const double x = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(samples - 1);
      if (BumpyLoss1D::f(x) < r.global_min_loss) r.global_min_x = x, r.global_min_loss = BumpyLoss1D::f(x);
    }
    BumpyLoss1D loss;
    auto f_at = [](const mb::Tensor<double>& theta) { return BumpyLoss1D::f(theta[0]); };
    r.gd_1d = detail::follow_trajectory("GD", mb::GradientDescent<double>({.lr = o.lr_1d}), loss, {o.start_1d},
                                        o.steps_1d, f_at);
    r.gd_past_plateau_1d =
        detail::follow_trajectory("GD started past the flat part", mb::GradientDescent<double>({.lr = o.lr_1d}), loss,
                                  {o.start_past_plateau_1d}, o.steps_1d, f_at);
    r.momentum_1d = detail::follow_trajectory("Momentum", mb::Momentum<double>({.lr = o.lr_1d, .momentum = o.momentum}),
                                              loss, {o.start_1d}, o.steps_1d, f_at);
    const auto at_global = [&](const Trajectory& t) {
      return std::abs(t.x.back() - r.global_min_x) < 0.01 && t.loss.back() - r.global_min_loss < 1e-4;
    };
    r.gd_stuck = !at_global(r.gd_1d);
    r.gd_past_plateau_stuck = !at_global(r.gd_past_plateau_1d);
    r.momentum_escaped = at_global(r.momentum_1d);
    r.gd_stopped_at = detail::landmark_1d(r.gd_1d.x.back());
    r.gd_past_plateau_stopped_at = detail::landmark_1d(r.gd_past_plateau_1d.x.back());
    r.momentum_stopped_at = detail::landmark_1d(r.momentum_1d.x.back());
    r.gd_final_gradient = std::abs(BumpyLoss1D::df(r.gd_1d.x.back()));

    const fs::path csv = outdir / "momentum_1d.csv";
    std::vector<CsvRow> rows;
    for (const Trajectory* t : {&r.gd_1d, &r.gd_past_plateau_1d, &r.momentum_1d})
      for (std::size_t k = 0; k < t->x.size(); ++k)
        rows.push_back({t->method, k, t->x[k], t->loss[k], BumpyLoss1D::df(t->x[k])});
    write_csv(csv, {"method", "step", "x", "loss", "gradient"}, rows);
    r.files.push_back(csv);

    if (o.plots) {
      Series curve{.title = "f(x)", .style = "lines lw 1.5 lc rgb '#555555'"};
      for (double x = -3.3; x <= 3.75; x += 0.01) {
        curve.x.push_back(x);
        curve.y.push_back(BumpyLoss1D::f(x));
      }
      const std::string lr = to_text(o.lr_1d), lambda = to_text(o.momentum);
      const std::string gd_title = "GD from x = " + to_text(o.start_1d);
      const std::string past_title = "GD from x = " + to_text(o.start_past_plateau_1d);
      const std::string mom_title = "Momentum (λ = " + lambda + ") from x = " + to_text(o.start_1d);
      Plot on_curve{
          .title = "Iterates on the loss curve (η = " + lr + ", " + std::to_string(o.steps_1d) + " steps)",
          .xlabel = "x",
          .ylabel = "f(x)",
          .series =
              {curve,
               {.title = mom_title, .x = r.momentum_1d.x, .y = r.momentum_1d.loss, .style = "points lt 2 pt 7 ps 0.7"},
               {.title = past_title,
                .x = r.gd_past_plateau_1d.x,
                .y = r.gd_past_plateau_1d.loss,
                .style = "points lt 3 pt 9 ps 1.2"},
               {.title = gd_title, .x = r.gd_1d.x, .y = r.gd_1d.loss, .style = "points lt 1 pt 5 ps 1.0"}},
          .key = "bottom left",
      };
      const double last = static_cast<double>(o.steps_1d);
      auto level = [&](const char* title, double x, const char* colour) {
        return Series{.title = title,
                      .x = {0.0, last},
                      .y = {x, x},
                      .style = std::string("lines dt 2 lw 1 lc rgb '") + colour + "'"};
      };
      Plot over_time{
          .title = "Position against step",
          .xlabel = "step",
          .ylabel = "x",
          .series =
              {level("global minimum", r.global_min_x, "#000000"),
               level("local minimum", 0.0, "#777777"),
               level("flat saddle-like part", -2.0, "#bbbbbb"),
               {.title = mom_title, .x = detail::step_axis(r.momentum_1d), .y = r.momentum_1d.x, .style = "lines lt 2"},
               {.title = past_title,
                .x = detail::step_axis(r.gd_past_plateau_1d),
                .y = r.gd_past_plateau_1d.x,
                .style = "lines lt 3"},
               {.title = gd_title, .x = detail::step_axis(r.gd_1d), .y = r.gd_1d.x, .style = "lines lt 1"}},
          .key = "at graph 0.98, 0.76 right top",  // between the lines at x = 0 and x = 3
      };
      const fs::path png = outdir / "momentum_1d.png";
      write_png({on_curve, over_time}, png);
      r.files.push_back(png);
      r.files.push_back(fs::path(png).replace_extension(".gp"));
    }
  }

  // (b) 2-D.
  {
    Valley2D valley{.kappa = o.kappa};
    auto f_at = [&](const mb::Tensor<double>& theta) { return valley.f(theta[0], theta[1]); };
    const std::vector<double> start{o.start_x_2d, o.start_y_2d};
    r.gd_2d = detail::follow_trajectory("GD", mb::GradientDescent<double>({.lr = o.lr_2d}), valley, start,
                                        o.max_steps_2d, f_at, o.tolerance_2d);
    r.momentum_2d = detail::follow_trajectory("Momentum", mb::Momentum<double>({.lr = o.lr_2d, .momentum = o.momentum}),
                                              valley, start, o.max_steps_2d, f_at, o.tolerance_2d);
    r.nesterov_2d = detail::follow_trajectory(
        "Nesterov", mb::Momentum<double>({.lr = o.lr_2d, .momentum = o.momentum, .nesterov = true}), valley, start,
        o.max_steps_2d, f_at, o.tolerance_2d);
    auto faster = [&](const Trajectory& t) {
      return t.steps_to_tolerance &&
             (!r.gd_2d.steps_to_tolerance || *t.steps_to_tolerance < *r.gd_2d.steps_to_tolerance);
    };
    r.momentum_faster_2d = faster(r.momentum_2d);
    r.nesterov_faster_2d = faster(r.nesterov_2d);

    const fs::path csv = outdir / "momentum_2d.csv";
    std::vector<CsvRow> rows;
    for (const Trajectory* t : {&r.gd_2d, &r.momentum_2d, &r.nesterov_2d})
      for (std::size_t k = 0; k < t->x.size(); ++k) rows.push_back({t->method, k, t->x[k], t->y[k], t->loss[k]});
    write_csv(csv, {"method", "step", "x", "y", "loss"}, rows);
    r.files.push_back(csv);

    if (o.plots) {
      double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
      for (const Trajectory* t : {&r.gd_2d, &r.momentum_2d, &r.nesterov_2d}) {
        x_lo = std::min(x_lo, *std::min_element(t->x.begin(), t->x.end()));
        x_hi = std::max(x_hi, *std::max_element(t->x.begin(), t->x.end()));
        y_lo = std::min(y_lo, *std::min_element(t->y.begin(), t->y.end()));
        y_hi = std::max(y_hi, *std::max_element(t->y.begin(), t->y.end()));
      }
      const double x_pad = 0.08 * (x_hi - x_lo), y_pad = 0.08 * (y_hi - y_lo);
      auto title_of = [&](const Trajectory& t) {
        return t.method + (t.steps_to_tolerance ? ": " + std::to_string(*t.steps_to_tolerance) + " steps"
                                                : ": not within " + std::to_string(t.steps) + " steps");
      };
      const std::string lambda = to_text(o.momentum);
      ContourPlot surface{
          .title = "f = (x² + " + to_text(o.kappa) + "·y²)/2, η = " + to_text(o.lr_2d) + ", λ = " + lambda,
          .xlabel = "x",
          .ylabel = "y",
          .f = [valley](double x, double y) { return valley.f(x, y); },
          .xmin = x_lo - x_pad,
          .xmax = x_hi + x_pad,
          .ymin = y_lo - y_pad,
          .ymax = y_hi + y_pad,
          .levels = geometric_levels(0.01, 2.0, 15),
          .paths = {{.title = title_of(r.gd_2d),
                     .x = r.gd_2d.x,
                     .y = r.gd_2d.y,
                     .style = "linespoints lt 1 lw 1.5 pt 7 ps 0.4"},
                    {.title = title_of(r.momentum_2d),
                     .x = r.momentum_2d.x,
                     .y = r.momentum_2d.y,
                     .style = "linespoints lt 2 lw 1.5 pt 7 ps 0.4"},
                    {.title = title_of(r.nesterov_2d),
                     .x = r.nesterov_2d.x,
                     .y = r.nesterov_2d.y,
                     .style = "linespoints lt 3 lw 1.5 pt 7 ps 0.4"}},
          .key = "bottom right",
      };
      Plot losses{
          .title = "Loss against step (until f ≤ " + to_text(o.tolerance_2d) + ")",
          .xlabel = "step",
          .ylabel = "f(x, y)",
          .logy = true,
          .series =
              {{.title = title_of(r.gd_2d), .x = detail::step_axis(r.gd_2d), .y = r.gd_2d.loss, .style = "lines lt 1"},
               {.title = title_of(r.momentum_2d),
                .x = detail::step_axis(r.momentum_2d),
                .y = r.momentum_2d.loss,
                .style = "lines lt 2"},
               {.title = title_of(r.nesterov_2d),
                .x = detail::step_axis(r.nesterov_2d),
                .y = r.nesterov_2d.loss,
                .style = "lines lt 3"}},
      };
      const fs::path png = outdir / "momentum_2d.png";
      write_png({surface, losses}, png);
      r.files.push_back(png);
      r.files.push_back(fs::path(png).replace_extension(".gp"));
    }
  }
  return r;
}

}  // namespace lecture
