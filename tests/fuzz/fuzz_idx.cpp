// libFuzzer target: parse_idx (the in-memory IDX reader) on arbitrary bytes, raw or gzip.
// Any exception other than io_error, any sanitizer report, and any broken invariant of
// an accepted input (dims and data disagree; the input, inflated by an independent
// zlib loop when gzip, is not exactly header + data) aborts the run. Build and run with tests/fuzz/run.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gzip_mutator.hpp"
#include "minibatch/data/idx.hpp"

namespace mbd = minibatch::data;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_idx: invariant broken: %s\n", what);
    std::abort();
  }
}

// The oracle for accepted gzip inputs, independent of the reader's streaming: the input
// must be whole gzip members back to back, each inflating to its end (trailer checked),
// and nothing else; returns their concatenated content, or nullopt.
std::optional<std::vector<std::uint8_t>> gunzip_members(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> out;
  std::size_t at = 0;
  while (at < size) {
    z_stream s{};
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) std::abort();
    s.next_in = const_cast<Bytef*>(data + at);
    s.avail_in = static_cast<uInt>(size - at);
    int rc = Z_OK;
    std::uint8_t chunk[16384];
    while (rc == Z_OK) {
      s.next_out = chunk;
      s.avail_out = sizeof chunk;
      rc = inflate(&s, Z_NO_FLUSH);
      out.insert(out.end(), chunk, chunk + (sizeof chunk - s.avail_out));
    }
    at = size - s.avail_in;
    inflateEnd(&s);
    if (rc != Z_STREAM_END) return std::nullopt;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  mbd::IdxArray array;
  try {
    array = mbd::parse_idx(bytes, "fuzz");
  } catch (const minibatch::io_error& e) {
    check(std::string(e.what()).rfind("fuzz: ", 0) == 0, "the message does not start with the name");
    return 0;
  }
  check(array.dims.size() >= 1 && array.dims.size() <= 4, "rank outside 1..4");
  std::size_t count = 1;
  for (const std::size_t d : array.dims) count *= d;  // cannot overflow: the parser checked
  check(array.data.size() == count, "data size differs from the product of dims");
  std::vector<std::uint8_t> raw(data, data + size);
  if (minibatch_fuzz::looks_gzip(data, size)) {
    const auto inflated = gunzip_members(data, size);
    check(inflated.has_value(), "accepted gzip input that is not whole gzip members");
    raw = *inflated;
  }
  const std::size_t header = 4 + 4 * array.dims.size();
  check(raw.size() == header + count, "input is not exactly header + data");
  check(std::equal(array.data.begin(), array.data.end(), raw.begin() + static_cast<std::ptrdiff_t>(header)),
        "data differs from the input bytes");
  return 0;
}
