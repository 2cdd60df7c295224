// libFuzzer target: read_idx (the file reader) on arbitrary bytes written to a temporary
// file, checked against parse_idx on the same bytes: both must accept with the same
// array or refuse with the same message. Slower than fuzz_idx (a file per input); it
// covers the file-only code (size check against the file, gzip read whole).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include "gzip_mutator.hpp"
#include "minibatch/data/idx.hpp"

namespace mbd = minibatch::data;

namespace {

struct Outcome {
  std::optional<mbd::IdxArray> array;
  std::string error;
};

template <class F>
Outcome run(F&& read) {
  Outcome o;
  try {
    o.array = read();
  } catch (const minibatch::io_error& e) {
    o.error = e.what();
  }
  return o;
}

void remove_input();

// One file per fuzzing process, removed when libFuzzer exits (the handler is registered
// after `path` is built, so it runs before `path` is destroyed).
const std::filesystem::path& input_path() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("minibatch_fuzz_idx_file_" + std::to_string(::getpid()));
  static const bool cleanup_registered = std::atexit(remove_input) == 0;
  (void)cleanup_registered;
  return path;
}

void remove_input() {
  std::error_code ec;
  std::filesystem::remove(input_path(), ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& path = input_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }
  const Outcome from_file = run([&] { return mbd::read_idx(path); });
  const Outcome from_memory = run([&] { return mbd::parse_idx(std::span<const std::uint8_t>(data, size), path.string()); });
  const bool same = from_file.error == from_memory.error &&
                    from_file.array.has_value() == from_memory.array.has_value() &&
                    (!from_file.array || (from_file.array->dims == from_memory.array->dims &&
                                          from_file.array->data == from_memory.array->data));
  if (!same) {
    std::fprintf(stderr, "fuzz_idx_file: read_idx and parse_idx disagree\n  file:   %s\n  memory: %s\n",
                 from_file.array ? "accepted" : from_file.error.c_str(),
                 from_memory.array ? "accepted" : from_memory.error.c_str());
    std::abort();
  }
  return 0;
}
