#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "minibatch/data/split.hpp"
#include "minibatch/data/synthetic.hpp"
#include "minibatch/train.hpp"

namespace mb = minibatch;

namespace {
std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("minibatch_test_fit_" + std::to_string(::getpid()) + "_" + name);
}
}  // namespace

TEST_CASE("fit trains an MLP classifier on separable blobs and fills the per-epoch metrics") {
  const auto all = mb::data::make_blobs(900, 10, 3, 0.3, 1);
  const auto [train, validation] = mb::data::train_validation_split(all, 0.2, 2);
  mb::Mlp<float> model({10, 16, 3}, mb::Activation::relu, 3);
  mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
  mb::ShuffledSampler sampler({.batch_size = 32, .seed = 4});
  int epochs_seen = 0;
  auto check_epoch = mb::on_epoch([&](const mb::EpochInfo& e) {
    CHECK(std::isfinite(e.train_accuracy));
    CHECK(std::isfinite(e.validation_accuracy));
    CHECK(std::isfinite(e.validation_loss));
    ++epochs_seen;
  });
  const auto result = mb::fit(model, train, opt, sampler, {.epochs = 5, .validation = &validation}, check_epoch);
  CHECK(epochs_seen == 5);
  REQUIRE(result.epochs.size() == 5);
  CHECK(result.history.steps == 5 * 23);  // ⌈720 / 32⌉ = 23 batches per epoch
  CHECK(opt.steps() == result.history.steps);  // the caller's optimizer carries the state
  CHECK(result.epochs.back().train_accuracy > 0.95);
  CHECK(result.epochs.back().validation_accuracy > 0.95);
  CHECK(result.epochs.back().train_loss < result.epochs.front().train_loss);
  const auto test = mb::evaluate(model, validation);
  CHECK(test.accuracy == doctest::Approx(result.epochs.back().validation_accuracy));
  CHECK(test.examples == validation.rows);
}

TEST_CASE("fit with one output is logistic regression") {
  const auto data = mb::data::make_blobs(400, 5, 2, 0.3, 5);
  mb::Mlp<double> model({5, 1}, mb::Activation::identity, 6);
  mb::GradientDescent<double> opt({.lr = 0.5});
  mb::ShuffledSampler sampler({.batch_size = 20, .seed = 7});
  const auto result = mb::fit(model, data, opt, sampler, {.epochs = 10});
  CHECK(result.epochs.back().train_accuracy > 0.95);
}

TEST_CASE("fit: a diverging lr stops with divergence_error and finite weights") {
  const auto data = mb::data::make_blobs(200, 5, 3, 0.5, 8);
  mb::Mlp<float> model({5, 8, 3}, mb::Activation::relu, 9);
  mb::GradientDescent<float> opt({.lr = 1e30f});
  mb::SequentialSampler sampler({.batch_size = 50});
  try {
    mb::fit(model, data, opt, sampler, {.epochs = 50});
    FAIL("divergence not detected");
  } catch (const mb::divergence_error& e) {
    CHECK(std::string(e.what()).find("at step") != std::string::npos);
  }
  for (mb::index_t i = 0; i < model.params().size(); ++i) REQUIRE(std::isfinite(model.params().flat()[i]));
}

TEST_CASE("fit refuses data that does not fit the model") {
  const auto data = mb::data::make_blobs(50, 5, 3, 0.5, 1);
  mb::Mlp<float> narrow({4, 3});
  mb::GradientDescent<float> opt({.lr = 0.1f});
  mb::SequentialSampler sampler({.batch_size = 10});
  CHECK_THROWS_AS(mb::fit(narrow, data, opt, sampler), mb::shape_error);
  mb::Mlp<float> two_outputs({5, 2});
  CHECK_THROWS_AS(mb::fit(two_outputs, data, opt, sampler), mb::shape_error);
}

TEST_CASE("CsvLogger writes a header and one flushed row per epoch; bad path is an io_error naming it") {
  const auto epochs_path = temp_path("epochs.csv");
  const auto steps_path = temp_path("steps.csv");
  {
    const auto data = mb::data::make_blobs(100, 4, 2, 0.5, 3);
    mb::Mlp<float> model({4, 2});
    mb::GradientDescent<float> opt({.lr = 0.1f});
    mb::SequentialSampler sampler({.batch_size = 25});
    mb::CsvLogger log(epochs_path, steps_path);
    mb::fit(model, data, opt, sampler, {.epochs = 3}, log);
    std::ifstream in(epochs_path);  // readable before the logger closes: rows are flushed
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) ++lines;
    CHECK(lines == 4);
  }
  std::ifstream steps(steps_path);
  std::string header;
  std::getline(steps, header);
  CHECK(header == "step,epoch,batch,batch_size,loss,grad_norm,seconds");
  int rows = 0;
  for (std::string line; std::getline(steps, line);) ++rows;
  CHECK(rows == 12);
  std::filesystem::remove(epochs_path);
  std::filesystem::remove(steps_path);
  try {
    mb::CsvLogger bad("/nonexistent-dir/log.csv");
    FAIL("no error");
  } catch (const mb::io_error& e) {
    CHECK(std::string(e.what()).find("/nonexistent-dir/log.csv") != std::string::npos);
  }
}

TEST_CASE("EarlyStopping stops after `patience` epochs without improvement") {
  mb::EarlyStopping stop({.patience = 2, .min_delta = 0.01});
  auto epoch = [](mb::index_t i, double acc) {
    mb::EpochInfo e;
    e.epoch = i;
    e.validation_accuracy = acc;
    return e;
  };
  stop.on_epoch(epoch(0, 0.80));
  CHECK_FALSE(stop.stop_requested());
  stop.on_epoch(epoch(1, 0.85));
  stop.on_epoch(epoch(2, 0.855));  // below min_delta: no improvement
  CHECK_FALSE(stop.stop_requested());
  stop.on_epoch(epoch(3, 0.84));
  CHECK(stop.stop_requested());
  CHECK(stop.best() == 0.85);
  CHECK(stop.best_epoch() == 1);
  CHECK_THROWS_AS(mb::EarlyStopping({.patience = 0}), mb::value_error);

  const auto data = mb::data::make_blobs(100, 4, 2, 0.5, 3);
  mb::Mlp<float> model({4, 2});
  mb::GradientDescent<float> opt({.lr = 0.0f});  // never improves
  mb::SequentialSampler sampler({.batch_size = 25});
  mb::EarlyStopping in_fit({.patience = 2, .monitor = mb::Monitor::train_loss});
  const auto result = mb::fit(model, data, opt, sampler, {.epochs = 20}, in_fit);
  CHECK(result.history.stopped);
  CHECK(result.epochs.size() == 3);
}

TEST_CASE("ProgressBar draws only when asked or on a terminal") {
  mb::ProgressBar quiet(10, "t", false);
  mb::ProgressBar forced(10, "t", true);
  CHECK(forced.enabled());
  CHECK_NOTHROW(quiet.on_step(mb::StepInfo{}));
}
