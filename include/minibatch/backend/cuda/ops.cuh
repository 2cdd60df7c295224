// ops<cuda>: the cuda backend's operations on device tensor views — the same functions
// with the same meaning as ops<cpu> (backend/cpu/ops.hpp), so the generic optimizers,
// models and training loop run unchanged on Tensor<T, cuda>.
//
// Everything is queued on the current device's context stream (backend/cuda/context.cuh)
// and returns at once; only the functions that hand a value to the host wait: l2_norm,
// count_correct and read. Losses are written to a one-element DEVICE tensor, so a training
// step needs no synchronisation; read(loss) fetches it when someone asks. Matrix products
// are cuBLAS (FP32/FP64, no TF32), row-major handled by operand order; the rest are the
// fused kernels of kernels/cuda/. Conventions as on the cpu: gradients overwrite their
// output; losses are means over the batch; their gradients carry the 1/n.
//
// The adaptive and layer-wise updates take the slice table of the optimizer (offsets,
// per-slice weight decay and trust ratios) as device tensors, as on the cpu.
//
// Where the cpu checks data it can see, so do we when the data is on the host (gemm
// shapes, gather indices, empty batches). Labels live on the device and are not checked:
// a bad label gives a NaN loss (softmax_xent, sigmoid_xent) or never counts as correct
// (count_correct), where the cpu throws index_error. The workspace, result cell and index
// buffer are shared by every op of a device, in stream order.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include <cublas_v2.h>

#include "minibatch/backend/cuda/context.cuh"
#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/backend/cuda/memory.cuh"
#include "minibatch/core/error.hpp"
#include "minibatch/kernels/cuda/accuracy.cuh"
#include "minibatch/kernels/cuda/activation.cuh"
#include "minibatch/kernels/cuda/adaptive_update.cuh"
#include "minibatch/kernels/cuda/bias.cuh"
#include "minibatch/kernels/cuda/gather.cuh"
#include "minibatch/kernels/cuda/mse.cuh"
#include "minibatch/kernels/cuda/norm.cuh"
#include "minibatch/kernels/cuda/optim_update.cuh"
#include "minibatch/kernels/cuda/sigmoid_xent.cuh"
#include "minibatch/kernels/cuda/softmax_xent.cuh"
#include "minibatch/kernels/ref/activation.hpp"
#include "minibatch/tensor/backend.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

using kernels::ref::Activation;

template <>
struct ops<cuda> {
  // ---- optimizer updates over flat buffers: one launch each --------------------------
  template <class T>
  static void gd_update(TensorView<T, cuda> theta, TensorView<const T, cuda> g, T lr) {
    kernels::cuda::gd_update(theta.data(), g.data(), theta.size(), lr, stream());
  }

  template <class T>
  static void momentum_update(TensorView<T, cuda> theta, TensorView<T, cuda> m, TensorView<const T, cuda> g, T lr,
                              T momentum, bool nesterov) {
    kernels::cuda::momentum_update(theta.data(), m.data(), g.data(), theta.size(), lr, momentum, nesterov, stream());
  }

  template <class T>
  static void momentum_update_torch(TensorView<T, cuda> theta, TensorView<T, cuda> v, TensorView<const T, cuda> g,
                                    T lr, T momentum, T dampening, bool nesterov, bool first_step) {
    kernels::cuda::momentum_update_torch(theta.data(), v.data(), g.data(), theta.size(), lr, momentum, dampening,
                                         nesterov, first_step, stream());
  }

  // ‖x‖₂ accumulated in double; waits for the result.
  template <class T>
  static double l2_norm(TensorView<const T, cuda> x) {
    auto& ctx = cuda_backend::context();
    double* out = ctx.result_cell<double>();
    kernels::cuda::l2_norm(x.data(), x.size(), out, ctx.reduce_workspace(), ctx.stream());
    return ctx.read(out);
  }

  // ---- dense layers --------------------------------------------------------------------
  // C ← op(A)·op(B) + beta·C for rank-2 row-major views; op transposes when asked.
  // cuBLAS is column-major, and a row-major X is the column-major Xᵀ, so it computes
  // Cᵀ = op(B)ᵀ·op(A)ᵀ: B and A swap places and keep their own transpose flags.
  template <class T>
  static void gemm(TensorView<const T, cuda> a, bool trans_a, TensorView<const T, cuda> b, bool trans_b,
                   TensorView<T, cuda> c, T beta = T(0)) {
    static_assert(std::same_as<T, float> || std::same_as<T, double>, "ops<cuda>::gemm: float or double only");
    require<shape_error>(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, "gemm: expected rank-2 tensors, got ",
                         a.shape(), ", ", b.shape(), " and ", c.shape());
    const index_t a_rows = a.shape()[0], a_cols = a.shape()[1], b_rows = b.shape()[0], b_cols = b.shape()[1];
    const index_t rows = trans_a ? a_cols : a_rows;
    const index_t inner = trans_a ? a_rows : a_cols;
    const index_t inner_b = trans_b ? b_cols : b_rows;
    const index_t cols = trans_b ? b_rows : b_cols;
    require<shape_error>(inner == inner_b && c.shape()[0] == rows && c.shape()[1] == cols, "gemm: cannot multiply ",
                         a.shape(), trans_a ? "ᵀ" : "", " by ", b.shape(), trans_b ? "ᵀ" : "", " into ", c.shape());
    if (c.empty()) return;
    auto& ctx = cuda_backend::context();
    const cublasHandle_t handle = ctx.cublas();
    if (inner == 0) {  // op(A)·op(B) is all zeros: C ← beta·C
      if (beta == T(0)) {
        MINIBATCH_CUDA_CHECK(cudaMemsetAsync(c.data(), 0, c.size() * sizeof(T), ctx.stream()));
      } else if constexpr (std::same_as<T, float>) {
        MINIBATCH_CUDA_CHECK(cublasSscal_64(handle, static_cast<std::int64_t>(c.size()), &beta, c.data(), 1));
      } else {
        MINIBATCH_CUDA_CHECK(cublasDscal_64(handle, static_cast<std::int64_t>(c.size()), &beta, c.data(), 1));
      }
      return;
    }
    const T alpha = T(1);
    const auto m = static_cast<std::int64_t>(cols), n = static_cast<std::int64_t>(rows),
               k = static_cast<std::int64_t>(inner);
    const auto ldb = static_cast<std::int64_t>(b_cols), lda = static_cast<std::int64_t>(a_cols);
    const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    if constexpr (std::same_as<T, float>) {
      MINIBATCH_CUDA_CHECK(cublasSgemm_64(handle, op_b, op_a, m, n, k, &alpha, b.data(), ldb, a.data(), lda, &beta,
                                          c.data(), m));
    } else {
      MINIBATCH_CUDA_CHECK(cublasDgemm_64(handle, op_b, op_a, m, n, k, &alpha, b.data(), ldb, a.data(), lda, &beta,
                                          c.data(), m));
    }
  }

  // y ← act(y + b) for every row of y [n × cols]; an empty b means no bias.
  template <class T>
  static void bias_activation_forward(TensorView<T, cuda> y, TensorView<const T, cuda> b, Activation act) {
    require<shape_error>(y.rank() == 2, "bias_activation_forward: expected a rank-2 y, got ", y.shape());
    require<shape_error>(b.empty() || b.size() == y.shape()[1], "bias_activation_forward: bias of shape ", b.shape(),
                         " for rows of ", y.shape()[1], " columns");
    kernels::cuda::bias_activation_forward(y.data(), b.empty() ? nullptr : b.data(), y.shape()[0], y.shape()[1], act,
                                           stream());
  }

  // dy ← dy ⊙ act′ in place, from the forward output y.
  template <class T>
  static void activation_backward(TensorView<const T, cuda> y, TensorView<T, cuda> dy, Activation act) {
    require_same_shape(y, dy, "activation_backward");
    kernels::cuda::activation_backward(y.data(), dy.data(), dy.data(), dy.size(), act, stream());
  }

  // db ← Σ over rows of dy [n × cols].
  template <class T>
  static void column_sums(TensorView<const T, cuda> dy, TensorView<T, cuda> db) {
    require<shape_error>(dy.rank() == 2 && db.size() == dy.shape()[1], "column_sums: cannot sum ", dy.shape(),
                         " into ", db.shape());
    auto& ctx = cuda_backend::context();
    kernels::cuda::column_sums(dy.data(), db.data(), dy.shape()[0], dy.shape()[1], ctx.reduce_workspace(),
                               cuda_backend::Context::reduce_workspace_size, ctx.stream());
  }

  // ---- losses: loss[0] ← mean over rows (on the device), dout ← its gradient -----------
  template <class T>
  static void softmax_xent(TensorView<const T, cuda> logits, TensorView<const std::int32_t, cuda> labels,
                           TensorView<T, cuda> dlogits, TensorView<T, cuda> loss) {
    require<shape_error>(logits.rank() == 2, "softmax_xent: expected rank-2 logits, got ", logits.shape());
    const index_t n = logits.shape()[0], classes = logits.shape()[1];
    require<shape_error>(n > 0, "softmax_xent: empty batch (n = 0), the mean loss is undefined");
    require<shape_error>(classes > 0, "softmax_xent: classes = 0, a row needs at least one logit");
    check_loss_args(labels.size() == n, dlogits, logits.size(), loss, "softmax_xent");
    auto& ctx = cuda_backend::context();
    kernels::cuda::softmax_xent(logits.data(), labels.data(), dlogits.empty() ? nullptr : dlogits.data(), loss.data(),
                                n, classes, ctx.reduce_workspace(), ctx.stream());
  }
  template <class T>
  static void sigmoid_xent(TensorView<const T, cuda> logits, TensorView<const std::int32_t, cuda> labels,
                           TensorView<T, cuda> dlogits, TensorView<T, cuda> loss) {
    require<shape_error>(logits.rank() >= 1, "sigmoid_xent: logits have no leading axis, shape ", logits.shape());
    const index_t n = logits.shape()[0];
    require<shape_error>(n > 0, "sigmoid_xent: empty batch (n = 0), the mean loss is undefined");
    check_loss_args(labels.size() >= n, dlogits, n, loss, "sigmoid_xent");
    auto& ctx = cuda_backend::context();
    kernels::cuda::sigmoid_xent(logits.data(), labels.data(), dlogits.empty() ? nullptr : dlogits.data(), loss.data(),
                                n, ctx.reduce_workspace(), ctx.stream());
  }
  template <class T>
  static void mse(TensorView<const T, cuda> pred, TensorView<const T, cuda> target, TensorView<T, cuda> dpred,
                  TensorView<T, cuda> loss) {
    require<shape_error>(pred.rank() >= 1, "mse: predictions have no leading axis, shape ", pred.shape());
    const index_t n = pred.shape()[0];
    require<shape_error>(n > 0, "mse: empty batch (n = 0), the mean loss is undefined");
    check_loss_args(target.size() == pred.size(), dpred, pred.size(), loss, "mse");
    auto& ctx = cuda_backend::context();
    kernels::cuda::mse(pred.data(), target.data(), dpred.empty() ? nullptr : dpred.data(), loss.data(), n,
                       pred.size() / n, ctx.reduce_workspace(), ctx.stream());
  }

  // ---- data ------------------------------------------------------------------------------
  // dst row k ← src row idx[k]. idx lives on the host: it is checked there (index_error,
  // as the reference) and uploaded through a pinned staging buffer, asynchronously.
  template <class T>
  static void gather_rows(TensorView<const T, cuda> src, std::span<const index_t> idx, TensorView<T, cuda> dst) {
    const index_t rows = src.rank() ? src.shape()[0] : 0;
    const index_t cols = rows ? src.size() / rows : 0;
    require<shape_error>(dst.size() == idx.size() * cols, "gather_rows: ", idx.size(), " rows of ", cols,
                         " elements do not fill dst of shape ", dst.shape());
    for (index_t k = 0; k < idx.size(); ++k)
      require<index_error>(idx[k] < rows, "gather_rows: idx[", k, "] = ", idx[k], " is out of range for ", rows,
                           " source rows");
    if (idx.empty() || cols == 0) return;
    auto& ctx = cuda_backend::context();
    const index_t* device_idx = ctx.upload_indices(idx);
    kernels::cuda::gather_rows(src.data(), rows, cols, device_idx, idx.size(), dst.data(), ctx.stream());
  }

  // Number of rows of logits whose argmax equals the label; waits for the result.
  template <class T>
  static index_t count_correct(TensorView<const T, cuda> logits, TensorView<const std::int32_t, cuda> labels) {
    require<shape_error>(logits.rank() == 2, "count_correct: expected rank-2 logits, got ", logits.shape());
    const index_t n = logits.shape()[0], classes = logits.shape()[1];
    require<shape_error>(classes > 0, "count_correct: classes = 0, an empty row has no argmax");
    require<shape_error>(labels.size() == n, "count_correct: ", labels.size(), " labels for ", n, " rows");
    if (n == 0) return 0;
    auto& ctx = cuda_backend::context();
    auto* out = ctx.result_cell<unsigned long long>();
    kernels::cuda::count_correct(logits.data(), labels.data(), n, classes, out, ctx.reduce_workspace(), ctx.stream());
    return static_cast<index_t>(ctx.read(out));
  }

  // Reads a scalar (e.g. a loss) back to the host; waits for the work queued before it.
  template <class T>
  static T read(TensorView<const T, cuda> x, index_t i = 0) {
    require<index_error>(i < x.size(), "read: index ", i, " out of range for shape ", x.shape());
    return cuda_backend::context().read(x.data() + i);
  }

  // ---- adaptive and layer-wise optimizer updates (kernels/cuda/adaptive_update.cuh) ----
  // The parameters are cut into slices [offsets[s], offsets[s+1]) (offsets: slices + 1
  // entries on the device); wd and ratio hold one value per slice. State views that a
  // variant does not use (RMSProp's gbar when not centered, buf without momentum) are empty.
  template <class T>
  static void adagrad_update(TensorView<T, cuda> theta, TensorView<T, cuda> sum, TensorView<const T, cuda> g,
                             TensorView<const index_t, cuda> offsets, TensorView<const T, cuda> wd, T lr, T eps) {
    kernels::cuda::adagrad_update(theta.data(), sum.data(), g.data(), offsets.data(), wd.size(), theta.size(),
                                  wd.data(), lr, eps, stream());
  }

  template <class T>
  static void rmsprop_update(TensorView<T, cuda> theta, TensorView<T, cuda> v, TensorView<T, cuda> gbar,
                             TensorView<T, cuda> buf, TensorView<const T, cuda> g,
                             TensorView<const index_t, cuda> offsets, TensorView<const T, cuda> wd, T lr, T alpha,
                             T eps, T momentum) {
    kernels::cuda::rmsprop_update(theta.data(), v.data(), gbar.empty() ? nullptr : gbar.data(),
                                  buf.empty() ? nullptr : buf.data(), g.data(), offsets.data(), wd.size(),
                                  theta.size(), wd.data(), lr, alpha, eps, momentum, stream());
  }

  // bias_correction1 = 1 − β₁ᵗ, bias_correction2 = 1 − β₂ᵗ; decoupled: AdamW's decay.
  template <class T>
  static void adam_update(TensorView<T, cuda> theta, TensorView<T, cuda> m, TensorView<T, cuda> v,
                          TensorView<const T, cuda> g, TensorView<const index_t, cuda> offsets,
                          TensorView<const T, cuda> wd, T lr, T beta1, T beta2, T eps, T bias_correction1,
                          T bias_correction2, bool decoupled) {
    kernels::cuda::adam_update(theta.data(), m.data(), v.data(), g.data(), offsets.data(), wd.size(), theta.size(),
                               wd.data(), lr, beta1, beta2, eps, bias_correction1, bias_correction2, decoupled,
                               stream());
  }

  // out[s] ← Σ x² over slice s, in double (on the device).
  template <class T>
  static void slice_sum_squares(TensorView<const T, cuda> x, TensorView<const index_t, cuda> offsets,
                                TensorView<double, cuda> out) {
    auto& ctx = cuda_backend::context();
    kernels::cuda::slice_sum_squares(x.data(), offsets.data(), out.size(), x.size(), out.data(),
                                     ctx.reduce_workspace(), cuda_backend::Context::reduce_workspace_size,
                                     ctx.stream());
  }

  // out[s] ← ‖u‖² over slice s for the LAMB direction u of this step; writes no state.
  template <class T>
  static void lamb_direction_sum_squares(TensorView<const T, cuda> theta, TensorView<const T, cuda> m,
                                         TensorView<const T, cuda> v, TensorView<const T, cuda> g,
                                         TensorView<const index_t, cuda> offsets, TensorView<const T, cuda> wd,
                                         T beta1, T beta2, T eps, T bias_correction1, T bias_correction2,
                                         TensorView<double, cuda> out) {
    auto& ctx = cuda_backend::context();
    kernels::cuda::lamb_direction_sum_squares(theta.data(), m.data(), v.data(), g.data(), offsets.data(), out.size(),
                                              theta.size(), wd.data(), beta1, beta2, eps, bias_correction1,
                                              bias_correction2, out.data(), ctx.reduce_workspace(),
                                              cuda_backend::Context::reduce_workspace_size, ctx.stream());
  }

  template <class T>
  static void lamb_update(TensorView<T, cuda> theta, TensorView<T, cuda> m, TensorView<T, cuda> v,
                          TensorView<const T, cuda> g, TensorView<const index_t, cuda> offsets,
                          TensorView<const T, cuda> wd, TensorView<const T, cuda> ratio, T lr, T beta1, T beta2, T eps,
                          T bias_correction1, T bias_correction2) {
    kernels::cuda::lamb_update(theta.data(), m.data(), v.data(), g.data(), offsets.data(), wd.size(), theta.size(),
                               wd.data(), ratio.data(), lr, beta1, beta2, eps, bias_correction1, bias_correction2,
                               stream());
  }

  template <class T>
  static void lars_update(TensorView<T, cuda> theta, TensorView<T, cuda> m, TensorView<const T, cuda> g,
                          TensorView<const index_t, cuda> offsets, TensorView<const T, cuda> wd,
                          TensorView<const T, cuda> ratio, T lr, T momentum) {
    kernels::cuda::lars_update(theta.data(), m.data(), g.data(), offsets.data(), wd.size(), theta.size(), wd.data(),
                               ratio.data(), lr, momentum, stream());
  }

  // x ← factor·x (gradient clipping).
  template <class T>
  static void scale(TensorView<T, cuda> x, T factor) {
    kernels::cuda::scale(x.data(), x.size(), factor, stream());
  }

 private:
  static cudaStream_t stream() { return cuda_backend::context().stream(); }

  template <class T>
  static void check_loss_args(bool labels_fit, TensorView<T, cuda> grad, index_t grad_size, TensorView<T, cuda> loss,
                              const char* who) {
    require<shape_error>(labels_fit, who, ": targets do not match the batch");
    require<shape_error>(grad.empty() || grad.size() == grad_size, who, ": gradient of shape ", grad.shape(),
                         " for ", grad_size, " outputs");
    require<shape_error>(loss.size() >= 1, who, ": the loss tensor is empty");
  }
};

}  // namespace minibatch
