// Mlp<T, Backend>: a multi-layer perceptron over one flat parameter buffer.
//
//   widths {d₀, d₁, …, d_L}:  layer l maps d_{l−1} → d_l with W_l [d_{l−1} × d_l], b_l [d_l]
//   a₀ = x,  a_l = act(a_{l−1}·W_l + b_l) for hidden layers,  logits a_L = a_{L−1}·W_L + b_L
//
// {d, k} is a linear model: softmax regression (k classes), logistic or linear
// regression (k = 1) depending on the loss it is trained with (see losses/).
//
// The model owns its parameters (`params()`, slices "W1", "b1", "W2", …) initialised from a
// seed; forward/backward take the parameters as an argument so the same network can be
// evaluated at other points (finite differences, interpolation, Hessian-vector products).
// A Workspace holds every activation and the two gradient buffers for a maximum batch;
// it is allocated once, and forward/backward on any batch up to that size allocate nothing.
//
// Backward: given dlogits = ∂L/∂a_L (already divided by the batch size — losses are means),
//   dW_l = a_{l−1}ᵀ·δ_l,  db_l = Σ_rows δ_l,  δ_{l−1} = (δ_l·W_lᵀ) ⊙ act′(a_{l−1}).
// Layer by layer from the last, δ_{l−1} first (it reads W_l), then dW_l and db_l. backward can
// hand the gradient out in parts as each becomes final (an update fused into backward): on
// the cpu at batches of up to 16 rows, dW_l comes in blocks of 8 rows computed into the
// workspace, so the optimizer reads each block from L1 and the whole gradient is never
// written (ops<cpu>::weight_grad_part); otherwise each dW_l and db_l is one part.
//
// A minibatch of a data set can be passed as the data set and the rows it names
// (forward/backward with `rows`): the first layer's two products, x[rows]·W_1 and
// x[rows]ᵀ·δ_1, then read those rows where the data set keeps them (ops<cpu>::gemm_rows),
// with the bits of the same products on the gathered rows, and the batch is never copied.
// That is for the batches rows_in_place(n) says yes to (on the cpu: more than 16 rows and a
// first layer at least one register block wide); SupervisedObjective gathers the others.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/models/init.hpp"
#include "minibatch/tensor/param_buffer.hpp"

namespace minibatch {

template <class T, Backend B = cpu>
class Mlp {
 public:
  using value_type = T;
  using backend_type = B;

  struct Workspace {
    index_t max_batch = 0;
    std::vector<Tensor<T, B>> activations;  // a_1 … a_L, each [max_batch × d_l]
    Tensor<T, B> delta[2];                  // ping-pong δ buffers, [max_batch × max width]
    Tensor<T, B> part;                      // a block of dW handed out by backward in parts (cpu)
  };

  Mlp(std::vector<index_t> widths, Activation hidden = Activation::relu, std::uint64_t seed = 0,
      Init init = Init::automatic)
      : widths_(std::move(widths)), hidden_(hidden) {
    require<value_error>(widths_.size() >= 2, "Mlp: need at least input and output widths, got ", widths_.size(),
                         " width(s)");
    for (index_t l = 0; l < widths_.size(); ++l)
      require<value_error>(widths_[l] > 0, "Mlp: width ", l, " is 0");
    for (index_t l = 1; l < widths_.size(); ++l) {
      layout_.add(slice_name('W', l), Shape{widths_[l - 1], widths_[l]});
      layout_.add(slice_name('b', l), Shape{widths_[l]});
    }
    params_ = ParamBuffer<T, B>(layout_);
    initialize(seed, init);
  }

  // Redraws the weights from `seed` (biases 0).
  void initialize(std::uint64_t seed, Init init = Init::automatic) {
    std::vector<T> host(layout_.total_size(), T(0));
    Rng rng(seed);
    for (index_t l = 1; l < widths_.size(); ++l) {
      const auto& w = layout_[2 * (l - 1)];
      const Activation act = l + 1 == widths_.size() ? Activation::identity : hidden_;
      fill_normal(std::span<T>(host.data() + w.offset, w.shape.size()),
                  init_stddev(init, act, widths_[l - 1], widths_[l]), rng);
    }
    memory<B>::from_host(params_.flat().data(), host.data(), host.size());
  }

  const std::vector<index_t>& widths() const noexcept { return widths_; }
  index_t inputs() const noexcept { return widths_.front(); }
  index_t outputs() const noexcept { return widths_.back(); }
  index_t layers() const noexcept { return widths_.size() - 1; }
  Activation hidden_activation() const noexcept { return hidden_; }
  const ParamLayout& layout() const noexcept { return layout_; }
  ParamBuffer<T, B>& params() noexcept { return params_; }
  const ParamBuffer<T, B>& params() const noexcept { return params_; }

  Workspace make_workspace(index_t max_batch) const {
    require<value_error>(max_batch > 0, "Mlp::make_workspace: max_batch must be positive");
    Workspace ws;
    ws.max_batch = max_batch;
    for (index_t l = 1; l < widths_.size(); ++l) ws.activations.emplace_back(Shape{max_batch, widths_[l]});
    const index_t widest = *std::max_element(widths_.begin() + 1, widths_.end());
    ws.delta[0] = Tensor<T, B>(Shape{max_batch, widest});
    ws.delta[1] = Tensor<T, B>(Shape{max_batch, widest});
    if constexpr (weight_grad_in_blocks) ws.part = Tensor<T, B>(Shape{ops<B>::weight_grad_part_rows, widest});
    return ws;
  }

  // Logits [n × d_L] for the rows of x [n × d₀]; a view into the workspace.
  TensorView<T, B> forward(TensorView<const T, B> params, TensorView<const T, B> x, Workspace& ws) const {
    return forward_impl(params, x, nullptr, ws);
  }

  // The same for the minibatch x[rows] of a data set x, n = rows.size(), read where x keeps
  // it (never copied): needs rows_in_place(n).
  TensorView<T, B> forward(TensorView<const T, B> params, TensorView<const T, B> x, std::span<const index_t> rows,
                           Workspace& ws) const {
    return forward_impl(params, x, &rows, ws);
  }

  // Whether forward and backward take a batch of n rows of a data set in place: on a backend
  // whose first-layer products read gathered rows (ops<cpu>::gemm_rows) and for a batch
  // they take that way; otherwise gather the rows and pass those.
  bool rows_in_place(index_t n) const {
    if constexpr (reads_gathered_rows) return ops<B>::template rows_in_place<T>(n, widths_[1]);
    else return false;
  }

  // Buffer [n × d_L] where the loss writes dlogits before backward().
  TensorView<T, B> dlogits(Workspace& ws, index_t n) const { return delta(ws, 0, n, outputs()); }

  // grad ← ∂L/∂θ from dlogits (in dlogits(ws, n)) and the activations of the last forward.
  void backward(TensorView<const T, B> params, TensorView<const T, B> x, Workspace& ws, TensorView<T, B> grad) const {
    NoParts none;
    backward_impl(params, x, nullptr, ws, grad, none);
  }

  // The same gradient, handed out in parts: on_part(offset, g_part) once for each part as soon
  // as it is final, g_part (a TensorView<const T, B>) holding ∂L/∂θ at [offset, offset +
  // g_part.size()). The parts are disjoint and cover θ, and backward reads none of a part's
  // parameters after handing it out, so on_part may update them in place through another
  // view of params (Optimizer::step_in_parts). grad is scratch space here: what it holds
  // afterwards is unspecified.
  template <class OnPart>
  void backward(TensorView<const T, B> params, TensorView<const T, B> x, Workspace& ws, TensorView<T, B> grad,
                OnPart&& on_part) const {
    backward_impl(params, x, nullptr, ws, grad, on_part);
  }

  // Both for the minibatch x[rows] of a data set x, after forward(params, x, rows, ws).
  void backward(TensorView<const T, B> params, TensorView<const T, B> x, std::span<const index_t> rows, Workspace& ws,
                TensorView<T, B> grad) const {
    NoParts none;
    backward_impl(params, x, &rows, ws, grad, none);
  }
  template <class OnPart>
  void backward(TensorView<const T, B> params, TensorView<const T, B> x, std::span<const index_t> rows, Workspace& ws,
                TensorView<T, B> grad, OnPart&& on_part) const {
    backward_impl(params, x, &rows, ws, grad, on_part);
  }

 private:
  struct NoParts {
    void operator()(index_t, TensorView<const T, B>) const noexcept {}
  };
  static constexpr bool weight_grad_in_blocks = requires { ops<B>::weight_grad_part_rows; };
  static constexpr bool reads_gathered_rows = requires { ops<B>::template rows_in_place<T>(index_t(1), index_t(1)); };

  // The first layer's products: op(A) is the input x, or its rows *rows read in place.
  void first_layer_gemm(TensorView<const T, B> x, const std::span<const index_t>* rows, bool trans_x,
                        TensorView<const T, B> b, TensorView<T, B> c) const {
    if constexpr (reads_gathered_rows) {
      if (rows) return ops<B>::gemm_rows(x, *rows, trans_x, b, false, c);
    }
    ops<B>::gemm(x, trans_x, b, false, c);
  }

  TensorView<T, B> forward_impl(TensorView<const T, B> params, TensorView<const T, B> x,
                                const std::span<const index_t>* rows, Workspace& ws) const {
    const index_t n = check_batch(params, x, rows, ws, "Mlp::forward");
    TensorView<const T, B> a = x;
    for (index_t l = 1; l <= layers(); ++l) {
      TensorView<T, B> z = activation(ws, l, n);
      if (l == 1) first_layer_gemm(x, rows, false, weight(params, l), z);
      else ops<B>::gemm(a, false, weight(params, l), false, z);
      ops<B>::bias_activation_forward(z, bias(params, l), l == layers() ? Activation::identity : hidden_);
      a = z;
    }
    return activation(ws, layers(), n);
  }

  template <class OnPart>
  void backward_impl(TensorView<const T, B> params, TensorView<const T, B> x, const std::span<const index_t>* rows,
                     Workspace& ws, TensorView<T, B> grad, OnPart& on_part) const {
    constexpr bool in_parts = !std::is_same_v<OnPart, NoParts>;
    const index_t n = check_batch(params, x, rows, ws, "Mlp::backward");
    require_same_shape(params, grad, "Mlp::backward");
    int current = 0;
    for (index_t l = layers(); l >= 1; --l) {
      TensorView<const T, B> d = delta(ws, current, n, widths_[l]);
      TensorView<const T, B> a_prev = l == 1 ? x : TensorView<const T, B>(activation(ws, l - 1, n));
      if (l > 1) {  // before W_l's gradient is handed out: this reads W_l
        TensorView<T, B> d_prev = delta(ws, 1 - current, n, widths_[l - 1]);
        ops<B>::gemm(d, false, weight(params, l), true, d_prev);
        ops<B>::activation_backward(a_prev, d_prev, hidden_);
      }
      const ParamSlice& w = layout_[2 * (l - 1)];
      const ParamSlice& b = layout_[2 * (l - 1) + 1];
      const index_t fan_in = widths_[l - 1], fan_out = widths_[l];
      bool done = false;
      if constexpr (in_parts && weight_grad_in_blocks) {
        // (never the first layer of a batch read in place: weight_grad_part reads a_prev,
        // which is then the whole data set; rows_in_place batches are too large anyway)
        if ((l > 1 || !rows) && ops<B>::template weight_grad_in_parts<T>(n, fan_out)) {
          require<shape_error>(ws.part.size() >= ops<B>::weight_grad_part_rows * fan_out,
                               "Mlp::backward: the workspace's part buffer holds ", ws.part.size(), " values, ",
                               ops<B>::weight_grad_part_rows * fan_out,
                               " needed (use a workspace from this network's make_workspace)");
          for (index_t first = 0; first < fan_in; first += ops<B>::weight_grad_part_rows) {
            const index_t rows = std::min(ops<B>::weight_grad_part_rows, fan_in - first);
            TensorView<T, B> part(ws.part.data(), Shape{rows, fan_out});
            ops<B>::weight_grad_part(a_prev, first, d, part);
            on_part(w.offset + first * fan_out, TensorView<const T, B>(part));
          }
          done = true;
        }
      }
      if (!done) {
        TensorView<T, B> dw = slice_of(grad, w);
        if (l == 1) first_layer_gemm(x, rows, true, d, dw);
        else ops<B>::gemm(a_prev, true, d, false, dw);
        on_part(w.offset, TensorView<const T, B>(dw));
      }
      TensorView<T, B> db = slice_of(grad, b);
      ops<B>::column_sums(d, db);
      on_part(b.offset, TensorView<const T, B>(db));
      current = 1 - current;
    }
  }

  // "W3", "b3", …; built by append (GCC 12 warns falsely on "W" + to_string at -O3).
  static std::string slice_name(char kind, index_t layer) {
    std::string name(1, kind);
    name += std::to_string(layer);
    return name;
  }

  // The batch size: x's rows, or the number of rows named.
  index_t check_batch(TensorView<const T, B> params, TensorView<const T, B> x, const std::span<const index_t>* rows,
                      const Workspace& ws, const char* who) const {
    require<shape_error>(params.size() == layout_.total_size(), who, ": ", params.size(),
                         " parameters given, the network has ", layout_.total_size());
    require<shape_error>(x.rank() == 2 && x.shape()[1] == inputs(), who, ": input of shape ", x.shape(),
                         ", expected [n, ", inputs(), "]");
    const index_t n = rows ? rows->size() : x.shape()[0];
    require<shape_error>(n > 0 && n <= ws.max_batch, who, ": batch of ", n, " rows, the workspace holds 1 to ",
                         ws.max_batch);
    require<value_error>(!rows || rows_in_place(n), who, ": a batch of ", n, " rows of ", x.shape(),
                         " is not read in place here (see rows_in_place); gather the rows and pass those");
    return n;
  }

  template <class P>
  static auto slice_of(P params, const ParamSlice& s) {
    return decltype(params)(params.data() + s.offset, s.shape);
  }
  TensorView<const T, B> weight(TensorView<const T, B> params, index_t l) const {
    return slice_of(params, layout_[2 * (l - 1)]);
  }
  TensorView<const T, B> bias(TensorView<const T, B> params, index_t l) const {
    return slice_of(params, layout_[2 * (l - 1) + 1]);
  }
  static TensorView<T, B> activation(Workspace& ws, index_t l, index_t n) { return ws.activations[l - 1].view().rows(0, n); }
  static TensorView<T, B> delta(Workspace& ws, int which, index_t n, index_t width) {
    return TensorView<T, B>(ws.delta[which].data(), Shape{n, width});
  }

  std::vector<index_t> widths_;
  Activation hidden_;
  ParamLayout layout_;
  ParamBuffer<T, B> params_;
};

}  // namespace minibatch
