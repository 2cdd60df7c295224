// train_loop: the one minibatch loop of the library (SGD::run and fit both call it).
//
//   for each epoch e:  for each batch b of sampler.epoch(n, e):
//       loss, g ← objective.loss_and_gradient(θ, b)       (means over the batch)
//       rule.step(θ, g)
//
// Fused update (SgdOptions::fuse_update): on the cpu, when nothing reads the whole gradient
// (record_grad_norm and stop_on_non_finite both off), the rule is element-wise
// (PartwiseRule: GradientDescent, Momentum, Adam, AdamW, RMSProp, Adagrad; not LARS and
// LAMB, whose trust ratios need whole layers) and the objective offers loss_and_step, each
// step is objective.loss_and_step(θ, b, grad, rule): the update is applied to each part of the
// gradient as backward produces it, which saves writing the gradient to memory and reading
// it back (1.3× faster steps at batch 10 for a 784-512-512-10 MLP). θ follows the same
// trajectory to the bit; grad is then scratch space and holds no full gradient.
//
// Resume (train/checkpoint.hpp): first_epoch, first_batch and first_step start the loop at
// batch first_batch of epoch first_epoch, with StepInfo::step counting on from first_step.
// The order of an epoch depends only on (seed, epoch, n), so skipping the first batches of
// the first epoch continues an interrupted run exactly. The History covers this run only:
// its first epoch record is the partial epoch from first_batch on.
//
// Read-back (SgdOptions::read_back). Each step's loss and gradient norm live on the
// backend; reading them to the host is free on the cpu but a synchronisation on a GPU.
//   every_step  read at once: History, StepInfo and the divergence guard see each step
//               before the next is queued
//   per_epoch   each step copies its loss and ‖g‖² into a backend buffer, which is read
//               once at the end of the epoch: no synchronisation per step. StepInfo's
//               loss and grad_norm are NaN; step_seconds hold the epoch's mean.
//   automatic   (default) every_step on the cpu, or when a callback's on_step reads the
//               loss (any on_step, unless its type says `static constexpr bool
//               reads_step_loss = false`); per_epoch otherwise.
//
// Divergence guard (stop_on_non_finite). every_step: a non-finite loss or gradient norm
// throws divergence_error naming the step *before* the update, so θ keeps the weights of
// the last good step; with keep_last_good the loop also copies θ before each update and
// checks ‖θ‖ after it, so an update that overflows finite weights (a huge lr) is undone
// before the error — one extra pass over θ per step, which fit() pays by default.
// per_epoch: the first non-finite step is found when the epoch's values are read; the
// error names it, and θ holds the weights of the epoch's end.
//
// The history, the read-back buffers and the copy of θ (LoopBuffers) are allocated up
// front, so a step allocates nothing; SGD keeps its LoopBuffers, so its later runs of the
// same sizes allocate nothing on the backend either.
#pragma once

#include <chrono>
#include <cmath>
#include <concepts>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/optim/update_rule.hpp"
#include "minibatch/samplers/sampler.hpp"
#include "minibatch/tensor/tensor.hpp"
#include "minibatch/train/callbacks.hpp"
#include "minibatch/train/history.hpp"
#include "minibatch/train/objective.hpp"

namespace minibatch {

enum class ReadBack { automatic, every_step, per_epoch };

struct SgdOptions {
  index_t epochs = 1;
  index_t first_epoch = 0;       // epoch number of the first epoch (sampler order, resume)
  index_t first_batch = 0;       // batch of first_epoch to start at (resume; earlier batches are skipped)
  index_t first_step = 0;        // StepInfo::step of the first update (resume: updates made before)
  bool record_grad_norm = true;  // computes ‖g‖₂ each step (one pass over g)
  bool stop_on_non_finite = true;
  bool keep_last_good = false;   // every_step: undo an update that makes θ non-finite (one more pass)
  bool fuse_update = true;       // fuse the update into backward where nothing reads the whole gradient
  ReadBack read_back = ReadBack::automatic;
};

namespace detail {

// Whether a callback's on_step reads StepInfo's loss (so the loop must read it each step).
template <class C>
constexpr bool reads_step_loss() {
  if constexpr (!callable_on_step<C>) return false;
  else if constexpr (requires { C::reads_step_loss; }) return static_cast<bool>(C::reads_step_loss);
  else return true;
}

template <class B, class... Callbacks>
constexpr bool reads_every_step(ReadBack mode) {
  if (mode == ReadBack::automatic) return std::same_as<B, cpu> || (reads_step_loss<Callbacks>() || ...);
  return mode == ReadBack::every_step;
}

// Whether train_loop can fuse rule's update into objective's backward. (On a GPU the
// gradient stays in device memory and one update launch over the flat buffer beats one per
// part, so the fused step is for the cpu.)
template <class O, class Rule, class Loss>
concept fuses_update =
    std::same_as<typename Rule::backend_type, cpu> &&
    requires(O& objective, Rule& rule, TensorView<typename Rule::value_type, cpu> params,
             std::span<const index_t> batch) {
      { objective.loss_and_step(params, batch, params, rule) } -> std::same_as<Loss>;
    };

inline divergence_error diverged(index_t step, index_t epoch, index_t batch, double loss, double norm,
                                 const char* where) {
  return divergence_error(concat("training diverged: non-finite ", std::isfinite(loss) ? "gradient" : "loss",
                                 " at step ", step, " (epoch ", epoch, ", batch ", batch, "): loss = ", loss,
                                 ", gradient norm = ", norm, "; ", where));
}

}  // namespace detail

// What train_loop allocates before its first step: the per-epoch read-back buffers and the
// copy of θ for keep_last_good. A caller that runs the loop repeatedly (SGD) keeps one, so
// a second run of the same sizes allocates nothing.
template <class T, Backend B>
class LoopBuffers {
 public:
  void prepare(index_t steps_per_epoch, index_t params, bool per_epoch, bool keep_last_good) {
    if (per_epoch && epoch_losses.size() < steps_per_epoch) {
      epoch_losses = Tensor<T, B>(Shape{steps_per_epoch});
      epoch_squares = Tensor<double, B>(Shape{steps_per_epoch});
      host_losses.resize(steps_per_epoch);
      host_squares.resize(steps_per_epoch);
    }
    if (per_epoch && whole_size_ != params) {
      whole = Tensor<index_t, B>{index_t{0}, params};
      whole_size_ = params;
    }
    if (keep_last_good && last_good.size() != params) last_good = Tensor<T, B>(Shape{params});
  }

  Tensor<T, B> epoch_losses;        // per_epoch: the loss of each step of the epoch
  Tensor<double, B> epoch_squares;  // per_epoch: ‖g‖² of each step
  Tensor<index_t, B> whole;         // the one-slice table {0, size of θ} (sums of squares)
  Tensor<T, B> last_good;           // keep_last_good: θ before the update
  std::vector<T> host_losses;
  std::vector<double> host_squares;

 private:
  index_t whole_size_ = 0;
};

template <UpdateRule Rule, Sampler S, class O, class... Callbacks>
  requires SeparableObjective<O, typename Rule::value_type, typename Rule::backend_type>
History train_loop(Rule& rule, S& sampler, O& objective, TensorView<typename Rule::value_type, typename Rule::backend_type> params,
                   TensorView<typename Rule::value_type, typename Rule::backend_type> grad, const SgdOptions& options,
                   LoopBuffers<typename Rule::value_type, typename Rule::backend_type>& buffers,
                   Callbacks&... callbacks) {
  using T = typename Rule::value_type;
  using B = typename Rule::backend_type;
  (detail::check_callback<Callbacks>(), ...);
  using clock = std::chrono::steady_clock;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const index_t n = objective.size();
  require<shape_error>(!params.empty(), "train_loop: empty parameter tensor (shape ", params.shape(), ")");
  require_same_shape(params, grad, "train_loop: parameters and gradient buffer");

  const index_t batches_per_epoch = sampler.batches_per_epoch(n);
  require<value_error>(options.epochs == 0 || options.first_batch < batches_per_epoch, "train_loop: first_batch = ",
                       options.first_batch, " but an epoch has ", batches_per_epoch, " batches");
  const bool each_step = detail::reads_every_step<B, Callbacks...>(options.read_back);
  // A LossValue lives on the backend; other objectives return their loss on the host.
  using Loss = decltype(objective.loss_and_gradient(params, std::span<const index_t>{}, grad));
  constexpr bool loss_on_backend = requires(const Loss& v) { v.tensor(); };
  const bool want_norm = options.record_grad_norm || options.stop_on_non_finite;
  const bool guard_weights = each_step && options.stop_on_non_finite && options.keep_last_good;
  constexpr bool can_fuse = detail::fuses_update<O, Rule, Loss>;
  const bool fuse = can_fuse && options.fuse_update && !want_norm;
  const auto loss_and_gradient = [&](std::span<const index_t> batch) {
    if constexpr (can_fuse) {
      if (fuse) return objective.loss_and_step(params, batch, grad, rule);
    }
    return objective.loss_and_gradient(params, batch, grad);
  };

  buffers.prepare(batches_per_epoch, params.size(), !each_step, guard_weights);
  Tensor<T, B>& epoch_losses = buffers.epoch_losses;
  Tensor<double, B>& epoch_squares = buffers.epoch_squares;
  std::vector<T>& host_losses = buffers.host_losses;
  std::vector<double>& host_squares = buffers.host_squares;

  History history;
  history.reserve(options.epochs * batches_per_epoch, options.epochs);
  const auto run_start = clock::now();
  index_t step = 0;
  for (index_t e = options.first_epoch; e < options.first_epoch + options.epochs && !history.stopped; ++e) {
    const auto epoch_start = clock::now();
    double loss_sum = 0;
    index_t epoch_steps = 0;
    const index_t epoch_first_step = step;
    const BatchRange batches = sampler.epoch(n, e);
    const index_t first_b = e == options.first_epoch ? options.first_batch : 0;
    for (index_t b = first_b; b < batches.size(); ++b) {
      const std::span<const index_t> batch = batches[b];
      const auto step_start = clock::now();
      const auto loss_value = loss_and_gradient(batch);  // and the update, when fused
      double loss = nan, norm = nan;
      if (each_step) {
        loss = static_cast<double>(loss_value);
        if (want_norm) norm = ops<B>::l2_norm(TensorView<const T, B>(grad));
        if (options.stop_on_non_finite && !(std::isfinite(loss) && std::isfinite(norm)))
          throw detail::diverged(options.first_step + step, e, b, loss, norm,
                                 "the parameters keep the weights of the last good step");
        if (guard_weights) memory<B>::copy(buffers.last_good.data(), params.data(), params.size());
      } else {
        if constexpr (loss_on_backend)
          memory<B>::copy(epoch_losses.data() + epoch_steps, loss_value.tensor().data(), 1);
        else
          host_losses[epoch_steps] = static_cast<T>(loss_value);
        if (want_norm)
          ops<B>::slice_sum_squares(TensorView<const T, B>(grad), buffers.whole.view(),
                                    epoch_squares.view().rows(epoch_steps, 1));
      }
      if (!fuse) rule.step(params, grad);
      if (guard_weights) {
        if (!std::isfinite(ops<B>::l2_norm(TensorView<const T, B>(params)))) {
          memory<B>::copy(params.data(), buffers.last_good.data(), params.size());
          throw divergence_error(detail::concat(
              "training diverged: the update at step ", options.first_step + step, " (epoch ", e, ", batch ", b,
              ") made the parameters non-finite (loss = ", loss, ", gradient norm = ", norm,
              ": is the learning rate too large?); the parameters keep the weights before that update"));
        }
      }
      const double seconds = std::chrono::duration<double>(clock::now() - step_start).count();
      if (each_step) {
        history.loss.push_back(loss);
        history.grad_norm.push_back(options.record_grad_norm ? norm : nan);
        history.step_seconds.push_back(seconds);
        loss_sum += loss;
      }
      ++epoch_steps;
      [[maybe_unused]] const StepInfo info{options.first_step + step, e, b, batch.size(), loss,
                                           options.record_grad_norm ? norm : nan, seconds};
      (detail::notify_step(callbacks, info), ...);
      ++step;
      if ((detail::asks_stop(callbacks) || ...)) {
        history.stopped = true;
        break;
      }
    }
    if (!each_step && epoch_steps > 0) {  // the epoch's one read-back
      if constexpr (loss_on_backend) memory<B>::to_host(host_losses.data(), epoch_losses.data(), epoch_steps);
      if (want_norm) memory<B>::to_host(host_squares.data(), epoch_squares.data(), epoch_steps);
      const double mean_seconds =
          std::chrono::duration<double>(clock::now() - epoch_start).count() / static_cast<double>(epoch_steps);
      for (index_t k = 0; k < epoch_steps; ++k) {
        const double loss = static_cast<double>(host_losses[k]);
        const double norm = want_norm ? std::sqrt(host_squares[k]) : nan;
        if (options.stop_on_non_finite && !(std::isfinite(loss) && std::isfinite(norm)))
          throw detail::diverged(options.first_step + epoch_first_step + k, e, first_b + k, loss, norm,
                                 "found when the epoch's losses were read (read_back = per_epoch): the parameters "
                                 "hold the weights at the end of the epoch");
        history.loss.push_back(loss);
        history.grad_norm.push_back(options.record_grad_norm ? norm : nan);
        history.step_seconds.push_back(mean_seconds);
        loss_sum += loss;
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

// The same loop with buffers of its own (allocated before the first step).
template <UpdateRule Rule, Sampler S, class O, class... Callbacks>
  requires SeparableObjective<O, typename Rule::value_type, typename Rule::backend_type>
History train_loop(Rule& rule, S& sampler, O& objective, TensorView<typename Rule::value_type, typename Rule::backend_type> params,
                   TensorView<typename Rule::value_type, typename Rule::backend_type> grad, const SgdOptions& options,
                   Callbacks&... callbacks) {
  LoopBuffers<typename Rule::value_type, typename Rule::backend_type> buffers;
  return train_loop(rule, sampler, objective, params, grad, options, buffers, callbacks...);
}

}  // namespace minibatch
