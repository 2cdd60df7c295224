// Timing helpers for the lecture's experiments: medians of repeated measurements, as the
// brief asks for noisy shared machines.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace lecture {

inline double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  if (values.size() % 2) return *mid;
  return 0.5 * (*mid + *std::max_element(values.begin(), mid));
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace lecture
