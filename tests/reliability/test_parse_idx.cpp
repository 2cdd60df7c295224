// parse_idx, the in-memory IDX reader the fuzzers drive: it agrees with read_idx on the
// same bytes (result or message), reads concatenated gzip members as one stream, and
// refuses corrupt gzip data, a gzip stream cut after the data (in its trailer), bytes
// after the last gzip member, and headers that claim more data than the input holds,
// raw or compressed, without allocating the claim.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

#include "minibatch/data/idx.hpp"

namespace mbd = minibatch::data;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes idx_bytes(std::initializer_list<std::uint32_t> dims, const Bytes& data) {
  Bytes bytes{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (const std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(d >> shift));
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

Bytes gzip(const Bytes& raw) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&s, static_cast<uLong>(raw.size())));
  s.next_in = const_cast<Bytef*>(raw.data());
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - s.avail_out);
  deflateEnd(&s);
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string parse_error(const Bytes& bytes) {
  try {
    (void)mbd::parse_idx(bytes, "mem");
  } catch (const minibatch::io_error& e) {
    return e.what();
  }
  return "";
}

void check_refused(const Bytes& bytes, std::initializer_list<const char*> parts) {
  const std::string what = parse_error(bytes);
  INFO("what() = ", what);
  REQUIRE_FALSE(what.empty());
  CHECK(what.rfind("mem: ", 0) == 0);
  for (const char* part : parts) CHECK(what.find(part) != std::string::npos);
}

// read_idx on a temporary file holding `bytes`, and parse_idx on the bytes named by the
// same path: both accept with the same array, or both refuse with the same message.
void check_file_agrees(const Bytes& bytes) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("minibatch_test_parse_idx_" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
  }
  std::string file_error, memory_error;
  mbd::IdxArray from_file, from_memory;
  try {
    from_file = mbd::read_idx(path);
  } catch (const minibatch::io_error& e) {
    file_error = e.what();
  }
  try {
    from_memory = mbd::parse_idx(bytes, path.string());
  } catch (const minibatch::io_error& e) {
    memory_error = e.what();
  }
  std::filesystem::remove(path);
  CHECK(file_error == memory_error);
  CHECK(from_file.dims == from_memory.dims);
  CHECK(from_file.data == from_memory.data);
}

}  // namespace

TEST_CASE("parse_idx reads raw and gzip bytes like read_idx reads the file") {
  std::mt19937 noise(3);
  Bytes data(3 * 40 * 40);
  for (std::uint8_t& b : data) b = static_cast<std::uint8_t>(noise());
  const Bytes raw = idx_bytes({3, 40, 40}, data);
  for (const Bytes& bytes : {raw, gzip(raw)}) {
    const mbd::IdxArray array = mbd::parse_idx(bytes, "mem");
    CHECK(array.dims == std::vector<std::size_t>{3, 40, 40});
    CHECK(array.data == data);
    check_file_agrees(bytes);
  }
  const Bytes header_only = idx_bytes({3, 40, 40}, {});
  const Bytes gz = gzip(raw);
  for (const Bytes& bad : {Bytes{}, Bytes{0, 0, 8}, header_only, gzip(header_only), concat(raw, {1}),
                           Bytes(gz.begin(), gz.end() - 5), Bytes(gz.begin(), gz.begin() + 100), Bytes{0x1F, 0x8B}})
    check_file_agrees(bad);
}

TEST_CASE("parse_idx reads concatenated gzip members as one stream") {
  const Bytes raw = idx_bytes({2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  const Bytes two = concat(gzip(Bytes(raw.begin(), raw.begin() + 7)), gzip(Bytes(raw.begin() + 7, raw.end())));
  const mbd::IdxArray array = mbd::parse_idx(two, "mem");
  CHECK(array.dims == std::vector<std::size_t>{2, 5});
  CHECK(array.data == Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(mbd::parse_idx(concat(gzip({}), gzip(raw)), "mem").data.size() == 10);
  check_file_agrees(two);
}

TEST_CASE("parse_idx refuses corrupt gzip data and bytes after the last member") {
  std::mt19937 noise(5);  // incompressible, so that a cut lands in the data
  Bytes data(16);
  for (std::uint8_t& b : data) b = static_cast<std::uint8_t>(noise());
  const Bytes gz = gzip(idx_bytes({16}, data));
  Bytes bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0xFF;
  check_refused(bad_crc, {"corrupt gzip data", "incorrect data check"});
  Bytes bad_method = gz;
  bad_method[2] = 7;
  check_refused(bad_method, {"corrupt gzip data", "unknown compression method"});
  check_refused(concat(gz, {'x', 'y', 'z'}), {"3 bytes of trailing garbage after the gzip stream", "at byte"});
  check_refused(concat(gz, {0, 0}), {"2 bytes of trailing garbage"});
  check_refused(Bytes(gz.begin(), gz.end() - 4), {"truncated after the data", "gzip: unexpected end of file"});
  check_refused(concat(gz, {0x1F, 0x8B}), {"truncated after the data", "gzip: unexpected end of file"});
  check_refused(Bytes(gz.begin(), gz.end() - 14), {"truncated data", "need 16 bytes, got 1",
                                                   "gzip: unexpected end of file"});
  check_refused(Bytes{0x1F, 0x8B}, {"truncated header", "got 0", "gzip: unexpected end of file"});
}

TEST_CASE("parse_idx: a header claiming 2^32 - 1 images fails on the bytes present, raw or gzip") {
  const Bytes raw = idx_bytes({0xFFFFFFFFu, 28, 28}, Bytes(3000, 0));
  check_refused(raw, {"truncated data", "need 3367254359280 bytes, got 3000"});
  check_refused(gzip(raw), {"truncated data", "need 3367254359280 bytes, got 3000"});
  check_refused(idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}), {"overflow size_t"});
}

TEST_CASE("parse_idx: the message starts with the given name") {
  try {
    (void)mbd::parse_idx(Bytes{1, 2, 3, 4}, "train-images.gz");
    FAIL("no error");
  } catch (const minibatch::io_error& e) {
    CHECK(std::string(e.what()).rfind("train-images.gz: wrong magic 0x01020304", 0) == 0);
  }
}
