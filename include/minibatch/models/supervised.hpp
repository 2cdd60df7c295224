// SupervisedObjective<T, Backend, Loss>: a network + a loss head + a backend-resident data
// set, as the SeparableObjective the training loop drives:
//
//   loss_and_gradient(θ, batch, grad):  X ← features[batch], Y ← targets[batch] (gather on
//   the backend; a contiguous ascending batch is used in place, and so is any batch the
//   network's first layer reads where the data set keeps it: Mlp::rows_in_place),
//   logits ← net(θ, X), loss, dlogits ← Loss(logits, Y) (means over the batch),
//   grad ← backward.
//
//   loss_and_step(θ, batch, grad, rule):  the same, with rule's update fused into backward
//   (rule.step_in_parts: each part of the gradient is applied as backward produces it), for
//   an element-wise rule; θ ends where loss_and_gradient + rule.step would put it, to the bit.
//
// All buffers (gathered rows, network workspace, the loss scalar) are sized once for
// max_batch rows; a batch above it is a shape_error. evaluate() computes the mean loss
// and accuracy over the whole data set in chunks of max_batch rows.
#pragma once

#include <cmath>
#include <concepts>
#include <limits>
#include <span>

#include "minibatch/data/tensor_dataset.hpp"
#include "minibatch/losses/loss_value.hpp"
#include "minibatch/losses/mean_squared_error.hpp"
#include "minibatch/losses/sigmoid_cross_entropy.hpp"
#include "minibatch/losses/softmax_cross_entropy.hpp"
#include "minibatch/models/mlp.hpp"
#include "minibatch/optim/update_rule.hpp"

namespace minibatch {

struct Evaluation {
  double loss = 0;
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // NaN for regression
  index_t examples = 0;
};

template <class T, Backend B, class Loss>
class SupervisedObjective {
 public:
  using value_type = T;
  using backend_type = B;
  using target_type = typename Loss::template target_of<T>;
  using Data = TensorDataset<T, target_type, B>;

  SupervisedObjective(const Mlp<T, B>& net, const Data& data, index_t max_batch)
      : net_(net), data_(data), max_batch_(std::min(max_batch, data.size())) {
    require<shape_error>(data.size() > 0, "SupervisedObjective: empty data set");
    require<shape_error>(data.cols() == net.inputs(), "SupervisedObjective: data has ", data.cols(),
                         " features per row, the network takes ", net.inputs());
    require<shape_error>(data.targets.rank() == 2 && data.targets.shape()[0] == data.size(),
                         "SupervisedObjective: targets of shape ", data.targets.shape(), " for ", data.size(), " rows");
    workspace_ = net.make_workspace(max_batch_);
    x_ = Tensor<T, B>(Shape{max_batch_, net.inputs()});
    y_ = Tensor<target_type, B>(Shape{max_batch_, data.targets.shape()[1]});
    loss_ = Tensor<T, B>(Shape{1});
  }

  index_t size() const noexcept { return data_.size(); }
  index_t max_batch() const noexcept { return max_batch_; }
  const Mlp<T, B>& network() const noexcept { return net_; }

  LossValue<T, B> loss_and_gradient(TensorView<const T, B> params, std::span<const index_t> batch,
                                    TensorView<T, B> grad) {
    backward(params, forward_and_loss(params, batch), batch, grad);
    return LossValue<T, B>(loss_.view());
  }

  template <PartwiseRule Rule>
    requires std::same_as<typename Rule::value_type, T> && std::same_as<typename Rule::backend_type, B>
  LossValue<T, B> loss_and_step(TensorView<T, B> params, std::span<const index_t> batch, TensorView<T, B> grad,
                                Rule& rule) {
    const Selected rows = forward_and_loss(params, batch);
    rule.step_in_parts(params, [&](auto&& apply) { backward(params, rows, batch, grad, apply); });
    return LossValue<T, B>(loss_.view());
  }

  // Mean loss (and accuracy) over the whole data set at θ, in chunks of max_batch rows.
  Evaluation evaluate(TensorView<const T, B> params) {
    Evaluation e;
    double loss_sum = 0;
    index_t correct = 0;
    for (index_t begin = 0; begin < size(); begin += max_batch_) {
      const index_t n = std::min(max_batch_, size() - begin);
      TensorView<const T, B> x = data_.features.view().rows(begin, n);
      TensorView<const target_type, B> y = data_.targets.view().rows(begin, n);
      TensorView<T, B> logits = net_.forward(params, x, workspace_);
      Loss::apply(TensorView<const T, B>(logits), y, net_.dlogits(workspace_, n), loss_.view());
      loss_sum += static_cast<double>(ops<B>::read(TensorView<const T, B>(loss_.view()))) * static_cast<double>(n);
      if constexpr (Loss::has_accuracy) correct += Loss::correct(TensorView<const T, B>(logits), y);
    }
    e.examples = size();
    e.loss = loss_sum / static_cast<double>(size());
    if constexpr (Loss::has_accuracy) e.accuracy = static_cast<double>(correct) / static_cast<double>(size());
    return e;
  }

 private:
  struct Selected {
    TensorView<const T, B> x;  // the batch's rows, or the whole data set when in_place
    TensorView<const target_type, B> y;
    bool in_place = false;  // x[batch] is read where it is (Mlp::rows_in_place)
  };

  // The batch's rows, with the loss in loss_ and dlogits in the workspace for backward.
  Selected forward_and_loss(TensorView<const T, B> params, std::span<const index_t> batch) {
    const Selected rows = select(batch);
    TensorView<T, B> logits =
        rows.in_place ? net_.forward(params, rows.x, batch, workspace_) : net_.forward(params, rows.x, workspace_);
    Loss::apply(TensorView<const T, B>(logits), rows.y, net_.dlogits(workspace_, batch.size()), loss_.view());
    return rows;
  }

  // Mlp::backward on the rows forward_and_loss selected, read in place or as selected; the
  // gradient whole, or handed to on_part in parts.
  template <class... OnPart>
  void backward(TensorView<const T, B> params, const Selected& rows, std::span<const index_t> batch,
                TensorView<T, B> grad, OnPart&... on_part) {
    if (rows.in_place) net_.backward(params, rows.x, batch, workspace_, grad, on_part...);
    else net_.backward(params, rows.x, workspace_, grad, on_part...);
  }

  // The batch's rows: a view when the indices are one ascending run of two or more, the
  // whole data set when the network reads the batch's rows in place (only the targets are
  // gathered), else a gather. (A single row is always gathered: then every batch takes the
  // same path, so a step captured in a CUDA graph replays for any batch of one.)
  Selected select(std::span<const index_t> batch) {
    const index_t n = batch.size();
    require<shape_error>(n > 0 && n <= max_batch_, "SupervisedObjective: batch of ", n,
                         " examples, the workspace holds 1 to ", max_batch_);
    bool contiguous = n > 1 && batch[0] + n <= size();
    for (index_t k = 1; contiguous && k < n; ++k) contiguous = batch[k] == batch[0] + k;
    if (contiguous)
      return {data_.features.view().rows(batch[0], n), data_.targets.view().rows(batch[0], n)};
    TensorView<target_type, B> y = y_.view().rows(0, n);
    ops<B>::gather_rows(data_.targets.view(), batch, y);
    if (net_.rows_in_place(n)) return {data_.features.view(), y, true};
    TensorView<T, B> x = x_.view().rows(0, n);
    ops<B>::gather_rows(data_.features.view(), batch, x);
    return {x, y};
  }

  const Mlp<T, B>& net_;
  const Data& data_;
  index_t max_batch_;
  typename Mlp<T, B>::Workspace workspace_;
  Tensor<T, B> x_;
  Tensor<target_type, B> y_;
  Tensor<T, B> loss_;
};

template <class T, Backend B = cpu>
using ClassificationObjective = SupervisedObjective<T, B, SoftmaxCrossEntropy>;

}  // namespace minibatch
