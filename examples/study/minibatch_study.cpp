// The main job: the lecture's claims about batch size and momentum, measured.
//
// What it does: runs the lecture's experiments on Fashion-MNIST (the toy and the momentum
// landscapes need no data) and writes, into --out (default `study/`), one CSV per
// experiment, the PNG plots, and REPORT.md — each claim of the lecture, the numbers this
// run measured, and whether they reproduced it. Quick mode (the default) finishes in a
// minute on a 2-core AVX-512 CPU; --full runs the complete experiments. Built with CUDA
// (MINIBATCH_ENABLE_CUDA) and run where a device is present, experiment 2 also times the
// GPU and the report names the device.
//
// Run:  ./build/release/examples/study/minibatch_study [--data DIR] [--out study] [--full]
//       [--only 1,2,3,5] [--no-plots]
//
// What you should see: one line per experiment as it finishes, a progress bar while a
// long one trains (on a terminal), the summary table of claims and verdicts, and
// study/REPORT.md with the plots inline.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lecture/batch_accuracy.hpp"
#include "lecture/batch_time.hpp"
#include "lecture/critical_points.hpp"
#include "lecture/large_batch.hpp"
#include "lecture/machine.hpp"
#include "lecture/momentum_paths.hpp"
#include "lecture/report.hpp"
#include "lecture/sharp_flat.hpp"
#include "lecture/timing.hpp"
#include "lecture/toy_gd_sgd.hpp"
#ifdef MINIBATCH_STUDY_CUDA
#include "lecture/gpu_timing.hpp"
#endif

namespace mb = minibatch;

namespace {

struct Experiment {
  int number;
  std::string title;
  std::function<lecture::Section()> run;
};

std::set<int> parse_list(const std::string& list) {
  std::set<int> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.insert(std::stoi(item));
  return out;
}

lecture::Section toy_section(const lecture::ToyResult& r) {
  lecture::Section s;
  s.title = "1. GD vs SGD on the lecture's toy";
  s.setup = "20 points of a line fit y ≈ w·x + b, same start, lr and epochs; full batch vs batch size 1.";
  s.measured = "| run | updates | final loss | updates that raised the full loss |\n| --- | ---: | ---: | ---: |\n"
               "| full batch | " + std::to_string(r.full_batch.updates) + " | " + lecture::format("%.4f", r.full_batch.final_loss()) +
               " | " + std::to_string(r.full_batch.loss_rises) + " |\n| batch 1 | " + std::to_string(r.batch1.updates) +
               " | " + lecture::format("%.4f", r.batch1.final_loss()) + " | " + std::to_string(r.batch1.loss_rises) +
               " |\n\nLeast-squares minimum: loss " + lecture::format("%.4f", r.best_loss) + ".";
  s.claims.push_back({"Full batch takes one steady update per epoch; batch 1 takes n noisy updates per epoch.",
                      r.full_batch_steady && r.batch1_noisy ? lecture::Verdict::reproduced : lecture::Verdict::not_reproduced,
                      "the full loss rose after " + std::to_string(r.full_batch.loss_rises) + " full-batch updates and after " +
                          std::to_string(r.batch1.loss_rises) + " of " + std::to_string(r.batch1.updates) + " batch-1 updates."});
  for (const auto& f : r.files) (f.extension() == ".png" ? s.plots : s.data).push_back(f.filename());
  return s;
}

lecture::Section momentum_section(const lecture::MomentumResult& r) {
  lecture::Section s;
  s.title = "5. Momentum";
  using lecture::format;
  auto steps = [](const lecture::Trajectory& t) {
    return t.steps_to_tolerance ? std::to_string(*t.steps_to_tolerance) : std::string("not reached");
  };
  s.setup = "(a) a 1-D loss with a local minimum and a flat saddle-like stretch; plain GD and Momentum (lecture "
            "form, λ = 0.9) from the same start with the same lr. (b) a 2-D valley with condition number 100: GD, "
            "Momentum and Nesterov with the same lr.";
  s.measured = "(a) global minimum at x = " + format("%.3f", r.global_min_x) + ". GD stopped at " + r.gd_stopped_at +
               " (|f'| = " + format("%.2g", r.gd_final_gradient) + "); GD started past the flat part stopped at " +
               r.gd_past_plateau_stopped_at + "; Momentum stopped at " + r.momentum_stopped_at +
               ".\n\n(b) steps to f ≤ tolerance: GD " + steps(r.gd_2d) + ", Momentum " + steps(r.momentum_2d) +
               ", Nesterov " + steps(r.nesterov_2d) + ".";
  s.claims.push_back({"Momentum carries the iterate over a small local minimum / flat stretch where plain GD stops.",
                      r.gd_stuck && r.momentum_escaped ? lecture::Verdict::reproduced : lecture::Verdict::not_reproduced,
                      "GD stuck: " + std::string(r.gd_stuck ? "yes" : "no") + ", Momentum reached the global minimum: " +
                          (r.momentum_escaped ? "yes" : "no") + "."});
  s.claims.push_back({"On an ill-conditioned valley Momentum and Nesterov need far fewer steps than GD.",
                      r.momentum_faster_2d && r.nesterov_faster_2d ? lecture::Verdict::reproduced
                                                                   : lecture::Verdict::not_reproduced,
                      "GD " + steps(r.gd_2d) + ", Momentum " + steps(r.momentum_2d) + ", Nesterov " + steps(r.nesterov_2d) +
                          " steps."});
  for (const auto& f : r.files) (f.extension() == ".png" ? s.plots : s.data).push_back(f.filename());
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"minibatch study: the lecture's claims on batch size and momentum, measured"};
  std::string data_dir = mb::data::default_data_dir, out = "study", only;
  bool full = false, no_plots = false;
  app.add_option("--data", data_dir, "directory of MNIST-format IDX files (default: Fashion-MNIST)");
  app.add_option("--out", out, "folder for REPORT.md, CSVs and plots");
  app.add_option("--only", only, "comma-separated experiment numbers to run (default: all)");
  app.add_flag("--full", full, "run the complete experiments (slow) instead of the quick ones");
  app.add_flag("--no-plots", no_plots, "skip the PNG plots (no gnuplot needed)");
  CLI11_PARSE(app, argc, argv);
  const bool plots = !no_plots;
  const auto selected = parse_list(only);

  try {
    const auto start = std::chrono::steady_clock::now();
    std::filesystem::create_directories(out);
    std::printf("minibatch study (%s mode) -> %s/REPORT.md\n", full ? "full" : "quick", out.c_str());
    const auto mnist = mb::data::load_mnist(data_dir);
    // Named members, not a structured binding: the experiments' lambdas capture them, which
    // clang before 16 does not allow for bindings.
    const auto split = mb::data::train_validation_split(mnist.train, 1.0 / 12.0, 1);
    const mb::data::Dataset& train = split.first;
    const mb::data::Dataset& validation = split.second;
    std::printf("data: %s (%zu train, %zu test images)\n", data_dir.c_str(), mnist.train.rows, mnist.test.rows);
    const std::string cpu = lecture::cpu_description();

    lecture::BatchAccuracyOptions accuracy_options;
    if (full) {
      accuracy_options.batch_sizes = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
      accuracy_options.epochs = 10;
      accuracy_options.widths = {784, 256, 10};
    }
    lecture::SharpFlatOptions sharp_options;
    lecture::CriticalPointsOptions critical_options;
    lecture::LargeBatchOptions large_options;
    if (full) {
      sharp_options.train_examples = 0;
      sharp_options.target_train_accuracy = 0.97;
      sharp_options.sharpness_steps = 50;
      sharp_options.sharpness_examples = 20000;
      critical_options.train_examples = 10000;
      critical_options.epochs = 300;
      critical_options.lanczos_iterations = 60;
      large_options.epochs = 20;
      large_options.widths = {784, 256, 10};
    }
    lecture::BatchTimeOptions time_options;
    time_options.min_seconds = full ? 3.0 : 0.3;
    time_options.min_repeats = full ? 5 : 2;

    std::vector<Experiment> experiments{
        {1, "GD vs SGD on the toy", [&] { return toy_section(lecture::run_toy_gd_sgd(out, {.plots = plots})); }},
        {2, "batch size vs time",
         [&] {
           auto results = lecture::run_batch_time(mnist.train, lecture::cpu_thread_setups(), time_options);
#ifdef MINIBATCH_STUDY_CUDA
           if (auto gpu = lecture::run_batch_time_gpu(mnist.train, time_options)) results.push_back(*gpu);
#endif
           return lecture::batch_time_section(results, out, plots);
         }},
        {3, "batch size vs accuracy",
         [&] {
           return lecture::batch_accuracy_section(lecture::run_batch_accuracy(train, validation, accuracy_options),
                                                  accuracy_options, out, plots);
         }},
        {4, "small vs large batch (sharp and flat minima)",
         [&] {
           return lecture::sharp_flat_section(lecture::run_sharp_flat(mnist.train, mnist.test, sharp_options),
                                              sharp_options, out, plots);
         }},
        {5, "momentum", [&] { return momentum_section(lecture::run_momentum(out, {.plots = plots})); }},
        {6, "critical points",
         [&] {
           return lecture::critical_points_section(lecture::run_critical_points(mnist.train, critical_options),
                                                   critical_options, out, plots);
         }},
        {7, "large batch rescued",
         [&] {
           return lecture::large_batch_section(lecture::run_large_batch(train, validation, large_options),
                                               large_options, out, plots);
         }},
    };

    std::vector<lecture::Section> sections;
    int done = 0, total = 0;
    for (const auto& e : experiments) total += selected.empty() || selected.count(e.number);
    for (const auto& e : experiments) {
      if (!selected.empty() && !selected.count(e.number)) continue;
      std::printf("[%d/%d] experiment %d: %s ...\n", ++done, total, e.number, e.title.c_str());
      std::fflush(stdout);
      const auto t0 = std::chrono::steady_clock::now();
      sections.push_back(e.run());
      sections.back().seconds = lecture::seconds_since(t0);
      for (const auto& c : sections.back().claims)
        std::printf("      %s -> %s\n", c.text.c_str(), lecture::to_string(c.verdict));
      std::fflush(stdout);
    }
    const std::string preamble = "Mode: " + std::string(full ? "full" : "quick") + ". Data: `" + data_dir +
                                 "`. Timings: " + cpu + ". Total run time: " +
                                 lecture::format("%.0f", lecture::seconds_since(start)) + " s.";
    lecture::write_report(std::filesystem::path(out) / "REPORT.md", preamble, sections);
    std::printf("wrote %s/REPORT.md (%.0f s)\n", out.c_str(), lecture::seconds_since(start));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minibatch_study: %s\n", e.what());
    return 1;
  }
}
