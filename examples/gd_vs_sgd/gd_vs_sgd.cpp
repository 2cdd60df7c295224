// Tutorial: gradient descent vs stochastic gradient descent on the lecture's toy.
//
// What it shows from the lecture: with 20 examples, full batch takes 1 update per
// epoch on the exact gradient — a steady path that needs many epochs; batch size 1
// takes 20 updates per epoch, each on one example's gradient — a noisy path that gets
// close to the minimum much sooner but then jitters around it. The model is a line
// y ≈ w·x + b, so the loss is a 2-D surface: both paths are drawn over its contours.
// The library's own SGD<GradientDescent<double>, FullBatchSampler / ShuffledSampler>
// moves them; an on_step callback records the point after every update.
//
// Run:  ./build/release/examples/gd_vs_sgd/gd_vs_sgd [--out study] [--epochs 20]
//       [--lr 0.2] [--seed 7] [--no-plots]
//
// What you should see: the number of updates of each run (20 vs 400 with the defaults),
// their final losses next to the least-squares minimum, how often an update made the
// full loss go *up* (never for full batch, often for batch 1), the line
// "lecture claim reproduced: yes", and the files written: study/gd_vs_sgd.csv (both
// paths) and study/gd_vs_sgd.png — left the contours with the smooth full-batch path
// and the zig-zagging batch-1 path, right the full loss against epochs.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "lecture/toy_gd_sgd.hpp"

int main(int argc, char** argv) {
  CLI::App app{"GD (full batch) vs SGD (batch 1) on the lecture's 20-point toy, with contour plots"};
  std::string out = "study";
  bool no_plots = false;
  lecture::ToyOptions options;
  app.add_option("--out", out, "folder for the CSV and PNG files")->capture_default_str();
  app.add_option("--epochs", options.epochs, "passes over the 20 examples (both runs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", options.lr, "learning rate η (both runs)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the data and of the batch-1 shuffle")->capture_default_str();
  app.add_flag("--no-plots", no_plots, "write the CSV only (no gnuplot needed)");
  CLI11_PARSE(app, argc, argv);
  options.plots = !no_plots;

  try {
    const lecture::ToyResult r = lecture::run_toy_gd_sgd(out, options);
    const auto& fb = r.full_batch;
    const auto& b1 = r.batch1;
    std::printf("%zu examples, %zu epochs, lr %g, both runs from (w, b) = (%g, %g)\n", options.points, options.epochs,
                options.lr, options.start_w, options.start_b);
    std::printf("least-squares minimum: w = %.3f, b = %.3f, loss %.4f\n", r.best_w, r.best_b, r.best_loss);
    std::printf("full batch: %zu updates (%zu per epoch), final loss %.4f at (%.3f, %.3f)\n", fb.updates,
                fb.updates / options.epochs, fb.final_loss(), fb.w.back(), fb.b.back());
    std::printf("batch 1:    %zu updates (%zu per epoch), final loss %.4f at (%.3f, %.3f)\n", b1.updates,
                b1.updates / options.epochs, b1.final_loss(), b1.w.back(), b1.b.back());
    std::printf("full batch path steady: the full loss went up after %zu of %zu updates\n", fb.loss_rises, fb.updates);
    std::printf("batch 1 path noisy: the full loss went up after %zu of %zu updates (%.0f%%)\n", b1.loss_rises,
                b1.updates, 100.0 * static_cast<double>(b1.loss_rises) / static_cast<double>(b1.updates));
    if (b1.final_loss() < fb.final_loss())
      std::printf("in the same %zu epochs, batch 1 got closer to the minimum (loss %.4f vs %.4f)\n", options.epochs,
                  b1.final_loss(), fb.final_loss());
    else
      std::printf("in the same %zu epochs, full batch got closer to the minimum (loss %.4f vs %.4f)\n", options.epochs,
                  fb.final_loss(), b1.final_loss());
    std::printf("lecture claim reproduced: %s (full batch steady: %s, batch 1 noisy: %s)\n",
                r.full_batch_steady && r.batch1_noisy ? "yes" : "no", r.full_batch_steady ? "yes" : "no",
                r.batch1_noisy ? "yes" : "no");
    for (const auto& file : r.files) std::printf("wrote %s\n", file.string().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gd_vs_sgd: %s\n", e.what());
    return 1;
  }
}
