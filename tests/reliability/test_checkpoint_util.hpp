// Helpers of the checkpoint tests: a scratch directory per test and bitwise comparisons.
#pragma once

#include <cctype>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "minibatch/checkpoint.hpp"

namespace checkpoint_test {

namespace mb = minibatch;

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class ScratchDir {
 public:
  explicit ScratchDir(std::string name) {
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    path_ = std::filesystem::temp_directory_path() / ("minibatch_checkpoint_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& file) const { return path_ / file; }

 private:
  std::filesystem::path path_;
};

// Views (or tensors) of one scalar type with the same bytes.
template <class A, class B>
bool bitwise_equal(const A& a, const B& b) {
  static_assert(sizeof(*a.data()) == sizeof(*b.data()));
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(*a.data())) == 0);
}

inline std::vector<std::byte> file_bytes(const std::filesystem::path& path) { return mb::io::read_whole_file(path); }

inline void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  mb::io::write_file_atomically(path, bytes);
}

}  // namespace checkpoint_test
