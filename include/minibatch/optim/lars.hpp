// LARS<T, Backend>: layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017), in the
// paper's momentum form, which is the lecture's. For every slice s of the parameters (one
// layer's weights or biases), with γ = lr, μ = momentum, β = weight_decay, η = trust_coefficient:
//
//     λ_s = η·‖w_s‖ / (‖g_s‖ + β·‖w_s‖)        (λ_s = 1 when ‖w_s‖ = 0 or ‖g_s‖ = 0, or
//                                                when trust_ratio_mask excludes s)
//     m_s ← μ·m_s − γ·λ_s·(g_s + β·w_s)
//     w_s ← w_s + m_s
//
// λ_s makes every layer move by about γ·η·‖w_s‖ per step, whatever the scale of its
// gradient: that is what keeps a large batch (large γ) stable. The norms are taken before
// the step, from w and the raw gradient. weight_decay_mask excludes slices from the decay
// (β = 0 there, in λ_s too); the usual choice spares biases: SliceMask::min_rank(2) for both.
// With every slice excluded from the trust ratio and weight_decay = 0 this is exactly
// Momentum in the lecture form (m ← μ·m − γ·g; θ ← θ + m).
//
// On a TensorView the whole buffer is one slice; on a ParamBuffer (or with a ParamLayout)
// each named slice gets its own λ. PyTorch has no LARS.
//
// Per step: one pass for the per-slice norms ‖w_s‖², ‖g_s‖² (ops<B>::slice_sum_squares),
// then one fused pass over the flat buffer (ops<B>::lars_update). State: m shaped like the
// parameters and the slice table, allocated on the first step.
// A state entry below the smallest normal number (2⁻¹²⁶ in float) is stored as 0, so
// a parameter whose gradient stops does not leave it decaying through subnormal floats, which
// cost a microcode assist per operation on x86 (kernels/subnormal.hpp).
#pragma once

#include <cmath>
#include <vector>

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
struct LARSOptions {
  T lr = T(1);  // γ: with η = 0.001, each layer moves by about 0.1% of its norm per step
  T momentum = T(0.9);
  T weight_decay = T(0);
  T trust_coefficient = T(0.001);
  SliceMask weight_decay_mask = {};  // slices that get weight decay (default: all)
  SliceMask trust_ratio_mask = {};   // slices scaled by λ_s (default: all; others λ_s = 1)
};

template <class T, Backend B = cpu>
class LARS : public detail::OptimizerBase<LARS<T, B>, T, B, LARSOptions<T>> {
  using Base = detail::OptimizerBase<LARS<T, B>, T, B, LARSOptions<T>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = true;
  static constexpr const char* name() { return "LARS"; }

  explicit LARS(Options options = {}) : Base(std::move(options)) {
    detail::check_unit_interval(options_.momentum, "LARS", "momentum");
    detail::check_nonnegative(options_.weight_decay, "LARS", "weight_decay");
    detail::check_positive(options_.trust_coefficient, "LARS", "trust_coefficient");
  }


  // The velocity m; empty before the first step.
  const Tensor<T, B>& velocity() const noexcept { return velocity_; }
  // λ_s of the last step, one per slice (host memory); empty before the first step.
  const std::vector<T>& trust_ratios() const noexcept { return slices_.host_ratios(); }

  // Forgets the state: the next step starts from m = 0 and may see other parameters.
  void reset() {
    velocity_ = Tensor<T, B>();
    slices_.reset();
    steps_ = 0;
  }

 private:
  using Base::options_;
  using Base::steps_;

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "LARS", tensor "velocity" (the trust ratios are recomputed every step).
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {"LARS", &self.steps_, {{"velocity", &self.velocity_, true}}};
  }

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout* layout) {
    detail::check_step_args(params, grads, "LARS::step");
    slices_.build_or_check(layout, params.shape(), options_.weight_decay, options_.weight_decay_mask,
                           &options_.trust_ratio_mask, "LARS::step");
    if (velocity_.empty()) velocity_ = Tensor<T, B>(Shape{params.size()});

    ops<B>::slice_sum_squares(TensorView<const T, B>(params), slices_.offsets(), slices_.w_sq());
    ops<B>::slice_sum_squares(grads, slices_.offsets(), slices_.d_sq());
    slices_.read_norms();
    std::vector<T>& ratio = slices_.host_ratios();
    for (index_t s = 0; s < slices_.count(); ++s) {
      const double w = std::sqrt(slices_.w_sq(s)), g = std::sqrt(slices_.d_sq(s));
      const double beta = static_cast<double>(slices_.weight_decay(s));
      const bool trusted = slices_.trust_applies(s) && w > 0.0 && g > 0.0;
      ratio[s] = trusted ? static_cast<T>(static_cast<double>(options_.trust_coefficient) * w / (g + beta * w)) : T(1);
    }
    ops<B>::lars_update(params, velocity_.view(), grads, slices_.offsets(), slices_.weight_decay(),
                        slices_.upload_ratios(), options_.lr, options_.momentum);
    ++steps_;
  }

  Tensor<T, B> velocity_;
  detail::SliceTable<T, B> slices_;
};

}  // namespace minibatch
