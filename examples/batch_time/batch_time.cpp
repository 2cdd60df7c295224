// Tutorial: batch size vs time — the time of one update and of one epoch.
//
// What it shows from the lecture: one update of the MLP 784-512-512-10 (gather, forward,
// backward, momentum step) for batch sizes 1, 10, 100, 1000, 10000, 60000 on
// Fashion-MNIST. An epoch is ⌈60000/B⌉ updates, so its time is that many times the time
// per update. On a GPU the time per update barely moves from 1 to 1000 and big batches
// make an epoch far cheaper; on a CPU the time per update grows with the batch once the
// fixed costs are paid, and the epoch time flattens out instead. The CPU is timed on one
// thread and, built with OpenMP (the default where the compiler has it), on all of them
// (OMP_NUM_THREADS=2 to choose fewer).
//
// Run:  ./build/release/examples/batch_time/batch_time [--data DIR] [--out study]
//       [--min-seconds 0.3] [--batches 1 10 100 1000 10000 60000] [--no-plots]
//
// What you should see: a table of the median time per update and per epoch for every
// batch size and thread count, and study/batch_time_update.png and study/batch_time_epoch.png — the
// lecture's two plots (log-log).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "lecture/cli.hpp"
#include "lecture/batch_time.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Time per update and per epoch vs batch size (MLP 784-512-512-10)"};
  lecture::CommonOptions common;
  lecture::BatchTimeOptions options;
  lecture::add_common_options(app, common);
  app.add_option("--batches", options.batch_sizes, "batch sizes to time");
  app.add_option("--min-seconds", options.min_seconds, "measure each batch size at least this long");
  app.add_option("--min-repeats", options.min_repeats, "measure each batch size at least this many steps");
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(common.out);
    const auto mnist = minibatch::data::load_mnist(common.data_dir);
    const auto results = lecture::run_batch_time(mnist.train, lecture::cpu_thread_setups(), options);
    const auto section = lecture::batch_time_section(results, common.out, !common.no_plots);
    lecture::print_section(section);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batch_time: %s\n", e.what());
    return 1;
  }
}
