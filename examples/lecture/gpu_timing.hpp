// The GPU half of experiment 2, for the study built with CUDA: times the same training
// step on the first CUDA device. Defined in examples/study/batch_time_gpu.cu, which the
// build adds (with MINIBATCH_STUDY_CUDA) only when MINIBATCH_ENABLE_CUDA is on. Returns
// nothing when no device is present, so the report says the GPU claim was not tested.
#pragma once

#include <optional>

#include "lecture/batch_time.hpp"

namespace lecture {

std::optional<BatchTimeResult> run_batch_time_gpu(const minibatch::data::Dataset& train,
                                                  const BatchTimeOptions& options);

}  // namespace lecture
