// Learning-rate schedules: plain value types, each a function of the step t,
//
//     double operator()(index_t t) const         t = updates made so far (0 before the first)
//
// copied by value, no std::function and no state. A schedule is applied by whoever runs the
// steps: `opt.set_lr(T(schedule(opt.steps())))` before each step, or apply_schedule(opt, s).
//
//   ConstantSchedule(v)              v
//   StepDecay(base, step_size, γ)    base·γ^⌊t / step_size⌋                (torch StepLR)
//   CosineDecay(base, T, final = 0)  final + (base − final)·(1 + cos(π·min(t, T)/T))/2
//                                    (torch CosineAnnealingLR up to T, then held at final)
//   InverseTimeDecay(base, k)        base / (1 + k·t)                      (Adagrad's lr_decay)
//   LinearWarmup(start, end, W)      start + (end − start)·min(t, W)/W     (end from t = W on)
//   join_schedules(a, n, b)          a(t) for t < n, then b(t − n)         (b restarts at 0)
//   warmup_then(warmup, b)           join_schedules(warmup, W, b)
//
//   linear_scaling_rule(base_lr, B, base_batch = 256) = base_lr·B/base_batch   (Goyal et al.
//   2017: the lr for batch size B when base_lr was tuned at base_batch)
//
// Goyal et al.'s large-batch recipe is then, with E steps per epoch:
//   warmup_then(LinearWarmup(0.1, lr, 5 * E), StepDecay(lr, 30 * E, 0.1)),
//   lr = linear_scaling_rule(0.1, batch_size).
#pragma once

#include <cmath>
#include <concepts>
#include <numbers>
#include <utility>

#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"

namespace minibatch {

template <class S>
concept Schedule = std::copy_constructible<S> && requires(const S& s, index_t t) {
  { s(t) } -> std::convertible_to<double>;
};

namespace detail {
inline void check_schedule_value(double v, const char* who, const char* name) {
  require<value_error>(std::isfinite(v) && v >= 0.0, who, ": ", name, " must be finite and >= 0, got ", name, " = ",
                       v);
}
inline void check_schedule_steps(index_t n, const char* who, const char* name) {
  require<value_error>(n > 0, who, ": ", name, " must be > 0, got ", name, " = ", n);
}
}  // namespace detail

class ConstantSchedule {
 public:
  explicit ConstantSchedule(double value) : value_(value) {
    detail::check_schedule_value(value, "ConstantSchedule", "value");
  }
  double operator()(index_t) const noexcept { return value_; }

 private:
  double value_;
};

class StepDecay {
 public:
  StepDecay(double base, index_t step_size, double gamma) : base_(base), step_size_(step_size), gamma_(gamma) {
    detail::check_schedule_value(base, "StepDecay", "base");
    detail::check_schedule_steps(step_size, "StepDecay", "step_size");
    detail::check_schedule_value(gamma, "StepDecay", "gamma");
  }
  double operator()(index_t t) const { return base_ * std::pow(gamma_, static_cast<double>(t / step_size_)); }

 private:
  double base_;
  index_t step_size_;
  double gamma_;
};

class CosineDecay {
 public:
  CosineDecay(double base, index_t decay_steps, double final_value = 0.0)
      : base_(base), decay_steps_(decay_steps), final_(final_value) {
    detail::check_schedule_value(base, "CosineDecay", "base");
    detail::check_schedule_steps(decay_steps, "CosineDecay", "decay_steps");
    detail::check_schedule_value(final_value, "CosineDecay", "final_value");
  }
  double operator()(index_t t) const {
    const double progress = static_cast<double>(t < decay_steps_ ? t : decay_steps_) / static_cast<double>(decay_steps_);
    return final_ + (base_ - final_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }

 private:
  double base_;
  index_t decay_steps_;
  double final_;
};

class InverseTimeDecay {
 public:
  InverseTimeDecay(double base, double decay) : base_(base), decay_(decay) {
    detail::check_schedule_value(base, "InverseTimeDecay", "base");
    detail::check_schedule_value(decay, "InverseTimeDecay", "decay");
  }
  double operator()(index_t t) const noexcept { return base_ / (1.0 + decay_ * static_cast<double>(t)); }

 private:
  double base_, decay_;
};

class LinearWarmup {
 public:
  LinearWarmup(double start, double end, index_t warmup_steps) : start_(start), end_(end), steps_(warmup_steps) {
    detail::check_schedule_value(start, "LinearWarmup", "start");
    detail::check_schedule_value(end, "LinearWarmup", "end");
    detail::check_schedule_steps(warmup_steps, "LinearWarmup", "warmup_steps");
  }
  double operator()(index_t t) const noexcept {
    if (t >= steps_) return end_;
    return start_ + (end_ - start_) * static_cast<double>(t) / static_cast<double>(steps_);
  }
  index_t warmup_steps() const noexcept { return steps_; }

 private:
  double start_, end_;
  index_t steps_;
};

// first(t) for t < boundary, then second(t − boundary).
template <Schedule First, Schedule Second>
class JoinedSchedule {
 public:
  JoinedSchedule(First first, index_t boundary, Second second)
      : first_(std::move(first)), boundary_(boundary), second_(std::move(second)) {}
  double operator()(index_t t) const {
    return t < boundary_ ? static_cast<double>(first_(t)) : static_cast<double>(second_(t - boundary_));
  }

 private:
  First first_;
  index_t boundary_;
  Second second_;
};

template <Schedule First, Schedule Second>
JoinedSchedule<First, Second> join_schedules(First first, index_t boundary, Second second) {
  return {std::move(first), boundary, std::move(second)};
}

template <Schedule After>
JoinedSchedule<LinearWarmup, After> warmup_then(LinearWarmup warmup, After after) {
  const index_t boundary = warmup.warmup_steps();
  return {std::move(warmup), boundary, std::move(after)};
}

inline double linear_scaling_rule(double base_lr, index_t batch_size, index_t base_batch = 256) {
  detail::check_schedule_value(base_lr, "linear_scaling_rule", "base_lr");
  detail::check_schedule_steps(batch_size, "linear_scaling_rule", "batch_size");
  detail::check_schedule_steps(base_batch, "linear_scaling_rule", "base_batch");
  return base_lr * static_cast<double>(batch_size) / static_cast<double>(base_batch);
}

// Sets the optimizer's lr for its next step: opt.set_lr(schedule(opt.steps())).
template <class Optimizer, Schedule S>
void apply_schedule(Optimizer& opt, const S& schedule) {
  opt.set_lr(static_cast<typename Optimizer::value_type>(schedule(opt.steps())));
}

}  // namespace minibatch
