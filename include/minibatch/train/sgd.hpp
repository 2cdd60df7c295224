// SGD<Rule, Sampler>: the minibatch loop — the one training loop of the library.
//
//   for each epoch e:  for each batch b of sampler.epoch(n, e):
//       loss, g ← objective.loss_and_gradient(θ, b)       (means over the batch)
//       rule.step(θ, g)
//
// SGD<GradientDescent<T>, FullBatchSampler> is vanilla gradient descent (one update per
// epoch on the exact gradient); with ShuffledSampler it is minibatch SGD; with Momentum
// it is SGD with momentum.
//
// The gradient buffer is allocated on the first run and reused, and the history is
// reserved up front, so steps after the first allocate nothing. Divergence guard: a
// non-finite loss or gradient norm throws divergence_error naming the step, *before* the
// update, so θ keeps the weights of the last good step.
#pragma once

#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "minibatch/core/error.hpp"
#include "minibatch/optim/update_rule.hpp"
#include "minibatch/samplers/sampler.hpp"
#include "minibatch/tensor/tensor.hpp"
#include "minibatch/train/callbacks.hpp"
#include "minibatch/train/history.hpp"
#include "minibatch/train/objective.hpp"

namespace minibatch {

struct SgdOptions {
  index_t epochs = 1;
  index_t first_epoch = 0;       // epoch number of the first epoch (sampler order, resume)
  bool record_grad_norm = true;  // computes ‖g‖₂ each step (one pass over g)
  bool stop_on_non_finite = true;
};

template <UpdateRule Rule, Sampler S>
class SGD {
 public:
  using value_type = typename Rule::value_type;
  using backend_type = typename Rule::backend_type;

  SGD(Rule rule, S sampler) : rule_(std::move(rule)), sampler_(std::move(sampler)) {}

  template <SeparableObjective<value_type, backend_type> O, class... Callbacks>
  History run(O& objective, TensorView<value_type, backend_type> params, SgdOptions options = {},
              Callbacks&&... callbacks) {
    (detail::check_callback<Callbacks>(), ...);
    using clock = std::chrono::steady_clock;
    const index_t n = objective.size();
    require<shape_error>(!params.empty(), "SGD::run: empty parameter tensor (shape ", params.shape(), ")");
    if (grad_.size() != params.size()) grad_ = Tensor<value_type, backend_type>(Shape{params.size()});
    TensorView<value_type, backend_type> grad = grad_.view().reshaped(params.shape());

    History history;
    history.reserve(options.epochs * sampler_.batches_per_epoch(n), options.epochs);
    const auto run_start = clock::now();
    index_t step = 0;
    for (index_t e = options.first_epoch; e < options.first_epoch + options.epochs && !history.stopped; ++e) {
      const auto epoch_start = clock::now();
      double loss_sum = 0;
      index_t epoch_steps = 0;
      index_t b = 0;
      for (std::span<const index_t> batch : sampler_.epoch(n, e)) {
        const auto step_start = clock::now();
        const double loss = static_cast<double>(objective.loss_and_gradient(params, batch, grad));
        const double norm = options.record_grad_norm || options.stop_on_non_finite
                                ? ops<backend_type>::l2_norm(TensorView<const value_type, backend_type>(grad))
                                : std::numeric_limits<double>::quiet_NaN();
        if (options.stop_on_non_finite && !(std::isfinite(loss) && std::isfinite(norm)))
          throw divergence_error(detail::concat("SGD: non-finite ", std::isfinite(loss) ? "gradient" : "loss",
                                                " at step ", step, " (epoch ", e, ", batch ", b, "): loss = ", loss,
                                                ", gradient norm = ", norm,
                                                "; the parameters keep the weights of the last good step"));
        rule_.step(params, grad);
        const double seconds = std::chrono::duration<double>(clock::now() - step_start).count();
        history.loss.push_back(loss);
        history.grad_norm.push_back(options.record_grad_norm ? norm : std::numeric_limits<double>::quiet_NaN());
        history.step_seconds.push_back(seconds);
        loss_sum += loss;
        ++epoch_steps;
        [[maybe_unused]] const StepInfo info{step, e, b, batch.size(), loss, history.grad_norm.back(), seconds};
        (detail::notify_step(callbacks, info), ...);
        ++step;
        ++b;
        if ((detail::asks_stop(callbacks) || ...)) {
          history.stopped = true;
          break;
        }
      }
      const double epoch_seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
      history.epoch_loss.push_back(epoch_steps ? loss_sum / static_cast<double>(epoch_steps) : 0.0);
      history.epoch_seconds.push_back(epoch_seconds);
      ++history.epochs;
      [[maybe_unused]] const EpochInfo info{e, epoch_steps, history.epoch_loss.back(), epoch_seconds};
      (detail::notify_epoch(callbacks, info), ...);
      if (!history.stopped && (detail::asks_stop(callbacks) || ...)) history.stopped = true;
    }
    history.steps = step;
    history.seconds = std::chrono::duration<double>(clock::now() - run_start).count();
    return history;
  }

  Rule& rule() noexcept { return rule_; }
  const Rule& rule() const noexcept { return rule_; }
  S& sampler() noexcept { return sampler_; }

 private:
  Rule rule_;
  S sampler_;
  Tensor<value_type, backend_type> grad_;
};

}  // namespace minibatch
