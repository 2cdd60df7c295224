// train_loop: the one minibatch loop of the library (SGD::run and fit both call it).
//
//   for each epoch e:  for each batch b of sampler.epoch(n, e):
//       loss, g ← objective.loss_and_gradient(θ, b)       (means over the batch)
//       rule.step(θ, g)
//
// Resume (train/checkpoint.hpp): first_epoch, first_batch and first_step start the loop at
// batch first_batch of epoch first_epoch, with StepInfo::step counting on from first_step.
// The order of an epoch depends only on (seed, epoch, n), so skipping the first batches of
// the first epoch continues an interrupted run exactly. The History covers this run only:
// its first epoch record is the partial epoch from first_batch on.
//
// The history is reserved up front, so a step allocates nothing. Divergence guard: a
// non-finite loss or gradient norm throws divergence_error naming the step, *before* the
// update, so θ keeps the weights of the last good step.
#pragma once

#include <chrono>
#include <cmath>
#include <limits>
#include <span>
#include <utility>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/optim/update_rule.hpp"
#include "minibatch/samplers/sampler.hpp"
#include "minibatch/train/callbacks.hpp"
#include "minibatch/train/history.hpp"
#include "minibatch/train/objective.hpp"

namespace minibatch {

struct SgdOptions {
  index_t epochs = 1;
  index_t first_epoch = 0;       // epoch number of the first epoch (sampler order, resume)
  index_t first_batch = 0;       // batch of first_epoch to start at (resume; earlier batches are skipped)
  index_t first_step = 0;        // StepInfo::step of the first update (resume: updates made before)
  bool record_grad_norm = true;  // computes ‖g‖₂ each step (one pass over g)
  bool stop_on_non_finite = true;
};

template <UpdateRule Rule, Sampler S, class O, class... Callbacks>
  requires SeparableObjective<O, typename Rule::value_type, typename Rule::backend_type>
History train_loop(Rule& rule, S& sampler, O& objective, TensorView<typename Rule::value_type, typename Rule::backend_type> params,
                   TensorView<typename Rule::value_type, typename Rule::backend_type> grad, const SgdOptions& options,
                   Callbacks&... callbacks) {
  using T = typename Rule::value_type;
  using B = typename Rule::backend_type;
  (detail::check_callback<Callbacks>(), ...);
  using clock = std::chrono::steady_clock;
  const index_t n = objective.size();
  require<shape_error>(!params.empty(), "train_loop: empty parameter tensor (shape ", params.shape(), ")");
  require_same_shape(params, grad, "train_loop: parameters and gradient buffer");

  const index_t batches_per_epoch = sampler.batches_per_epoch(n);
  require<value_error>(options.epochs == 0 || options.first_batch < batches_per_epoch, "train_loop: first_batch = ",
                       options.first_batch, " but an epoch has ", batches_per_epoch, " batches");

  History history;
  history.reserve(options.epochs * batches_per_epoch, options.epochs);
  const auto run_start = clock::now();
  index_t step = 0;
  for (index_t e = options.first_epoch; e < options.first_epoch + options.epochs && !history.stopped; ++e) {
    const auto epoch_start = clock::now();
    double loss_sum = 0;
    index_t epoch_steps = 0;
    const BatchRange batches = sampler.epoch(n, e);
    for (index_t b = e == options.first_epoch ? options.first_batch : 0; b < batches.size(); ++b) {
      const std::span<const index_t> batch = batches[b];
      const auto step_start = clock::now();
      const double loss = static_cast<double>(objective.loss_and_gradient(params, batch, grad));
      const double norm = options.record_grad_norm || options.stop_on_non_finite
                              ? ops<B>::l2_norm(TensorView<const T, B>(grad))
                              : std::numeric_limits<double>::quiet_NaN();
      if (options.stop_on_non_finite && !(std::isfinite(loss) && std::isfinite(norm)))
        throw divergence_error(detail::concat("training diverged: non-finite ", std::isfinite(loss) ? "gradient" : "loss",
                                              " at step ", options.first_step + step, " (epoch ", e, ", batch ", b,
                                              "): loss = ", loss, ", gradient norm = ", norm,
                                              "; the parameters keep the weights of the last good step"));
      rule.step(params, grad);
      const double seconds = std::chrono::duration<double>(clock::now() - step_start).count();
      history.loss.push_back(loss);
      history.grad_norm.push_back(options.record_grad_norm ? norm : std::numeric_limits<double>::quiet_NaN());
      history.step_seconds.push_back(seconds);
      loss_sum += loss;
      ++epoch_steps;
      [[maybe_unused]] const StepInfo info{options.first_step + step, e, b, batch.size(), loss,
                                           history.grad_norm.back(), seconds};
      (detail::notify_step(callbacks, info), ...);
      ++step;
      if ((detail::asks_stop(callbacks) || ...)) {
        history.stopped = true;
        break;
      }
    }
    const double epoch_seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    history.epoch_loss.push_back(epoch_steps ? loss_sum / static_cast<double>(epoch_steps) : 0.0);
    history.epoch_seconds.push_back(epoch_seconds);
    ++history.epochs;
    [[maybe_unused]] EpochInfo info{e, epoch_steps, history.epoch_loss.back(), epoch_seconds};
    (detail::run_evaluate(callbacks, info), ...);
    (detail::notify_epoch(callbacks, std::as_const(info)), ...);
    if (!history.stopped && (detail::asks_stop(callbacks) || ...)) history.stopped = true;
  }
  history.steps = step;
  history.seconds = std::chrono::duration<double>(clock::now() - run_start).count();
  return history;
}

}  // namespace minibatch
