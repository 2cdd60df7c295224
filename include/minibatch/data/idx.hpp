// The IDX file format of the MNIST files, unsigned-byte arrays only, raw or gzip.
// Layout: two zero bytes, a type byte (0x08 = unsigned byte; the signed, short, int,
// float and double types 0x09..0x0E are refused), a rank byte (1..4), then `rank`
// big-endian uint32 dims, then prod(dims) bytes of data in row-major order and nothing
// after it. MNIST labels are rank 1 (magic 0x00000801), images rank 3 (0x00000803).
//
// read_idx tells gzip from raw by the gzip magic bytes 1f 8b, never by the file name.
// It never allocates more than the file can really hold: for a raw file the size the
// header claims is checked against the file size before anything is allocated, and a
// gzip file is inflated in chunks of at most 1 MiB, the buffer growing only as data
// arrives. Every failure is an io_error whose message starts with the file path and
// names the problem (missing file, wrong magic in hex, type, rank, overflowing dims,
// truncated data with the byte counts expected and got, trailing bytes).
// write_idx writes the same format (gzip-compressed when asked) straight to the path.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ios>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "minibatch/core/error.hpp"

namespace minibatch::data {

// dims in file order (e.g. {n, rows, cols} for MNIST images); data row-major, size
// equal to the product of dims.
struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;
};

namespace detail {

inline constexpr std::size_t idx_chunk_bytes = std::size_t{1} << 20;
inline constexpr std::size_t idx_max_rank = 4;

inline std::string idx_dims_text(const std::vector<std::size_t>& dims) {
  std::string text;
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (k > 0) text += " x ";
    text += std::to_string(dims[k]);
  }
  return text;
}

// Product of dims, or nullopt when it overflows size_t.
inline std::optional<std::size_t> idx_element_count(const std::vector<std::size_t>& dims) {
  std::size_t count = 1;
  for (const std::size_t d : dims) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
    count *= d;
  }
  return count;
}

inline const char* idx_type_name(unsigned type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown type";
  }
}

inline std::string hex(std::uint64_t value, int digits) {
  static constexpr char symbols[] = "0123456789ABCDEF";
  std::string text(static_cast<std::size_t>(digits), '0');
  for (int k = digits - 1; k >= 0; --k, value >>= 4) text[static_cast<std::size_t>(k)] = symbols[value & 0xF];
  return "0x" + text;
}

struct GzClose {
  void operator()(gzFile file) const noexcept { gzclose(file); }
};
using GzHandle = std::unique_ptr<std::remove_pointer_t<gzFile>, GzClose>;

// The bytes of one file, inflated when it is gzip. Tracks how many bytes were consumed
// so that a raw file can say how many are left before anything is allocated.
class IdxInput {
 public:
  explicit IdxInput(const std::filesystem::path& path) : path_(path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    require<io_error>(std::filesystem::exists(status), where(), "no such file");
    require<io_error>(std::filesystem::is_regular_file(status), where(),
                      "not a regular file");
    raw_.open(path, std::ios::binary);
    require<io_error>(raw_.is_open(), where(), "cannot open the file for reading");
    size_ = std::filesystem::file_size(path, ec);
    require<io_error>(!ec, where(), "cannot get the file size: ", ec.message());

    std::array<char, 2> magic{};
    raw_.read(magic.data(), 2);
    gzip_ = raw_.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1F &&
            static_cast<unsigned char>(magic[1]) == 0x8B;
    if (gzip_) {
      raw_.close();
      gz_.reset(gzopen(path.string().c_str(), "rb"));
      require<io_error>(gz_ != nullptr, where(), "cannot open the gzip file for reading");
    } else {
      raw_.clear();
      raw_.seekg(0);
      require<io_error>(raw_.good(), where(), "cannot rewind the file");
    }
  }

  bool gzip() const noexcept { return gzip_; }

  // Bytes left in a raw file; nullopt for gzip, whose inflated size is not known.
  std::optional<std::uint64_t> bytes_left() const noexcept {
    if (gzip_) return std::nullopt;
    return size_ - std::min(size_, consumed_);
  }

  // Reads up to n bytes into dst; returns fewer only at the end of the data.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t got = 0;
    if (!gzip_) {
      while (got < n) {
        const std::size_t want = std::min(n - got, idx_chunk_bytes);
        raw_.read(reinterpret_cast<char*>(dst + got), static_cast<std::streamsize>(want));
        const auto read_now = static_cast<std::size_t>(raw_.gcount());
        got += read_now;
        if (read_now < want) {
          require<io_error>(!raw_.bad(), where(), "read error after ", consumed_ + got,
                            " bytes");
          break;
        }
      }
    } else {
      while (got < n) {
        const std::size_t want = std::min(n - got, idx_chunk_bytes);
        const int read_now = gzread(gz_.get(), dst + got, static_cast<unsigned>(want));
        if (read_now < 0) throw io_error(where() + "corrupt gzip data: " + gz_message());
        got += static_cast<std::size_t>(read_now);
        if (static_cast<std::size_t>(read_now) < want) break;
      }
    }
    consumed_ += got;
    return got;
  }

  // Why a gzip stream ended early, e.g. " (gzip: unexpected end of file)", or "".
  std::string gzip_end_reason() const {
    if (!gzip_) return "";
    int code = Z_OK;
    const char* message = gzerror(gz_.get(), &code);
    if (code == Z_OK || message == nullptr || *message == '\0') return "";
    return std::string(" (gzip: ") + message + ")";
  }

  // The message prefix "path: ".
  std::string where() const { return path_.string() + ": "; }

 private:
  std::string gz_message() const {
    int code = Z_OK;
    const char* message = gzerror(gz_.get(), &code);
    return message != nullptr ? message : "unknown zlib error";
  }

  std::filesystem::path path_;
  std::ifstream raw_;
  GzHandle gz_;
  bool gzip_ = false;
  std::uint64_t size_ = 0;
  std::uint64_t consumed_ = 0;
};

}  // namespace detail

// Reads an unsigned-byte IDX file, raw or gzip. Throws io_error (message starting with
// the path) for every malformed, truncated, missing or unreadable file.
inline IdxArray read_idx(const std::filesystem::path& path) {
  detail::IdxInput input(path);
  const std::string where = input.where();

  std::array<std::uint8_t, 4> magic{};
  const std::size_t magic_got = input.read(magic.data(), magic.size());
  require<io_error>(magic_got == magic.size(), where, "truncated header: expected 4 magic bytes, got ",
                    magic_got, input.gzip_end_reason());
  const std::uint32_t magic_value = (std::uint32_t{magic[0]} << 24) | (std::uint32_t{magic[1]} << 16) |
                                    (std::uint32_t{magic[2]} << 8) | std::uint32_t{magic[3]};
  require<io_error>(magic[0] == 0 && magic[1] == 0, where, "wrong magic ",
                    detail::hex(magic_value, 8),
                    ": not an IDX file (expected 0x0000TTRR, e.g. 0x00000803)");
  require<io_error>(magic[2] == 0x08, where, "unsupported data type ", detail::hex(magic[2], 2),
                    " (", detail::idx_type_name(magic[2]), ") in magic ",
                    detail::hex(magic_value, 8), ": only 0x08 (unsigned byte) is supported");
  const std::size_t rank = magic[3];
  require<io_error>(rank >= 1 && rank <= detail::idx_max_rank, where, "rank ", rank,
                    " in magic ", detail::hex(magic_value, 8), " is not in 1..4");

  std::array<std::uint8_t, 4 * detail::idx_max_rank> dim_bytes{};
  const std::size_t dim_got = input.read(dim_bytes.data(), 4 * rank);
  require<io_error>(dim_got == 4 * rank, where, "truncated header: expected ", 4 * rank,
                    " bytes of dims for rank ", rank, ", got ", dim_got,
                    input.gzip_end_reason());

  IdxArray array;
  array.dims.resize(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    const std::uint8_t* b = dim_bytes.data() + 4 * k;
    array.dims[k] = static_cast<std::size_t>((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                                             (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]});
  }
  const std::optional<std::size_t> count = detail::idx_element_count(array.dims);
  require<io_error>(count.has_value(), where, "dims ", detail::idx_dims_text(array.dims),
                    " overflow size_t (the product is too large to index)");
  const std::size_t expected = *count;
  const std::string dims_text = detail::idx_dims_text(array.dims);

  if (const std::optional<std::uint64_t> left = input.bytes_left()) {
    require<io_error>(*left >= expected, where, "truncated data: dims ", dims_text,
                      " need ", expected, " bytes, got ", *left);
    require<io_error>(*left == expected, where, *left - expected,
                      " trailing bytes after the data (dims ", dims_text, " need ", expected,
                      " bytes)");
    array.data.resize(expected);
    const std::size_t got = input.read(array.data.data(), expected);
    require<io_error>(got == expected, where, "truncated data: dims ", dims_text, " need ",
                      expected, " bytes, got ", got);
    return array;
  }

  // gzip: grow by at most one chunk at a time, only as inflated data really arrives.
  std::size_t got = 0;
  while (got < expected) {
    const std::size_t want = std::min(expected - got, detail::idx_chunk_bytes);
    array.data.resize(got + want);
    const std::size_t read_now = input.read(array.data.data() + got, want);
    got += read_now;
    if (read_now < want) break;
  }
  array.data.resize(got);
  require<io_error>(got == expected, where, "truncated data: dims ", dims_text, " need ",
                    expected, " bytes, got ", got, input.gzip_end_reason());
  std::array<std::uint8_t, 4096> scratch{};
  std::size_t trailing = 0;
  for (std::size_t read_now; (read_now = input.read(scratch.data(), scratch.size())) > 0;)
    trailing += read_now;
  require<io_error>(trailing == 0, where, trailing, " trailing bytes after the data (dims ",
                    dims_text, " need ", expected, " bytes)");
  return array;
}

// Writes `array` as an unsigned-byte IDX file, gzip-compressed when `gzip` is true.
// Throws shape_error when the rank is not 1..4, a dim exceeds uint32 or the data size is
// not the product of dims; io_error (message starting with the path) when writing fails.
inline void write_idx(const std::filesystem::path& path, const IdxArray& array, bool gzip) {
  const std::size_t rank = array.dims.size();
  require<shape_error>(rank >= 1 && rank <= detail::idx_max_rank, "write_idx: rank ", rank,
                       " is not in 1..4 (", path.string(), ")");
  for (const std::size_t d : array.dims)
    require<shape_error>(d <= std::numeric_limits<std::uint32_t>::max(), "write_idx: dim ", d,
                         " does not fit in uint32 (", path.string(), ")");
  const std::optional<std::size_t> count = detail::idx_element_count(array.dims);
  require<shape_error>(count.has_value() && *count == array.data.size(), "write_idx: dims ",
                       detail::idx_dims_text(array.dims), " do not describe the ",
                       array.data.size(), " data bytes (", path.string(), ")");

  std::vector<std::uint8_t> header{0, 0, 0x08, static_cast<std::uint8_t>(rank)};
  for (const std::size_t d : array.dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      header.push_back(static_cast<std::uint8_t>((d >> shift) & 0xFF));
  const std::string where = path.string() + ": ";

  if (gzip) {
    detail::GzHandle file(gzopen(path.string().c_str(), "wb"));
    require<io_error>(file != nullptr, where, "cannot open the file for writing");
    auto put = [&](const std::uint8_t* bytes, std::size_t n) {
      for (std::size_t done = 0; done < n;) {
        const std::size_t want = std::min(n - done, detail::idx_chunk_bytes);
        const int wrote = gzwrite(file.get(), bytes + done, static_cast<unsigned>(want));
        require<io_error>(wrote > 0, where, "gzip write failed after ", done, " bytes");
        done += static_cast<std::size_t>(wrote);
      }
    };
    put(header.data(), header.size());
    put(array.data.data(), array.data.size());
    require<io_error>(gzclose(file.release()) == Z_OK, where, "closing the gzip file failed");
    return;
  }

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  require<io_error>(file.is_open(), where, "cannot open the file for writing");
  file.write(reinterpret_cast<const char*>(header.data()),
             static_cast<std::streamsize>(header.size()));
  file.write(reinterpret_cast<const char*>(array.data.data()),
             static_cast<std::streamsize>(array.data.size()));
  file.close();
  require<io_error>(!file.fail(), where, "write failed");
}

}  // namespace minibatch::data
