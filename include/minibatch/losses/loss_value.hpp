// LossValue<T, Backend>: a loss that lives on the backend (a one-element tensor) and is
// read back to the host only when converted to double. On the cpu backend the read is a
// load; on a GPU it is the one synchronisation a step needs, and only when someone asks.
#pragma once

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class T, Backend B = cpu>
class LossValue {
 public:
  explicit LossValue(TensorView<const T, B> scalar) : scalar_(scalar) {}
  operator double() const { return static_cast<double>(ops<B>::read(scalar_)); }
  TensorView<const T, B> tensor() const noexcept { return scalar_; }

 private:
  TensorView<const T, B> scalar_;
};

}  // namespace minibatch
