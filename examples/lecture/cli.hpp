// The command-line options every data-driven tutorial shares: where the MNIST-format
// files are, where the CSVs and plots go, and whether to draw plots.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include <minibatch/data/mnist.hpp>

namespace lecture {

struct CommonOptions {
  std::string data_dir = minibatch::data::default_data_dir;
  std::string out = "study";
  bool no_plots = false;
};

inline void add_common_options(CLI::App& app, CommonOptions& o) {
  app.add_option("--data", o.data_dir, "directory of MNIST-format IDX files (raw or .gz)");
  app.add_option("--out", o.out, "folder for the CSV and PNG files");
  app.add_flag("--no-plots", o.no_plots, "write the CSV only (no gnuplot needed)");
}

}  // namespace lecture
