// ops<cpu>: the cpu backend's operations on tensor views — everything the generic layers
// (optimizers, models, the training loop) ask of a backend. ops<cuda> in
// <minibatch/backend/cuda/ops.cuh> has the same functions with the same meaning, except the
// weight gradient in parts (weight_grad_part*): on a GPU the gradient stays in device memory
// and one update launch over the flat buffer is faster than one per part.
//
// Optimizer updates are the single-loop reference kernels (a memory-bound update is one
// fused pass; the compiler vectorises it), except Adam's, RMSProp's and Adagrad's, whose
// square roots only vectorize as Eigen's packet math (adaptive.hpp). Matrix products are
// our register-blocked kernels on Eigen's packets (small batches unpacked, larger products
// packed, a narrow C computed as its wide transpose; Eigen's own GEMM for the rest of the
// narrow products), without heap allocation, on several OpenMP threads only when the
// product is large enough to gain from them (gemm.hpp). Row-wise work (bias + activation, losses, gathers) is the
// reference loop over each row.
// Conventions: gradients overwrite their output; losses are means over the batch and are
// written to a one-element tensor on the backend (so a device backend need not sync).
#pragma once

#include <cstdint>
#include <span>

#include "minibatch/backend/cpu/adaptive.hpp"
#include "minibatch/backend/cpu/eigen.hpp"
#include "minibatch/backend/cpu/gather.hpp"
#include "minibatch/backend/cpu/gemm.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/kernels/ref/accuracy.hpp"
#include "minibatch/kernels/ref/adaptive_update.hpp"
#include "minibatch/kernels/ref/activation.hpp"
#include "minibatch/kernels/ref/bias.hpp"
#include "minibatch/kernels/ref/gather.hpp"
#include "minibatch/kernels/ref/mse.hpp"
#include "minibatch/kernels/ref/norm.hpp"
#include "minibatch/kernels/ref/optim_update.hpp"
#include "minibatch/kernels/ref/sigmoid_xent.hpp"
#include "minibatch/kernels/ref/softmax_xent.hpp"
#include "minibatch/tensor/backend.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

using kernels::ref::Activation;

template <>
struct ops<cpu> {
  // ---- optimizer updates over flat buffers -------------------------------------------
  template <class T>
  static void gd_update(TensorView<T, cpu> theta, TensorView<const T, cpu> g, T lr) {
    kernels::ref::gd_update(theta.data(), g.data(), theta.size(), lr);
  }

  template <class T>
  static void momentum_update(TensorView<T, cpu> theta, TensorView<T, cpu> m, TensorView<const T, cpu> g, T lr,
                              T momentum, bool nesterov) {
    kernels::ref::momentum_update(theta.data(), m.data(), g.data(), theta.size(), lr, momentum, nesterov);
  }

  template <class T>
  static void momentum_update_torch(TensorView<T, cpu> theta, TensorView<T, cpu> v, TensorView<const T, cpu> g,
                                    T lr, T momentum, T dampening, bool nesterov, bool first_step) {
    kernels::ref::momentum_update_torch(theta.data(), v.data(), g.data(), theta.size(), lr, momentum, dampening,
                                        nesterov, first_step);
  }

  template <class T>
  static double l2_norm(TensorView<const T, cpu> x) {
    return kernels::ref::l2_norm(x.data(), x.size());
  }

  // ---- dense layers --------------------------------------------------------------------
  // C ← op(A)·op(B) + beta·C for rank-2 row-major views; op transposes when asked.
  // Register-blocked kernels with per-thread packing buffers (no heap allocation once warm) and a
  // thread count chosen by the product's size and measured speed; the same bits whatever
  // the thread count. See <minibatch/backend/cpu/gemm.hpp>.
  template <class T>
  static void gemm(TensorView<const T, cpu> a, bool trans_a, TensorView<const T, cpu> b, bool trans_b,
                   TensorView<T, cpu> c, T beta = T(0)) {
    cpu_backend::gemm(a, trans_a, b, trans_b, c, beta);
  }

  // ---- the first layer on a minibatch that is never copied ---------------------------------
  // gemm with op(A) = X[rows] (the rows of the data set X that a batch names, in its order)
  // or X[rows]ᵀ, read where X keeps them: the same bits as gemm on the gathered rows, without
  // the gather. Only when rows_in_place(batch, N) for the batch size and C's N columns (the
  // packed kernels: more than 16 rows and one register block of columns); Mlp takes a batch
  // this way when it can and SupervisedObjective gathers it otherwise.
  template <class T>
  static bool rows_in_place(index_t batch, index_t cols) {
    return cpu_backend::gathers_in_place<T>(static_cast<Eigen::Index>(batch), static_cast<Eigen::Index>(cols));
  }

  template <class T>
  static void gemm_rows(TensorView<const T, cpu> x, std::span<const index_t> rows, bool trans_x,
                        TensorView<const T, cpu> b, bool trans_b, TensorView<T, cpu> c, T beta = T(0)) {
    cpu_backend::gemm_rows(x, rows, trans_x, b, trans_b, c, beta);
  }

  // ---- the weight gradient in parts (an update fused into backward: Mlp::backward) ----------
  // When the small-batch kernel takes Xᵀ·D (X [n × fan_in], D [n × fan_out]: n ≤
  // small::max_small and fan_out ≥ one packet), backward can compute it weight_grad_part_rows
  // rows at a time into a buffer that stays in L1 and hand each block to the optimizer, instead
  // of writing the whole gradient to memory for the optimizer to read back.
  static constexpr index_t weight_grad_part_rows = 8;

  template <class T>
  static bool weight_grad_in_parts(index_t n, index_t fan_out) {
    return n >= 1 && n <= static_cast<index_t>(cpu_backend::small::max_small) &&
           fan_out >= static_cast<index_t>(cpu_backend::small::packet_size<T>);
  }

  // C[rows × N] ← (columns [first, first + rows) of X [n × K])ᵀ · D [n × N], the rows
  // [first, first + rows) of Xᵀ·D, with the bits gemm gives them; needs weight_grad_in_parts(n, N).
  template <class T>
  static void weight_grad_part(TensorView<const T, cpu> x, index_t first, TensorView<const T, cpu> d,
                               TensorView<T, cpu> c) {
    require<shape_error>(x.rank() == 2 && d.rank() == 2 && c.rank() == 2 && d.shape()[0] == x.shape()[0] &&
                             c.shape()[1] == d.shape()[1] && first <= x.shape()[1] &&
                             c.shape()[0] <= x.shape()[1] - first,
                         "weight_grad_part: rows ", first, " to ", first + (c.rank() == 2 ? c.shape()[0] : 0), " of ",
                         x.shape(), "ᵀ · ", d.shape(), " into ", c.shape());
    const index_t n = x.shape()[0], cols = d.shape()[1];
    require<shape_error>(weight_grad_in_parts<T>(n, cols), "weight_grad_part: ", x.shape(), "ᵀ · ", d.shape(),
                         " is not computed in parts (batch above ", cpu_backend::small::max_small,
                         " rows or fewer columns than a packet)");
    if (c.shape()[0] == 0) return;
    const auto ld = [](index_t v) { return static_cast<Eigen::Index>(v); };
    cpu_backend::small::small_inner_tn(x.data() + first, ld(x.shape()[1]), d.data(), ld(cols), c.data(), ld(cols),
                                       ld(c.shape()[0]), ld(cols), ld(n), T(0));
  }

  // y ← act(y + b) for every row of y [n × cols]; an empty b means no bias.
  template <class T>
  static void bias_activation_forward(TensorView<T, cpu> y, TensorView<const T, cpu> b, Activation act) {
    const index_t n = y.shape()[0], cols = y.shape()[1];
    for (index_t i = 0; i < n; ++i) {
      T* row = y.data() + i * cols;
      if (!b.empty()) kernels::ref::bias_add(row, b.data(), 1, cols);
      kernels::ref::activation_forward(act, row, row, cols);
    }
  }

  // dy ← dy ⊙ act′ in place, from the forward output y.
  template <class T>
  static void activation_backward(TensorView<const T, cpu> y, TensorView<T, cpu> dy, Activation act) {
    kernels::ref::activation_backward(act, y.data(), dy.data(), dy.data(), dy.size());
  }

  // db ← Σ over rows of dy [n × cols].
  template <class T>
  static void column_sums(TensorView<const T, cpu> dy, TensorView<T, cpu> db) {
    kernels::ref::bias_backward(dy.data(), db.data(), dy.shape()[0], dy.shape()[1]);
  }

  // ---- losses: loss[0] ← mean over rows, dout ← its gradient ---------------------------
  template <class T>
  static void softmax_xent(TensorView<const T, cpu> logits, TensorView<const std::int32_t, cpu> labels,
                           TensorView<T, cpu> dlogits, TensorView<T, cpu> loss) {
    loss[0] = kernels::ref::softmax_xent(logits.data(), labels.data(), dlogits.data(), logits.shape()[0],
                                         logits.shape()[1]);
  }
  template <class T>
  static void sigmoid_xent(TensorView<const T, cpu> logits, TensorView<const std::int32_t, cpu> labels,
                           TensorView<T, cpu> dlogits, TensorView<T, cpu> loss) {
    loss[0] = kernels::ref::sigmoid_xent(logits.data(), labels.data(), dlogits.data(), logits.shape()[0]);
  }
  template <class T>
  static void mse(TensorView<const T, cpu> pred, TensorView<const T, cpu> target, TensorView<T, cpu> dpred,
                  TensorView<T, cpu> loss) {
    loss[0] = kernels::ref::mse(pred.data(), target.data(), dpred.data(), pred.shape()[0], pred.size() / pred.shape()[0]);
  }

  // ---- data ------------------------------------------------------------------------------
  // dst row k ← src row idx[k]; idx lives on the host (device backends upload it).
  template <class T>
  static void gather_rows(TensorView<const T, cpu> src, std::span<const index_t> idx, TensorView<T, cpu> dst) {
    const index_t rows = src.shape()[0];
    const index_t cols = rows ? src.size() / rows : 0;
    cpu_backend::gather_rows(src.data(), rows, cols, idx.data(), idx.size(), dst.data());
  }

  // Number of rows of logits whose argmax equals the label.
  template <class T>
  static index_t count_correct(TensorView<const T, cpu> logits, TensorView<const std::int32_t, cpu> labels) {
    return kernels::ref::count_correct(logits.data(), labels.data(), logits.shape()[0], logits.shape()[1]);
  }

  // Reads a scalar (e.g. a loss) back to the host.
  template <class T>
  static T read(TensorView<const T, cpu> x, index_t i = 0) {
    return x[i];
  }

  // ---- adaptive and layer-wise optimizer updates (kernels/ref/adaptive_update.hpp) ----
  // The parameters are cut into slices [offsets[s], offsets[s+1]) (offsets: slices + 1
  // entries on the backend); wd and ratio hold one value per slice. State views that a
  // variant does not use (RMSProp's gbar when not centered, buf without momentum) are empty.
  template <class T>
  static void adagrad_update(TensorView<T, cpu> theta, TensorView<T, cpu> sum, TensorView<const T, cpu> g,
                             TensorView<const index_t, cpu> offsets, TensorView<const T, cpu> wd, T lr, T eps) {
    cpu_backend::adaptive::adagrad_update(theta.data(), sum.data(), g.data(), offsets.data(), wd.size(), wd.data(), lr,
                                          eps);
  }

  template <class T>
  static void rmsprop_update(TensorView<T, cpu> theta, TensorView<T, cpu> v, TensorView<T, cpu> gbar,
                             TensorView<T, cpu> buf, TensorView<const T, cpu> g, TensorView<const index_t, cpu> offsets,
                             TensorView<const T, cpu> wd, T lr, T alpha, T eps, T momentum) {
    cpu_backend::adaptive::rmsprop_update(theta.data(), v.data(), gbar.empty() ? nullptr : gbar.data(),
                                          buf.empty() ? nullptr : buf.data(), g.data(), offsets.data(), wd.size(),
                                          wd.data(), lr, alpha, eps, momentum);
  }

  // bias_correction1 = 1 − β₁ᵗ, bias_correction2 = 1 − β₂ᵗ; decoupled: AdamW's decay.
  template <class T>
  static void adam_update(TensorView<T, cpu> theta, TensorView<T, cpu> m, TensorView<T, cpu> v,
                          TensorView<const T, cpu> g, TensorView<const index_t, cpu> offsets, TensorView<const T, cpu> wd,
                          T lr, T beta1, T beta2, T eps, T bias_correction1, T bias_correction2, bool decoupled) {
    cpu_backend::adaptive::adam_update(theta.data(), m.data(), v.data(), g.data(), offsets.data(), wd.size(),
                                       wd.data(), lr, beta1, beta2, eps, bias_correction1, bias_correction2,
                                       decoupled);
  }

  // out[s] ← Σ x² over slice s, in double.
  template <class T>
  static void slice_sum_squares(TensorView<const T, cpu> x, TensorView<const index_t, cpu> offsets,
                                TensorView<double, cpu> out) {
    kernels::ref::slice_sum_squares(x.data(), offsets.data(), out.size(), out.data());
  }

  // out[s] ← ‖u‖² over slice s for the LAMB direction u of this step; writes no state.
  template <class T>
  static void lamb_direction_sum_squares(TensorView<const T, cpu> theta, TensorView<const T, cpu> m,
                                         TensorView<const T, cpu> v, TensorView<const T, cpu> g,
                                         TensorView<const index_t, cpu> offsets, TensorView<const T, cpu> wd, T beta1,
                                         T beta2, T eps, T bias_correction1, T bias_correction2,
                                         TensorView<double, cpu> out) {
    kernels::ref::lamb_direction_sum_squares(theta.data(), m.data(), v.data(), g.data(), offsets.data(), out.size(),
                                             wd.data(), beta1, beta2, eps, bias_correction1, bias_correction2,
                                             out.data());
  }

  template <class T>
  static void lamb_update(TensorView<T, cpu> theta, TensorView<T, cpu> m, TensorView<T, cpu> v,
                          TensorView<const T, cpu> g, TensorView<const index_t, cpu> offsets, TensorView<const T, cpu> wd,
                          TensorView<const T, cpu> ratio, T lr, T beta1, T beta2, T eps, T bias_correction1,
                          T bias_correction2) {
    kernels::ref::lamb_update(theta.data(), m.data(), v.data(), g.data(), offsets.data(), wd.size(), wd.data(),
                              ratio.data(), lr, beta1, beta2, eps, bias_correction1, bias_correction2);
  }

  template <class T>
  static void lars_update(TensorView<T, cpu> theta, TensorView<T, cpu> m, TensorView<const T, cpu> g,
                          TensorView<const index_t, cpu> offsets, TensorView<const T, cpu> wd,
                          TensorView<const T, cpu> ratio, T lr, T momentum) {
    kernels::ref::lars_update(theta.data(), m.data(), g.data(), offsets.data(), wd.size(), wd.data(), ratio.data(), lr,
                              momentum);
  }

  // x ← factor·x (gradient clipping).
  template <class T>
  static void scale(TensorView<T, cpu> x, T factor) {
    kernels::ref::scale(x.data(), x.size(), factor);
  }
};

}  // namespace minibatch
