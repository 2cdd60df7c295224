// TensorDataset<T, Target, Backend>: a data set resident on a backend — features
// [n × cols] and targets [n × k] as tensors — so that training moves only index batches
// (the gather happens on the backend). `to_tensors` uploads a host data::Dataset of
// images and integer labels (targets [n × 1]).
#pragma once

#include <cstdint>
#include <vector>

#include "minibatch/data/dataset.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

template <class T, class Target, Backend B = cpu>
struct TensorDataset {
  Tensor<T, B> features;     // [n × cols]
  Tensor<Target, B> targets; // [n × k]

  index_t size() const noexcept { return features.rank() ? features.shape()[0] : 0; }
  index_t cols() const noexcept { return features.rank() == 2 ? features.shape()[1] : 0; }
};

template <class T, Backend B = cpu>
TensorDataset<T, std::int32_t, B> to_tensors(const data::Dataset& d) {
  d.validate();
  require<shape_error>(d.rows > 0, "to_tensors: the data set has no rows");
  TensorDataset<T, std::int32_t, B> out;
  if constexpr (std::is_same_v<T, float>) {
    out.features = Tensor<T, B>(Shape{d.rows, d.cols}, std::span<const float>(d.features));
  } else {
    const std::vector<T> converted(d.features.begin(), d.features.end());
    out.features = Tensor<T, B>(Shape{d.rows, d.cols}, std::span<const T>(converted));
  }
  out.targets = Tensor<std::int32_t, B>(Shape{d.rows, 1}, std::span<const std::int32_t>(d.labels));
  return out;
}

}  // namespace minibatch
