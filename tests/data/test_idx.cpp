// IDX reader/writer: round trips (raw and gzip, detected by content) and one test per
// malformed file, each checking the exception type, the file path and the problem.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "minibatch/data/idx.hpp"

namespace fs = std::filesystem;
namespace mbd = minibatch::data;

namespace {

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device entropy;
    for (;;) {
      path = fs::temp_directory_path() /
             ("minibatch-test-idx-" + std::to_string(entropy()) + std::to_string(entropy()));
      if (fs::create_directory(path)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

using Bytes = std::vector<std::uint8_t>;

void write_raw(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  REQUIRE(file != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  REQUIRE(gzclose(file) == Z_OK);
}

Bytes read_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Header bytes: 0 0 type rank, then the dims big-endian.
Bytes header(std::uint8_t type, std::uint8_t rank, const std::vector<std::uint32_t>& dims) {
  Bytes bytes{0, 0, type, rank};
  for (const std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(d >> shift));
  return bytes;
}

Bytes pattern(std::size_t n) {
  Bytes bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return bytes;
}

// Runs read_idx(path), expecting an io_error whose message starts with the path and
// contains every one of `parts`.
void check_read_fails(const fs::path& path, const std::vector<std::string>& parts) {
  try {
    (void)mbd::read_idx(path);
    FAIL("read_idx did not throw for ", path.string());
  } catch (const minibatch::io_error& e) {
    const std::string what = e.what();
    INFO("what() = ", what);
    CHECK(what.rfind(path.string(), 0) == 0);
    for (const std::string& part : parts) CHECK(what.find(part) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("idx: raw round trip keeps dims and data") {
  TempDir dir;
  const mbd::IdxArray array{{2, 3, 4}, pattern(24)};
  const fs::path path = dir.path / "a-idx3-ubyte";
  mbd::write_idx(path, array, false);
  const Bytes bytes = read_raw(path);
  REQUIRE(bytes.size() == 4 + 12 + 24);
  CHECK(Bytes(bytes.begin(), bytes.begin() + 8) == Bytes{0, 0, 0x08, 0x03, 0, 0, 0, 2});
  const mbd::IdxArray back = mbd::read_idx(path);
  CHECK(back.dims == array.dims);
  CHECK(back.data == array.data);
}

TEST_CASE("idx: gzip round trip, detected by content not by name") {
  TempDir dir;
  const mbd::IdxArray array{{5, 7}, pattern(35)};
  const fs::path gz_no_suffix = dir.path / "gzipped-without-suffix";
  mbd::write_idx(gz_no_suffix, array, true);
  const Bytes bytes = read_raw(gz_no_suffix);
  REQUIRE(bytes.size() >= 2);
  CHECK(bytes[0] == 0x1F);
  CHECK(bytes[1] == 0x8B);
  const mbd::IdxArray back = mbd::read_idx(gz_no_suffix);
  CHECK(back.dims == array.dims);
  CHECK(back.data == array.data);

  const fs::path raw_with_suffix = dir.path / "raw-with-suffix.gz";
  mbd::write_idx(raw_with_suffix, array, false);
  CHECK(mbd::read_idx(raw_with_suffix).data == array.data);
}

TEST_CASE("idx: ranks 1 and 4, empty arrays, and gzip data larger than one read chunk") {
  TempDir dir;
  for (const bool gzip : {false, true}) {
    CAPTURE(gzip);
    const mbd::IdxArray rank1{{9}, pattern(9)};
    mbd::write_idx(dir.path / "r1", rank1, gzip);
    CHECK(mbd::read_idx(dir.path / "r1").data == rank1.data);
    const mbd::IdxArray rank4{{2, 1, 3, 2}, pattern(12)};
    mbd::write_idx(dir.path / "r4", rank4, gzip);
    CHECK(mbd::read_idx(dir.path / "r4").dims == rank4.dims);
    const mbd::IdxArray empty{{0, 28, 28}, {}};
    mbd::write_idx(dir.path / "empty", empty, gzip);
    const mbd::IdxArray back = mbd::read_idx(dir.path / "empty");
    CHECK(back.dims == empty.dims);
    CHECK(back.data.empty());
  }
  const mbd::IdxArray big{{3, 1024, 1024}, pattern(3u << 20)};
  mbd::write_idx(dir.path / "big.gz", big, true);
  CHECK(mbd::read_idx(dir.path / "big.gz").data == big.data);
}

TEST_CASE("idx: write_idx refuses data that disagrees with dims") {
  TempDir dir;
  CHECK_THROWS_AS(mbd::write_idx(dir.path / "x", mbd::IdxArray{{2, 3}, pattern(5)}, false),
                  minibatch::shape_error);
  CHECK_THROWS_AS(mbd::write_idx(dir.path / "x", mbd::IdxArray{{}, {}}, false), minibatch::shape_error);
  CHECK_THROWS_AS(mbd::write_idx(dir.path / "x", mbd::IdxArray{{1, 1, 1, 1, 1}, pattern(1)}, false),
                  minibatch::shape_error);
}

TEST_CASE("idx: missing file") {
  TempDir dir;
  check_read_fails(dir.path / "no-such-file-idx1-ubyte", {"no such file"});
  check_read_fails(dir.path, {"not a regular file"});
}

TEST_CASE("idx: wrong magic is printed in hex") {
  TempDir dir;
  Bytes bytes{0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 7};
  write_raw(dir.path / "bad-magic", bytes);
  check_read_fails(dir.path / "bad-magic", {"wrong magic", "0x12340801"});
  write_gz(dir.path / "bad-magic.gz", bytes);
  check_read_fails(dir.path / "bad-magic.gz", {"wrong magic", "0x12340801"});
}

TEST_CASE("idx: a type byte other than 0x08 is refused, naming the type") {
  TempDir dir;
  Bytes bytes = header(0x0D, 1, {2});
  bytes.resize(bytes.size() + 8);
  write_raw(dir.path / "floats", bytes);
  check_read_fails(dir.path / "floats", {"unsupported data type 0x0D", "float"});
}

TEST_CASE("idx: rank 0 and rank above 4") {
  TempDir dir;
  write_raw(dir.path / "rank0", header(0x08, 0, {}));
  check_read_fails(dir.path / "rank0", {"rank 0", "not in 1..4"});
  Bytes rank5 = header(0x08, 5, {1, 1, 1, 1, 1});
  rank5.push_back(3);
  write_raw(dir.path / "rank5", rank5);
  check_read_fails(dir.path / "rank5", {"rank 5", "not in 1..4"});
}

TEST_CASE("idx: truncated header") {
  TempDir dir;
  write_raw(dir.path / "two-bytes", {0, 0});
  check_read_fails(dir.path / "two-bytes", {"truncated header", "expected 4 magic bytes, got 2"});
  Bytes partial = header(0x08, 3, {5});
  write_raw(dir.path / "one-dim-of-three", partial);
  check_read_fails(dir.path / "one-dim-of-three", {"truncated header", "expected 12 bytes", "got 4"});
}

TEST_CASE("idx: truncated data, raw and gzip, says how many bytes were expected and got") {
  TempDir dir;
  Bytes bytes = header(0x08, 2, {2, 3});
  const Bytes data = pattern(4);
  bytes.insert(bytes.end(), data.begin(), data.end());
  write_raw(dir.path / "short", bytes);
  check_read_fails(dir.path / "short", {"truncated data", "need 6 bytes, got 4"});
  write_gz(dir.path / "short.gz", bytes);
  check_read_fails(dir.path / "short.gz", {"truncated data", "need 6 bytes, got 4"});
}

TEST_CASE("idx: a gzip stream cut short is reported as truncated") {
  TempDir dir;
  const fs::path whole = dir.path / "whole.gz";
  std::mt19937 noise(7);  // incompressible data, so that the cut falls inside the data
  mbd::IdxArray array{{64, 64}, Bytes(4096)};
  for (std::uint8_t& b : array.data) b = static_cast<std::uint8_t>(noise());
  mbd::write_idx(whole, array, true);
  const Bytes gz = read_raw(whole);
  const fs::path cut = dir.path / "cut.gz";
  write_raw(cut, Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2)));
  check_read_fails(cut, {"truncated data", "need 4096 bytes, got"});
}

TEST_CASE("idx: trailing bytes after the data, raw and gzip") {
  TempDir dir;
  Bytes bytes = header(0x08, 1, {4});
  const Bytes data = pattern(7);  // 4 data bytes + 3 extra
  bytes.insert(bytes.end(), data.begin(), data.end());
  write_raw(dir.path / "long", bytes);
  check_read_fails(dir.path / "long", {"3 trailing bytes", "need 4 bytes"});
  write_gz(dir.path / "long.gz", bytes);
  check_read_fails(dir.path / "long.gz", {"3 trailing bytes", "need 4 bytes"});
}

TEST_CASE("idx: dims whose product overflows size_t") {
  TempDir dir;
  const std::uint32_t big = 0xFFFFFFFFu;
  write_raw(dir.path / "overflow", header(0x08, 4, {big, big, big, big}));
  check_read_fails(dir.path / "overflow",
                   {"dims 4294967295 x 4294967295 x 4294967295 x 4294967295", "overflow size_t"});
}

TEST_CASE("idx: a header claiming 2^32 - 1 images in a tiny file throws without allocating it") {
  // 4294967295 x 28 x 28 bytes = 3.4 TB: an eager allocation would throw std::bad_alloc
  // (or take the machine down), not the io_error checked here.
  TempDir dir;
  Bytes bytes = header(0x08, 3, {0xFFFFFFFFu, 28, 28});
  const Bytes data = pattern(10);
  bytes.insert(bytes.end(), data.begin(), data.end());
  write_raw(dir.path / "huge-idx3-ubyte", bytes);
  check_read_fails(dir.path / "huge-idx3-ubyte", {"truncated data", "need 3367254359280 bytes, got 10"});
  write_gz(dir.path / "huge-idx3-ubyte.gz", bytes);
  check_read_fails(dir.path / "huge-idx3-ubyte.gz", {"truncated data", "need 3367254359280 bytes, got 10"});
}
