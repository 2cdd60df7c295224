// Callbacks of the training loop. A callback is any object with one or more of
//
//     void on_step(const StepInfo&)     after every update
//     void evaluate(EpochInfo&)         after every epoch, first: fills in metrics
//     void on_epoch(const EpochInfo&)   after every epoch, once every evaluate has run
//     bool stop_requested()             polled after every step and epoch; true ends the run
//
// A callback type with none of them, or with one of these names but a signature the
// loop cannot call, is a compile error (never silently ignored). For lambdas:
// on_step(f), on_epoch(f), stop_when(f) wrap a callable into such an object.
#pragma once

#include <concepts>
#include <limits>
#include <type_traits>
#include <utility>

#include "minibatch/core/index.hpp"

namespace minibatch {

struct StepInfo {
  index_t step = 0;      // global update count: from SgdOptions::first_step (0, or the resumed step)
  index_t epoch = 0;
  index_t batch = 0;     // position of the batch within its epoch
  index_t batch_size = 0;
  double loss = 0;       // mean loss of the batch, before the update
  double grad_norm = 0;  // ‖g‖₂ of the batch gradient (NaN when not recorded)
  double seconds = 0;    // wall time of this step
};

struct EpochInfo {
  index_t epoch = 0;
  index_t steps = 0;        // updates in this epoch
  double mean_loss = 0;     // mean of the step losses of the epoch
  double seconds = 0;       // wall time of the epoch's steps (evaluation not included)
  // Filled in by evaluate() callbacks (fit's evaluator); NaN when nobody measured them.
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double train_accuracy = std::numeric_limits<double>::quiet_NaN();
  double validation_loss = std::numeric_limits<double>::quiet_NaN();
  double validation_accuracy = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {

template <class C>
concept has_on_step_member = requires { &std::remove_cvref_t<C>::on_step; };
template <class C>
concept has_on_epoch_member = requires { &std::remove_cvref_t<C>::on_epoch; };
template <class C>
concept has_evaluate_member = requires { &std::remove_cvref_t<C>::evaluate; };
template <class C>
concept has_stop_member = requires { &std::remove_cvref_t<C>::stop_requested; };

template <class C>
concept callable_on_step = requires(C& c, const StepInfo& s) { c.on_step(s); };
template <class C>
concept callable_on_epoch = requires(C& c, const EpochInfo& e) { c.on_epoch(e); };
template <class C>
concept callable_evaluate = requires(C& c, EpochInfo& e) { c.evaluate(e); };
template <class C>
concept callable_stop = requires(C& c) {
  { c.stop_requested() } -> std::convertible_to<bool>;
};

template <class C>
constexpr void check_callback() {
  using D = std::remove_cvref_t<C>;
  static_assert(callable_on_step<D> || callable_on_epoch<D> || callable_evaluate<D> || callable_stop<D>,
                "minibatch callback: the type has none of on_step(const StepInfo&), on_epoch(const EpochInfo&), "
                "evaluate(EpochInfo&), bool stop_requested()");
  static_assert(!has_on_step_member<D> || callable_on_step<D>,
                "minibatch callback: on_step must be callable as on_step(const StepInfo&)");
  static_assert(!has_on_epoch_member<D> || callable_on_epoch<D>,
                "minibatch callback: on_epoch must be callable as on_epoch(const EpochInfo&)");
  static_assert(!has_evaluate_member<D> || callable_evaluate<D>,
                "minibatch callback: evaluate must be callable as evaluate(EpochInfo&)");
  static_assert(!has_stop_member<D> || callable_stop<D>,
                "minibatch callback: stop_requested must be callable as stop_requested() and return bool");
}

template <class C>
void notify_step(C& c, const StepInfo& s) {
  if constexpr (callable_on_step<C>) c.on_step(s);
}
template <class C>
void notify_epoch(C& c, const EpochInfo& e) {
  if constexpr (callable_on_epoch<C>) c.on_epoch(e);
}
template <class C>
void run_evaluate(C& c, EpochInfo& e) {
  if constexpr (callable_evaluate<C>) c.evaluate(e);
}
template <class C>
bool asks_stop(C& c) {
  if constexpr (callable_stop<C>)
    return static_cast<bool>(c.stop_requested());
  else
    return false;
}

}  // namespace detail

template <std::invocable<const StepInfo&> F>
struct OnStep {
  F f;
  void on_step(const StepInfo& s) { f(s); }
};
template <std::invocable<const EpochInfo&> F>
struct OnEpoch {
  F f;
  void on_epoch(const EpochInfo& e) { f(e); }
};
template <std::predicate F>
struct StopWhen {
  F f;
  bool stop_requested() { return f(); }
};

template <class F>
OnStep<std::decay_t<F>> on_step(F&& f) {
  return {std::forward<F>(f)};
}
template <class F>
OnEpoch<std::decay_t<F>> on_epoch(F&& f) {
  return {std::forward<F>(f)};
}
template <class F>
StopWhen<std::decay_t<F>> stop_when(F&& f) {
  return {std::forward<F>(f)};
}

}  // namespace minibatch
