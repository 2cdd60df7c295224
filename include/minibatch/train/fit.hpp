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
#pragma once

#include <algorithm>
#include <optional>
#include <vector>

#include "minibatch/data/dataset.hpp"
#include "minibatch/models/supervised.hpp"
#include "minibatch/optim/per_slice.hpp"
#include "minibatch/train/loop.hpp"

namespace minibatch {

struct FitOptions {
  index_t epochs = 10;
  const data::Dataset* validation = nullptr;  // evaluated after every epoch when set
  bool evaluate_train = true;                 // full pass over the training set per epoch
  index_t eval_batch = 2000;                  // rows per evaluation chunk
  bool record_grad_norm = true;
  index_t first_epoch = 0;
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
  Tensor<T, B> grad(Shape{model.params().size()});
  FitResult result;
  result.epochs.reserve(options.epochs);
  EpochEvaluator<Objective> evaluator{train_eval ? &*train_eval : nullptr, val_eval ? &*val_eval : nullptr,
                                      model.params().flat(), &result.epochs};
  const SgdOptions loop_options{.epochs = options.epochs,
                                .first_epoch = options.first_epoch,
                                .record_grad_norm = options.record_grad_norm,
                                .stop_on_non_finite = true};
  if constexpr (SliceAwareRule<Rule>) {
    auto layered = per_slice(optimizer, model.layout());  // each layer is its own slice (LARS, LAMB, masks)
    result.history = train_loop(layered, sampler, objective, model.params().flat(), grad.view(), loop_options,
                                evaluator, callbacks...);
  } else {
    result.history = train_loop(optimizer, sampler, objective, model.params().flat(), grad.view(), loop_options,
                                evaluator, callbacks...);
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
