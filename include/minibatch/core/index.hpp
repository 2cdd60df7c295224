// The index type: every size, extent and example index in minibatch is a std::size_t,
// the type of std::span's extents and of the sampler's batches of example indices.
#pragma once

#include <cstddef>

namespace minibatch {

using index_t = std::size_t;

}  // namespace minibatch
