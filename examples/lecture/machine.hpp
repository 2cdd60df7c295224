// Names the machine that produced the timings: the CPU model from /proc/cpuinfo (Linux),
// the number of hardware threads and the vector instructions this program was compiled for
// (Eigen's list, e.g. "AVX512, FMA, AVX2, AVX, SSE, SSE2, ...") and the threads its
// products may use, so every timing in the report says where it came from.
#pragma once

#include <Eigen/Core>

#include <fstream>
#include <string>
#include <thread>

namespace lecture {

inline std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown CPU";
}

// How many threads the matrix products may use: Eigen::nbThreads() with OpenMP, which
// OMP_NUM_THREADS sets; one without.
inline std::string threads_in_use() {
#if defined(_OPENMP)
  return "products on up to " + std::to_string(Eigen::nbThreads()) + " OpenMP threads";
#else
  return "built without OpenMP: one thread";
#endif
}

inline std::string cpu_description() {
  return "cpu (" + cpu_name() + ", " + std::to_string(std::thread::hardware_concurrency()) +
         " hardware threads; " + Eigen::SimdInstructionSetsInUse() + "; " + threads_in_use() + ")";
}

}  // namespace lecture
