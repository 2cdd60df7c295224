// Adam<T, Backend> and AdamW<T, Backend>: bias-corrected moment estimates (Kingma & Ba
// 2015), exactly torch.optim.Adam and torch.optim.AdamW (η = lr, m⁰ = v⁰ = 0, t = 1, 2, …):
//
//     Adam  (coupled weight decay):      g ← g + weight_decay·θ
//     AdamW (decoupled, Loshchilov & Hutter 2019):  θ ← θ − η·weight_decay·θ
//     m ← β₁·m + (1 − β₁)·g
//     v ← β₂·v + (1 − β₂)·g²
//     m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
//     θ ← θ − η·m̂ / (√v̂ + eps)
//
// The two differ only in where the decay enters: Adam's goes through the moments (so it is
// divided by √v̂ like the gradient), AdamW's shrinks θ directly by η·weight_decay. With
// weight_decay = 0 they are the same update. Weight decay is masked per slice
// (weight_decay_mask, e.g. SliceMask::min_rank(2) to spare biases). Defaults are
// PyTorch's: AdamW decays by 0.01, Adam not at all.
//
// State: m and v shaped like the parameters, allocated on the first step; every later
// step allocates nothing and is one fused pass (ops<B>::adam_update). On the cpu the step
// also comes in parts (step_in_parts, an update fused into backward), with the same bits.
// A state entry below the smallest normal number (2⁻¹²⁶ in float) is stored as 0, so
// a parameter whose gradient stops does not leave it decaying through subnormal floats, which
// cost a microcode assist per operation on x86 (kernels/subnormal.hpp).
#pragma once

#include <cmath>
#include <concepts>
#include <type_traits>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/optimizer_base.hpp"
#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/slice_mask.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

template <class T>
struct AdamOptions {
  T lr = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T eps = T(1e-8);
  T weight_decay = T(0);
  SliceMask weight_decay_mask = {};  // slices that get weight decay (default: all)
};

template <class T>
struct AdamWOptions {
  T lr = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T eps = T(1e-8);
  T weight_decay = T(1e-2);
  SliceMask weight_decay_mask = {};
};

namespace detail {

// 1 − βᵗ, computed in double as PyTorch does.
template <class T>
T bias_correction(T beta, index_t t) {
  return static_cast<T>(1.0 - std::pow(static_cast<double>(beta), static_cast<double>(t)));
}

template <class T, Backend B, bool Decoupled>
class AdamBase : public OptimizerBase<AdamBase<T, B, Decoupled>, T, B,
                                      std::conditional_t<Decoupled, AdamWOptions<T>, AdamOptions<T>>> {
  using Base = OptimizerBase<AdamBase<T, B, Decoupled>, T, B,
                             std::conditional_t<Decoupled, AdamWOptions<T>, AdamOptions<T>>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = true;
  static constexpr bool steps_in_parts = std::same_as<B, cpu>;  // (the slice table is read on the host)
  static constexpr const char* name() { return Decoupled ? "AdamW" : "Adam"; }
  static constexpr bool decoupled_weight_decay = Decoupled;

  explicit AdamBase(Options options = {}) : Base(std::move(options)) {
    check_unit_interval(options_.beta1, name(), "beta1");
    check_unit_interval(options_.beta2, name(), "beta2");
    check_positive(options_.eps, name(), "eps");
    check_nonnegative(options_.weight_decay, name(), "weight_decay");
  }


  // The first and second moments m and v (not bias-corrected); empty before the first step.
  const Tensor<T, B>& exp_avg() const noexcept { return m_; }
  const Tensor<T, B>& exp_avg_sq() const noexcept { return v_; }

  // Forgets the state: the next step is step 1 again, from m = v = 0.
  void reset() {
    m_ = Tensor<T, B>();
    v_ = Tensor<T, B>();
    slices_.reset();
    steps_ = 0;
  }

 private:
  using Base::options_;
  using Base::steps_;

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "Adam" or "AdamW", tensors "exp_avg" (m), "exp_avg_sq" (v).
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {name(), &self.steps_, {{"exp_avg", &self.m_, true}, {"exp_avg_sq", &self.v_, true}}};
  }

  static constexpr const char* step_name() { return Decoupled ? "AdamW::step" : "Adam::step"; }

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout* layout) {
    check_step_args(params, grads, step_name());
    prepare(params, layout);
    const index_t t = steps_ + 1;
    ops<B>::adam_update(params, m_.view(), v_.view(), grads, slices_.offsets(), slices_.weight_decay(), options_.lr,
                        options_.beta1, options_.beta2, options_.eps, bias_correction(options_.beta1, t),
                        bias_correction(options_.beta2, t), Decoupled);
    ++steps_;
  }

  void prepare(TensorView<T, B> params, const ParamLayout* layout) {
    slices_.build_or_check(layout, params.shape(), options_.weight_decay, options_.weight_decay_mask, nullptr,
                           step_name());
    if (m_.empty()) {
      m_ = Tensor<T, B>(Shape{params.size()});
      v_ = Tensor<T, B>(Shape{params.size()});
    }
  }

  // step_in_parts: the parameters as one unnamed slice, as step(TensorView) sees them.
  void prepare_step(TensorView<T, B> params) { prepare(params, nullptr); }
  void update_part(TensorView<T, B> params, TensorView<const T, B> part, index_t offset) {
    const index_t t = steps_ + 1;
    slices_.for_each_piece(offset, part.size(), [&](index_t begin, index_t end, auto offsets, auto wd) {
      const Shape s{end - begin};
      ops<B>::adam_update(TensorView<T, B>(params.data() + begin, s), TensorView<T, B>(m_.data() + begin, s),
                          TensorView<T, B>(v_.data() + begin, s), TensorView<const T, B>(part.data() + (begin - offset), s),
                          offsets, wd, options_.lr, options_.beta1, options_.beta2, options_.eps,
                          bias_correction(options_.beta1, t), bias_correction(options_.beta2, t), Decoupled);
    });
  }

  Tensor<T, B> m_, v_;
  SliceTable<T, B> slices_;
};

}  // namespace detail

template <class T, Backend B = cpu>
class Adam : public detail::AdamBase<T, B, false> {
 public:
  using detail::AdamBase<T, B, false>::AdamBase;
};

template <class T, Backend B = cpu>
class AdamW : public detail::AdamBase<T, B, true> {
 public:
  using detail::AdamBase<T, B, true>::AdamBase;
};

}  // namespace minibatch
