// fit: train a classifier (an Mlp with a cross-entropy head) on a data set, with
// per-epoch evaluation — built on train_loop, the one minibatch loop.
//
//   FitResult r = fit(model, train, optimizer, sampler, {.epochs = 10, .validation = &val},
//                     ProgressBar(...), CsvLogger("log.csv"), ...);
//
// The host data set is uploaded once to the model's backend; steps move only index
// batches. The loss head is softmax cross-entropy for k ≥ 2 outputs and sigmoid
// cross-entropy (logistic regression) for one output. After every epoch the evaluator
// fills EpochInfo's train/validation loss and accuracy (full passes in chunks of
// eval_batch rows) before user callbacks see it. The optimizer and sampler are taken by
// reference, so their state (momentum, step count) is the caller's after fit returns.
// An optimizer with a per-slice step (LARS, LAMB, weight-decay masks) sees the model's
// layers as its slices (optim/per_slice.hpp).
//
// Checkpoints (train/checkpoint.hpp): `.checkpoint = {.path, .every_steps}` saves the
// parameters, the optimizer state and the position after every every_steps-th update;
// `.resume_from = path` restores them and continues at the saved batch of the saved epoch,
// up to the same end (first_epoch + epochs) as the run that wrote it, which is bitwise the
// uninterrupted run. The FitResult of a resumed run covers the resumed part only: its
// first epoch record is the partial epoch from the resume point on. Both need an optimizer
// with state() (StatefulOptimizer); other optimizers get a value_error when they ask.
#pragma once

#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include "minibatch/data/dataset.hpp"
#include "minibatch/models/supervised.hpp"
#include "minibatch/optim/per_slice.hpp"
#include "minibatch/train/checkpoint.hpp"
#include "minibatch/train/loop.hpp"

namespace minibatch {

struct FitOptions {
  index_t epochs = 10;
  const data::Dataset* validation = nullptr;  // evaluated after every epoch when set
  bool evaluate_train = true;                 // full pass over the training set per epoch
  index_t eval_batch = 2000;                  // rows per evaluation chunk
  bool record_grad_norm = true;
  // Divergence guard (train/loop.hpp): undo an update that makes the weights non-finite,
  // at the cost of one copy of θ per step; applies where losses are read every step.
  bool keep_last_good = true;
  ReadBack read_back = ReadBack::automatic;  // per_epoch on a GPU unless a callback reads step losses
  index_t first_epoch = 0;
  CheckpointOptions checkpoint = {};       // {.path, .every_steps}: save every every_steps updates
  std::filesystem::path resume_from = {};  // continue the run saved in this checkpoint
};

struct FitResult {
  History history;
  std::vector<EpochInfo> epochs;  // with the evaluator's metrics filled in
};

namespace detail {

// The largest batch a sampler can hand out on n examples.
template <class S>
index_t max_batch_size(const S& sampler, index_t n) {
  if constexpr (requires { sampler.options().batch_size; })
    return std::min<index_t>(sampler.options().batch_size, n);
  else
    return n;
}

template <class Objective>
struct EpochEvaluator {
  Objective* train = nullptr;       // evaluated when non-null
  Objective* validation = nullptr;  // evaluated when non-null
  TensorView<const typename Objective::value_type, typename Objective::backend_type> params;
  std::vector<EpochInfo>* record = nullptr;

  void evaluate(EpochInfo& info) {
    if (train) {
      const Evaluation e = train->evaluate(params);
      info.train_loss = e.loss;
      info.train_accuracy = e.accuracy;
    }
    if (validation) {
      const Evaluation e = validation->evaluate(params);
      info.validation_loss = e.loss;
      info.validation_accuracy = e.accuracy;
    }
    record->push_back(info);
  }
};

// Applies options.resume_from (restores model and optimizer, moves loop_options to the saved
// position) and returns the callback that writes options.checkpoint.
template <class T, Backend B, UpdateRule Rule, Sampler S>
auto make_checkpointer(const FitOptions& options, Mlp<T, B>& model, Rule& optimizer, S& sampler,
                       index_t examples, SgdOptions& loop_options) {
  if constexpr (StatefulOptimizer<Rule>) {
    const TrainPosition now = sampler_position(sampler, examples);
    if (!options.resume_from.empty()) {
      const Checkpoint<T> saved = read_checkpoint<T>(options.resume_from);
      const std::string source = source_name(options.resume_from);
      check_resume_position(saved.position, now, source);
      restore_checkpoint(saved, source, model.params(), optimizer);
      const index_t end = options.first_epoch + options.epochs;
      loop_options.first_epoch = saved.position.epoch;
      loop_options.first_batch = saved.position.batch;
      loop_options.first_step = saved.position.step;
      loop_options.epochs = end > saved.position.epoch ? end - saved.position.epoch : 0;
    }
    return PeriodicCheckpoint<T, B, Rule>(options.checkpoint, model.params(), optimizer, now);
  } else {
    require<value_error>(options.resume_from.empty() && options.checkpoint.path.empty(),
                         "fit: checkpoints need an optimizer with state() (a StatefulOptimizer, optim/state.hpp); "
                         "this one has none");
    return NoCheckpoint{};
  }
}

template <class Loss, class T, Backend B, UpdateRule Rule, Sampler S, class... Callbacks>
FitResult fit_with(Mlp<T, B>& model, const data::Dataset& train, Rule& optimizer, S& sampler, const FitOptions& options,
                   Callbacks&... callbacks) {
  using Objective = SupervisedObjective<T, B, Loss>;
  const auto train_data = to_tensors<T, B>(train);
  Objective objective(model, train_data, max_batch_size(sampler, train_data.size()));
  std::optional<Objective> train_eval, val_eval;
  std::optional<TensorDataset<T, std::int32_t, B>> val_data;
  if (options.evaluate_train) train_eval.emplace(model, train_data, options.eval_batch);
  if (options.validation) {
    val_data.emplace(to_tensors<T, B>(*options.validation));
    val_eval.emplace(model, *val_data, options.eval_batch);
  }
  SgdOptions loop_options{.epochs = options.epochs,
                          .first_epoch = options.first_epoch,
                          .record_grad_norm = options.record_grad_norm,
                          .stop_on_non_finite = true,
                          .keep_last_good = options.keep_last_good,
                          .read_back = options.read_back};
  auto checkpointer = make_checkpointer(options, model, optimizer, sampler, train_data.size(), loop_options);
  Tensor<T, B> grad(Shape{model.params().size()});
  FitResult result;
  result.epochs.reserve(loop_options.epochs);
  EpochEvaluator<Objective> evaluator{train_eval ? &*train_eval : nullptr, val_eval ? &*val_eval : nullptr,
                                      model.params().flat(), &result.epochs};
  // The checkpointer runs last, so it saves what the user's callbacks left (an lr they set).
  auto run = [&](auto& rule) {
    return train_loop(rule, sampler, objective, model.params().flat(), grad.view(), loop_options, evaluator,
                      callbacks..., checkpointer);
  };
  if constexpr (SliceAwareRule<Rule>) {
    auto layered = per_slice(optimizer, model.layout());  // each layer is its own slice (LARS, LAMB, masks)
    result.history = run(layered);
  } else {
    result.history = run(optimizer);
  }
  return result;
}

}  // namespace detail

template <class T, Backend B, UpdateRule Rule, Sampler S, class... Callbacks>
  requires std::same_as<typename Rule::value_type, T> && std::same_as<typename Rule::backend_type, B>
FitResult fit(Mlp<T, B>& model, const data::Dataset& train, Rule& optimizer, S& sampler, FitOptions options = {},
              Callbacks&&... callbacks) {
  require<shape_error>(train.cols == model.inputs(), "fit: the data set has ", train.cols,
                       " features per row, the model takes ", model.inputs());
  if (model.outputs() == 1) {
    return detail::fit_with<SigmoidCrossEntropy>(model, train, optimizer, sampler, options, callbacks...);
  }
  require<shape_error>(train.classes <= model.outputs(), "fit: the data set has ", train.classes,
                       " classes, the model has ", model.outputs(), " outputs");
  return detail::fit_with<SoftmaxCrossEntropy>(model, train, optimizer, sampler, options, callbacks...);
}

// Mean loss and accuracy of a classifier on a host data set (uploaded for the call).
template <class T, Backend B>
Evaluation evaluate(const Mlp<T, B>& model, const data::Dataset& data, index_t chunk = 2000) {
  const auto tensors = to_tensors<T, B>(data);
  if (model.outputs() == 1) return SupervisedObjective<T, B, SigmoidCrossEntropy>(model, tensors, chunk).evaluate(model.params().flat());
  return SupervisedObjective<T, B, SoftmaxCrossEntropy>(model, tensors, chunk).evaluate(model.params().flat());
}

}  // namespace minibatch
