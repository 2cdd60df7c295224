// Tutorial: critical points — is a stalled loss a critical point, and which kind?
//
// What it shows from the lecture: a small tanh network trains until its full training
// loss flattens out, but the full gradient norm ‖∇f‖ does not go to zero: a stalled loss is
// not a critical point, so check the gradient norm before blaming one. At the end, Lanczos
// on Hessian-vector products estimates the extreme eigenvalues of the Hessian; negative
// ones beside positive ones mean saddle-like, none mean minimum-like.
//
// Run:  ./build/release/examples/critical_points/critical_points [--data DIR] [--out study]
//       [--examples 2000] [--epochs 200] [--lanczos 30] [--seed 1] [--no-plots]
//
// What you should see: the loss and gradient norm at the start and end, the epoch where the
// loss stalled and its decrease per epoch before that, λ_max, λ_min, the fraction of positive Ritz
// values and the verdict, and study/critical_points.png (training curves and Ritz values).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "lecture/cli.hpp"
#include "lecture/critical_points.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Gradient norm while the loss stalls, and the Hessian's extreme eigenvalues at the end"};
  lecture::CommonOptions common;
  lecture::CriticalPointsOptions options;
  lecture::add_common_options(app, common);
  app.add_option("--examples", options.train_examples, "training images used");
  app.add_option("--epochs", options.epochs, "at most this many epochs (training stops once the loss stalls)")->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "Momentum lr");
  app.add_option("--lanczos", options.lanczos_iterations, "Lanczos iterations");
  app.add_option("--seed", options.seed, "seed of the initial weights, the shuffles and Lanczos");
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(common.out);
    const auto mnist = minibatch::data::load_mnist(common.data_dir);
    const auto result = lecture::run_critical_points(mnist.train, options);
    lecture::print_section(lecture::critical_points_section(result, options, common.out, !common.no_plots));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "critical_points: %s\n", e.what());
    return 1;
  }
}
