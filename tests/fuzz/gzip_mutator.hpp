// A libFuzzer custom mutator for inputs that may be gzip: half the time it inflates a
// gzip input, mutates the inflated IDX bytes with libFuzzer's own mutator and deflates
// them again, so the fuzzer explores the IDX parser behind a *valid* gzip stream (byte
// flips in compressed data almost always just break the deflate stream). Otherwise, and
// whenever the input is not gzip, it mutates the bytes as they are; now and then it
// gzips a raw input, so that headers found in raw form reach the gzip path too.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace minibatch_fuzz {

inline bool looks_gzip(const std::uint8_t* data, std::size_t size) {
  return size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
}

// Inflates one gzip stream holding at most `limit` bytes; false when it is not one.
inline bool gunzip(const std::uint8_t* data, std::size_t size, std::size_t limit, std::vector<std::uint8_t>& out) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) return false;
  out.resize(limit);
  s.next_in = const_cast<Bytef*>(data);
  s.avail_in = static_cast<uInt>(size);
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(limit);
  const int rc = inflate(&s, Z_FINISH);
  out.resize(limit - s.avail_out);
  inflateEnd(&s);
  return rc == Z_STREAM_END;
}

// Gzips `raw` into data[0, max_size); returns the size, or 0 when it does not fit.
inline std::size_t gzip_into(const std::vector<std::uint8_t>& raw, std::uint8_t* data, std::size_t max_size,
                             int level) {
  z_stream s{};
  if (deflateInit2(&s, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
  std::vector<std::uint8_t> out(deflateBound(&s, static_cast<uLong>(raw.size())));
  s.next_in = const_cast<Bytef*>(raw.data());
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);
  const std::size_t n = out.size() - s.avail_out;
  deflateEnd(&s);
  if (rc != Z_STREAM_END || n > max_size) return 0;
  std::memcpy(data, out.data(), n);
  return n;
}

}  // namespace minibatch_fuzz

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  using namespace minibatch_fuzz;
  const int level = static_cast<int>(seed % 10);  // 0 (stored) .. 9
  std::vector<std::uint8_t> raw;
  if (looks_gzip(data, size) && seed % 2 == 0 && gunzip(data, size, 4 * max_size, raw)) {
    const std::size_t used = raw.size();
    raw.resize(4 * max_size);
    raw.resize(LLVMFuzzerMutate(raw.data(), used, raw.size()));
    if (const std::size_t n = gzip_into(raw, data, max_size, level)) return n;
    return LLVMFuzzerMutate(data, size, max_size);
  }
  if (!looks_gzip(data, size) && seed % 16 == 1) {
    raw.assign(data, data + size);
    if (const std::size_t n = gzip_into(raw, data, max_size, level)) return n;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
