// Tutorial: batch size vs accuracy within a fixed budget of epochs.
//
// What it shows from the lecture: the same MLP, the same initialisation, the same lr and
// momentum, the same number of epochs — only the batch size changes. Small batches make
// many noisy updates per epoch, large batches few exact ones; with an unscaled lr the
// large batches end the budget less accurate (experiment 7 shows how to rescue them).
//
// Run:  ./build/release/examples/batch_accuracy/batch_accuracy [--data DIR] [--out study]
//       [--epochs 3] [--batches 16 64 256 1024 4096] [--lr 0.02] [--limit N] [--no-plots]
//
// What you should see: train and validation accuracy per batch size (falling from ~86%
// at batch 16 to the mid-70s at 4096 with the defaults), and study/batch_accuracy.png.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "lecture/cli.hpp"
#include "lecture/batch_accuracy.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Train and validation accuracy vs batch size after a fixed number of epochs"};
  lecture::CommonOptions common;
  lecture::BatchAccuracyOptions options;
  minibatch::index_t limit = 0;
  lecture::add_common_options(app, common);
  app.add_option("--batches", options.batch_sizes, "batch sizes to train with");
  app.add_option("--epochs", options.epochs, "epochs per batch size")->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "learning rate (the same for every batch size)");
  app.add_option("--limit", limit, "use only the first N training images (0: all)");
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(common.out);
    auto mnist = minibatch::data::load_mnist(common.data_dir);
    if (limit) mnist.train = minibatch::data::head(mnist.train, limit);
    const auto [train, validation] = minibatch::data::train_validation_split(mnist.train, 1.0 / 12.0, 1);
    const auto rows = lecture::run_batch_accuracy(train, validation, options);
    const auto section = lecture::batch_accuracy_section(rows, options, common.out, !common.no_plots);
    lecture::print_section(section);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batch_accuracy: %s\n", e.what());
    return 1;
  }
}
