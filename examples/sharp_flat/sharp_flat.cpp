// Tutorial: small vs large batch — sharp and flat minima (Keskar et al. 2017).
//
// What it shows from the lecture: the same MLP trained with batch 256 (SB) and with 10% of
// the data per batch (LB) to the same training accuracy. LB ends with lower test accuracy
// and in a sharper minimum: its ε-sharpness (the largest relative rise of the training
// loss in a small box around the solution) is higher, and the 1-D interpolation
// f(α·θ_LB + (1−α)·θ_SB) shows a narrower valley around α = 1 than around α = 0.
//
// Run:  ./build/release/examples/sharp_flat/sharp_flat [--data DIR] [--out study]
//       [--examples 5000] [--target 0.95] [--lr 0.01] [--widths 784 128 10] [--no-plots]
//
// What you should see: a table of both runs (epochs, train/test accuracy and loss,
// sharpness for ε = 1e-3 and 5e-4), the two verdicts, and study/sharp_flat_interpolation.png.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "lecture/cli.hpp"
#include "lecture/sharp_flat.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Small vs large batch: test accuracy, ε-sharpness and 1-D interpolation"};
  lecture::CommonOptions common;
  lecture::SharpFlatOptions options;
  lecture::add_common_options(app, common);
  app.add_option("--examples", options.train_examples, "training images used (0: all)");
  app.add_option("--lr", options.lr, "Momentum lr of both runs");
  app.add_option("--widths", options.widths, "layer widths, input to output");
  app.add_option("--target", options.target_train_accuracy, "training accuracy both runs train to");
  app.add_option("--max-epochs-small", options.max_epochs_small, "epoch cap of the small-batch run");
  app.add_option("--max-epochs-large", options.max_epochs_large, "epoch cap of the large-batch run");
  app.add_option("--sharpness-steps", options.sharpness_steps, "projected ascent steps per sharpness");
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(common.out);
    const auto mnist = minibatch::data::load_mnist(common.data_dir);
    const auto result = lecture::run_sharp_flat(mnist.train, mnist.test, options);
    lecture::print_section(lecture::sharp_flat_section(result, options, common.out, !common.no_plots));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharp_flat: %s\n", e.what());
    return 1;
  }
}
