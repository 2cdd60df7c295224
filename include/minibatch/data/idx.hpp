// The IDX file format of the MNIST files, unsigned-byte arrays only, raw or gzip.
// Layout: two zero bytes, a type byte (0x08 = unsigned byte; the signed, short, int,
// float and double types 0x09..0x0E are refused), a rank byte (1..4), then `rank`
// big-endian uint32 dims, then prod(dims) bytes of data in row-major order and nothing
// after it. MNIST labels are rank 1 (magic 0x00000801), images rank 3 (0x00000803).
//
// read_idx(path) reads a file, parse_idx(bytes, name) the same bytes from memory; both
// run one parser and give the same result or the same error. Gzip is told from raw by
// the gzip magic bytes 1f 8b, never by the file name; concatenated gzip members read as
// one stream, and bytes after the last member are refused.
// Nothing is allocated beyond what the input can really hold: for raw data the size the
// header claims is checked against the bytes present before anything is allocated, and
// gzip data is inflated in chunks of at most 1 MiB, the buffer growing only as data
// arrives (read_idx also holds the compressed file, whose size is real). Every failure
// is an io_error whose message starts with the file path (or name) and names the
// problem (missing file, wrong magic in hex, type, rank, overflowing dims, corrupt gzip,
// truncated data with the byte counts expected and got, trailing bytes).
// write_idx writes the same format (gzip-compressed when asked) straight to the path.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ios>
#include <limits>
#include <memory>
#include <optional>
#include <span>
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

inline bool is_gzip(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
}

// The sources parse_idx_from reads. Each has read(dst, n), which returns fewer than n
// bytes only at the end of the data; bytes_left(), the bytes still to come when that is
// known before reading them (raw data), nullopt for gzip; and end_reason(), why a gzip
// stream ended early (" (gzip: unexpected end of file)") or "".

// Raw IDX bytes in memory.
class IdxMemorySource {
 public:
  explicit IdxMemorySource(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}

  std::size_t read(std::uint8_t* dst, std::size_t n) noexcept {
    const std::size_t take = std::min(n, bytes_.size() - consumed_);
    if (take > 0) std::memcpy(dst, bytes_.data() + consumed_, take);
    consumed_ += take;
    return take;
  }
  std::optional<std::uint64_t> bytes_left() const noexcept { return bytes_.size() - consumed_; }
  std::string end_reason() const { return ""; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t consumed_ = 0;
};

// A raw IDX file, read in chunks of at most idx_chunk_bytes straight into the caller's
// buffer; its size is known up front, so a header can be checked against it.
class IdxFileSource {
 public:
  IdxFileSource(std::ifstream& file, std::uint64_t size, const std::string& where) noexcept
      : file_(file), size_(size), where_(where) {}

  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      const std::size_t want = std::min(n - got, idx_chunk_bytes);
      file_.read(reinterpret_cast<char*>(dst + got), static_cast<std::streamsize>(want));
      const auto read_now = static_cast<std::size_t>(file_.gcount());
      got += read_now;
      if (read_now < want) {
        require<io_error>(!file_.bad(), where_, "read error after ", consumed_ + got, " bytes");
        break;
      }
    }
    consumed_ += got;
    return got;
  }
  std::optional<std::uint64_t> bytes_left() const noexcept { return size_ - std::min(size_, consumed_); }
  std::string end_reason() const { return ""; }

 private:
  std::ifstream& file_;
  std::uint64_t size_;
  const std::string& where_;
  std::uint64_t consumed_ = 0;
};

// A gzip stream in memory, inflated on demand (zlib's inflate, gzip wrapper only), so
// the output grows only as data really comes out. Concatenated members (`cat a.gz b.gz`)
// read as one stream, as gunzip reads them; bytes after the last member that do not
// start another member are refused (zlib's gzread would drop them silently).
class IdxGzipSource {
 public:
  IdxGzipSource(std::span<const std::uint8_t> compressed, const std::string& where)
      : compressed_(compressed), where_(where) {
    const int rc = inflateInit2(&stream_, 16 + MAX_WBITS);
    require<io_error>(rc == Z_OK, where_, "cannot start inflating the gzip data: ", zError(rc));
  }
  ~IdxGzipSource() { inflateEnd(&stream_); }
  IdxGzipSource(const IdxGzipSource&) = delete;
  IdxGzipSource& operator=(const IdxGzipSource&) = delete;

  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t got = 0;
    while (got < n && !ended_) {
      refill_input();
      const auto room = static_cast<uInt>(std::min(n - got, idx_chunk_bytes));
      stream_.next_out = dst + got;
      stream_.avail_out = room;
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      got += room - stream_.avail_out;
      if (rc == Z_STREAM_END) {
        end_member();
      } else if (rc == Z_BUF_ERROR && stream_.avail_in == 0 && fed_ == compressed_.size()) {
        ended_ = true;
        truncated_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw io_error(where_ + "corrupt gzip data: " +
                       (stream_.msg != nullptr ? stream_.msg : zError(rc)));
      }
    }
    return got;
  }
  std::optional<std::uint64_t> bytes_left() const noexcept { return std::nullopt; }
  std::string end_reason() const { return truncated_ ? " (gzip: unexpected end of file)" : ""; }

 private:
  // avail_in is a 32-bit uInt: feed the input in pieces of at most 1 GiB.
  void refill_input() {
    if (stream_.avail_in > 0 || fed_ == compressed_.size()) return;
    const std::size_t piece = std::min<std::size_t>(compressed_.size() - fed_, std::size_t{1} << 30);
    stream_.next_in = const_cast<Bytef*>(compressed_.data() + fed_);
    stream_.avail_in = static_cast<uInt>(piece);
    fed_ += piece;
  }

  // One member ended: another one follows, or the input must end here.
  void end_member() {
    const std::size_t unread = stream_.avail_in + (compressed_.size() - fed_);
    const std::size_t at = compressed_.size() - unread;
    if (unread == 0) {
      ended_ = true;
      return;
    }
    require<io_error>(is_gzip(compressed_.subspan(at)), where_, unread,
                      " bytes of trailing garbage after the gzip stream (at byte ", at, ")");
    const int rc = inflateReset(&stream_);
    require<io_error>(rc == Z_OK, where_, "cannot restart inflating: ", zError(rc));
  }

  std::span<const std::uint8_t> compressed_;
  const std::string& where_;
  z_stream stream_{};
  std::size_t fed_ = 0;  // bytes of compressed_ handed to zlib so far
  bool ended_ = false;
  bool truncated_ = false;
};

// The IDX format proper, on any source above; messages start with `where` ("name: ").
// A source that knows how many bytes are left (raw data) has the header's claim
// checked against them before anything is allocated; a gzip source fills the data in
// chunks of at most idx_chunk_bytes, the buffer growing only as inflated data arrives.
template <class Source>
IdxArray parse_idx_from(Source& input, const std::string& where) {
  std::array<std::uint8_t, 4> magic{};
  const std::size_t magic_got = input.read(magic.data(), magic.size());
  require<io_error>(magic_got == magic.size(), where, "truncated header: expected 4 magic bytes, got ",
                    magic_got, input.end_reason());
  const std::uint32_t magic_value = (std::uint32_t{magic[0]} << 24) | (std::uint32_t{magic[1]} << 16) |
                                    (std::uint32_t{magic[2]} << 8) | std::uint32_t{magic[3]};
  require<io_error>(magic[0] == 0 && magic[1] == 0, where, "wrong magic ", hex(magic_value, 8),
                    ": not an IDX file (expected 0x0000TTRR, e.g. 0x00000803)");
  require<io_error>(magic[2] == 0x08, where, "unsupported data type ", hex(magic[2], 2), " (",
                    idx_type_name(magic[2]), ") in magic ", hex(magic_value, 8),
                    ": only 0x08 (unsigned byte) is supported");
  const std::size_t rank = magic[3];
  require<io_error>(rank >= 1 && rank <= idx_max_rank, where, "rank ", rank, " in magic ",
                    hex(magic_value, 8), " is not in 1..4");

  std::array<std::uint8_t, 4 * idx_max_rank> dim_bytes{};
  const std::size_t dim_got = input.read(dim_bytes.data(), 4 * rank);
  require<io_error>(dim_got == 4 * rank, where, "truncated header: expected ", 4 * rank,
                    " bytes of dims for rank ", rank, ", got ", dim_got, input.end_reason());

  IdxArray array;
  array.dims.resize(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    const std::uint8_t* b = dim_bytes.data() + 4 * k;
    array.dims[k] = static_cast<std::size_t>((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                                             (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]});
  }
  const std::optional<std::size_t> count = idx_element_count(array.dims);
  require<io_error>(count.has_value(), where, "dims ", idx_dims_text(array.dims),
                    " overflow size_t (the product is too large to index)");
  const std::size_t expected = *count;
  const std::string dims_text = idx_dims_text(array.dims);

  if (const std::optional<std::uint64_t> left = input.bytes_left()) {
    require<io_error>(*left >= expected, where, "truncated data: dims ", dims_text, " need ", expected,
                      " bytes, got ", *left);
    require<io_error>(*left == expected, where, *left - expected, " trailing bytes after the data (dims ",
                      dims_text, " need ", expected, " bytes)");
    array.data.resize(expected);
    const std::size_t got = input.read(array.data.data(), expected);
    require<io_error>(got == expected, where, "truncated data: dims ", dims_text, " need ", expected,
                      " bytes, got ", got);
    return array;
  }

  std::size_t got = 0;
  while (got < expected) {
    const std::size_t want = std::min(expected - got, idx_chunk_bytes);
    array.data.resize(got + want);
    const std::size_t read_now = input.read(array.data.data() + got, want);
    got += read_now;
    if (read_now < want) break;
  }
  array.data.resize(got);
  require<io_error>(got == expected, where, "truncated data: dims ", dims_text, " need ", expected,
                    " bytes, got ", got, input.end_reason());
  std::array<std::uint8_t, 4096> scratch{};
  std::size_t trailing = 0;
  for (std::size_t read_now; (read_now = input.read(scratch.data(), scratch.size())) > 0;) trailing += read_now;
  require<io_error>(trailing == 0, where, trailing, " trailing bytes after the data (dims ", dims_text,
                    " need ", expected, " bytes)");
  // All the data came out, but the stream behind it was cut (e.g. in the gzip trailer,
  // so its CRC and length went unchecked).
  require<io_error>(input.end_reason().empty(), where, "truncated after the data (dims ", dims_text,
                    ")", input.end_reason());
  return array;
}

}  // namespace detail

// Parses an unsigned-byte IDX array from memory, raw or gzip (told apart by the gzip
// magic). Throws io_error whose message starts with "name: " for every malformed or
// truncated input, exactly as read_idx does for a file holding the same bytes.
inline IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& name) {
  const std::string where = name + ": ";
  if (detail::is_gzip(bytes)) {
    detail::IdxGzipSource input(bytes, where);
    return detail::parse_idx_from(input, where);
  }
  detail::IdxMemorySource input(bytes);
  return detail::parse_idx_from(input, where);
}

// Reads an unsigned-byte IDX file, raw or gzip. Throws io_error (message starting with
// the path) for every malformed, truncated, missing or unreadable file. A raw file is
// read straight into the result; a gzip file is read whole (its own size) and inflated
// by parse_idx.
inline IdxArray read_idx(const std::filesystem::path& path) {
  const std::string where = path.string() + ": ";
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  require<io_error>(std::filesystem::exists(status), where, "no such file");
  require<io_error>(std::filesystem::is_regular_file(status), where, "not a regular file");
  std::ifstream file(path, std::ios::binary);
  require<io_error>(file.is_open(), where, "cannot open the file for reading");
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  require<io_error>(!ec, where, "cannot get the file size: ", ec.message());

  std::array<std::uint8_t, 2> magic{};
  file.read(reinterpret_cast<char*>(magic.data()), static_cast<std::streamsize>(magic.size()));
  const auto magic_got = static_cast<std::size_t>(file.gcount());
  const bool gzip = detail::is_gzip(std::span<const std::uint8_t>(magic.data(), magic_got));
  file.clear();
  file.seekg(0);
  require<io_error>(file.good(), where, "cannot rewind the file");
  detail::IdxFileSource input(file, size, where);
  if (!gzip) return detail::parse_idx_from(input, where);

  require<io_error>(size <= std::numeric_limits<std::size_t>::max(), where, "file of ", size,
                    " bytes is too large to hold in memory");
  std::vector<std::uint8_t> compressed(static_cast<std::size_t>(size));
  compressed.resize(input.read(compressed.data(), compressed.size()));  // shorter if the file shrank
  return parse_idx(compressed, path.string());
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
