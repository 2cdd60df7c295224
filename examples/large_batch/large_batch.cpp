// Tutorial: large batch rescued — linear scaling + warmup, LARS and LAMB.
//
// What it shows from the lecture: at batch 8192 plain SGD with the small-batch lr makes
// only a handful of updates per epoch and falls far behind batch 256. Scaling the lr with
// the batch (Goyal et al.: η·B/256, reached by a warmup), or letting each layer set its
// own step from its weight and gradient norms (LARS, LAMB), recovers most of the gap.
//
// Run:  ./build/release/examples/large_batch/large_batch [--data DIR] [--out study]
//       [--epochs 5] [--batch 8192] [--limit N] [--no-plots]
//
// What you should see: validation accuracy after the budget for the small-batch reference,
// plain large-batch SGD, and the three rescues, with a verdict per rescue, and
// study/large_batch.png (validation accuracy per epoch).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "lecture/cli.hpp"
#include "lecture/large_batch.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Large batch: plain SGD vs linear scaling + warmup, LARS and LAMB"};
  lecture::CommonOptions common;
  lecture::LargeBatchOptions options;
  minibatch::index_t limit = 0;
  lecture::add_common_options(app, common);
  app.add_option("--epochs", options.epochs, "epochs per method")->check(CLI::PositiveNumber);
  app.add_option("--batch", options.large_batch, "the large batch size")->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "Momentum lr tuned for the small batch");
  app.add_option("--lars-lr", options.lars_lr, "LARS γ");
  app.add_option("--lamb-lr", options.lamb_lr, "LAMB lr");
  app.add_option("--warmup", options.warmup_epochs, "warmup epochs");
  app.add_option("--limit", limit, "use only the first N training images (0: all)");
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(common.out);
    auto mnist = minibatch::data::load_mnist(common.data_dir);
    if (limit) mnist.train = minibatch::data::head(mnist.train, limit);
    const auto [train, validation] = minibatch::data::train_validation_split(mnist.train, 1.0 / 12.0, 1);
    const auto rows = lecture::run_large_batch(train, validation, options);
    lecture::print_section(lecture::large_batch_section(rows, options, common.out, !common.no_plots));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "large_batch: %s\n", e.what());
    return 1;
  }
}
