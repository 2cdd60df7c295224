// LAMB<T, Backend>: layer-wise adaptive moments for large batches (You et al. 2019): the
// AdamW direction, rescaled per slice so that every layer moves by about η·‖w_s‖.
// With η = lr, t = 1, 2, …, m⁰ = v⁰ = 0, λ = weight_decay:
//
//     m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²
//     u = (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + eps) + λ·w        (decoupled decay)
//     r_s = ‖w_s‖ / ‖u_s‖      (r_s = 1 when ‖w_s‖ = 0 or ‖u_s‖ = 0, or when
//                               trust_ratio_mask excludes s)
//     w_s ← w_s − η·r_s·u_s
//
// With every slice excluded from the trust ratio (r_s = 1) this is AdamW:
// w − η·(Adam direction) − η·λ·w. weight_decay_mask excludes slices from the decay (the
// usual choice spares biases: SliceMask::min_rank(2), for the trust ratio too).
// Defaults follow the common implementations (NVIDIA apex, timm): eps = 1e-6,
// weight_decay = 0.01. On a TensorView the whole buffer is one slice. PyTorch has no LAMB.
//
// Per step: one pass for the per-slice norms ‖w_s‖², ‖u_s‖² (ops<B>::slice_sum_squares,
// ops<B>::lamb_direction_sum_squares, which recomputes u from the old state and writes
// nothing), then one fused pass over the flat buffer (ops<B>::lamb_update). State: m, v
// and the slice table, allocated on the first step.
// A state entry below the smallest normal number (2⁻¹²⁶ in float) is stored as 0, so
// a parameter whose gradient stops does not leave it decaying through subnormal floats, which
// cost a microcode assist per operation on x86 (kernels/subnormal.hpp).
#pragma once

#include <cmath>
#include <vector>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/optim/adam.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/optimizer_base.hpp"
#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/slice_mask.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

template <class T>
struct LAMBOptions {
  T lr = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T eps = T(1e-6);
  T weight_decay = T(0.01);
  SliceMask weight_decay_mask = {};  // slices that get weight decay (default: all)
  SliceMask trust_ratio_mask = {};   // slices scaled by r_s (default: all; others r_s = 1)
};

template <class T, Backend B = cpu>
class LAMB : public detail::OptimizerBase<LAMB<T, B>, T, B, LAMBOptions<T>> {
  using Base = detail::OptimizerBase<LAMB<T, B>, T, B, LAMBOptions<T>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = true;
  static constexpr const char* name() { return "LAMB"; }

  explicit LAMB(Options options = {}) : Base(std::move(options)) {
    detail::check_unit_interval(options_.beta1, "LAMB", "beta1");
    detail::check_unit_interval(options_.beta2, "LAMB", "beta2");
    detail::check_positive(options_.eps, "LAMB", "eps");
    detail::check_nonnegative(options_.weight_decay, "LAMB", "weight_decay");
  }


  // The moments m and v (not bias-corrected); empty before the first step.
  const Tensor<T, B>& exp_avg() const noexcept { return m_; }
  const Tensor<T, B>& exp_avg_sq() const noexcept { return v_; }
  // r_s of the last step, one per slice (host memory); empty before the first step.
  const std::vector<T>& trust_ratios() const noexcept { return slices_.host_ratios(); }

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

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "LAMB", tensors "exp_avg" (m), "exp_avg_sq" (v).
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {"LAMB", &self.steps_, {{"exp_avg", &self.m_, true}, {"exp_avg_sq", &self.v_, true}}};
  }

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout* layout) {
    detail::check_step_args(params, grads, "LAMB::step");
    slices_.build_or_check(layout, params.shape(), options_.weight_decay, options_.weight_decay_mask,
                           &options_.trust_ratio_mask, "LAMB::step");
    if (m_.empty()) {
      m_ = Tensor<T, B>(Shape{params.size()});
      v_ = Tensor<T, B>(Shape{params.size()});
    }
    const index_t t = steps_ + 1;
    const T bc1 = detail::bias_correction(options_.beta1, t), bc2 = detail::bias_correction(options_.beta2, t);

    ops<B>::slice_sum_squares(TensorView<const T, B>(params), slices_.offsets(), slices_.w_sq());
    ops<B>::lamb_direction_sum_squares(TensorView<const T, B>(params), TensorView<const T, B>(m_.view()),
                                       TensorView<const T, B>(v_.view()), grads, slices_.offsets(),
                                       slices_.weight_decay(), options_.beta1, options_.beta2, options_.eps, bc1, bc2,
                                       slices_.d_sq());
    slices_.read_norms();
    std::vector<T>& ratio = slices_.host_ratios();
    for (index_t s = 0; s < slices_.count(); ++s) {
      const double w = std::sqrt(slices_.w_sq(s)), u = std::sqrt(slices_.d_sq(s));
      const bool trusted = slices_.trust_applies(s) && w > 0.0 && u > 0.0;
      ratio[s] = trusted ? static_cast<T>(w / u) : T(1);
    }
    ops<B>::lamb_update(params, m_.view(), v_.view(), grads, slices_.offsets(), slices_.weight_decay(),
                        slices_.upload_ratios(), options_.lr, options_.beta1, options_.beta2, options_.eps, bc1, bc2);
    ++steps_;
  }

  Tensor<T, B> m_, v_;
  detail::SliceTable<T, B> slices_;
};

}  // namespace minibatch
