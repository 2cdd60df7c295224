// Little-endian binary encoding for the library's own file formats (checkpoints).
//
//   ByteWriter w;  w.u32(1); w.u64(n); w.string("W1"); w.scalars(std::span<const float>(...));
//   ByteReader r(bytes, "checkpoint '/tmp/ckpt'");  r.u32("format version"); r.string("slice name");
//
// Integers and IEEE floats are written little-endian whatever the host, so a file moves
// between machines. The reader is bounds-checked: every read names what it reads, and a
// read past the end throws io_error naming the source, the field, its offset and the bytes
// left. Counts read from a file are checked against the bytes left before anything is
// allocated (count_of), so a forged count cannot make the reader allocate more than the
// file itself holds.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"

namespace minibatch::io {

namespace detail {

template <std::unsigned_integral U>
constexpr U to_little_endian(U v) noexcept {
  if constexpr (std::endian::native == std::endian::little || sizeof(U) == 1) {
    return v;
  } else {
    U out = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) out |= static_cast<U>((v >> (8 * i)) & 0xFF) << (8 * (sizeof(U) - 1 - i));
    return out;
  }
}

// The unsigned integer of a scalar's width (float ↔ uint32, double ↔ uint64).
template <class T>
using bits_of = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

template <class T>
concept ieee_scalar = std::floating_point<T> && std::numeric_limits<T>::is_iec559 && (sizeof(T) == 4 || sizeof(T) == 8);

}  // namespace detail

class ByteWriter {
 public:
  std::vector<std::byte>& bytes() noexcept { return bytes_; }
  index_t size() const noexcept { return bytes_.size(); }

  template <std::unsigned_integral U>
  void integer(U v) {
    const U le = detail::to_little_endian(v);
    const auto* p = reinterpret_cast<const std::byte*>(&le);
    bytes_.insert(bytes_.end(), p, p + sizeof(U));
  }
  void u32(std::uint32_t v) { integer(v); }
  void u64(std::uint64_t v) { integer(v); }

  template <detail::ieee_scalar T>
  void scalar(T v) {
    integer(std::bit_cast<detail::bits_of<T>>(v));
  }
  template <detail::ieee_scalar T>
  void scalars(std::span<const T> values) {
    if constexpr (std::endian::native == std::endian::little) {
      const auto* p = reinterpret_cast<const std::byte*>(values.data());
      bytes_.insert(bytes_.end(), p, p + values.size_bytes());
    } else {
      for (const T v : values) scalar(v);
    }
  }
  // u32 length, then the bytes.
  void string(std::string_view s) {
    require<value_error>(s.size() <= std::numeric_limits<std::uint32_t>::max(), "ByteWriter: string of ", s.size(),
                         " bytes is too long");
    u32(static_cast<std::uint32_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), p, p + s.size());
  }

 private:
  std::vector<std::byte> bytes_;
};

class ByteReader {
 public:
  // `source` names the bytes in error messages, e.g. "checkpoint '/tmp/run.ckpt'".
  ByteReader(std::span<const std::byte> bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {}

  index_t offset() const noexcept { return offset_; }
  index_t remaining() const noexcept { return bytes_.size() - offset_; }
  const std::string& source() const noexcept { return source_; }

  template <std::unsigned_integral U>
  U integer(std::string_view what) {
    U v;
    std::memcpy(&v, take(sizeof(U), what).data(), sizeof(U));
    return detail::to_little_endian(v);
  }
  std::uint32_t u32(std::string_view what) { return integer<std::uint32_t>(what); }
  std::uint64_t u64(std::string_view what) { return integer<std::uint64_t>(what); }

  template <detail::ieee_scalar T>
  T scalar(std::string_view what) {
    return std::bit_cast<T>(integer<detail::bits_of<T>>(what));
  }
  // Reads count scalars into out (resized); count was checked with count_of first.
  template <detail::ieee_scalar T>
  void scalars(std::vector<T>& out, index_t count, std::string_view what) {
    const std::span<const std::byte> raw = take(checked_bytes(count, sizeof(T), what), what);
    out.resize(count);
    if constexpr (std::endian::native == std::endian::little) {
      if (count) std::memcpy(out.data(), raw.data(), raw.size());
    } else {
      for (index_t i = 0; i < count; ++i) {
        detail::bits_of<T> b;
        std::memcpy(&b, raw.data() + i * sizeof(T), sizeof(T));
        out[i] = std::bit_cast<T>(detail::to_little_endian(b));
      }
    }
  }
  // A u32 length and that many bytes, at most max_length.
  std::string string(std::string_view what, index_t max_length) {
    const std::uint32_t n = u32(what);
    fail_unless(n <= max_length, what, " is ", n, " bytes long, more than the ", max_length, " allowed");
    const std::span<const std::byte> raw = take(n, what);
    return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
  }

  // A u64 count of elements that take at least min_bytes each in what follows: refused
  // when the bytes left cannot hold that many, so a caller may allocate count elements.
  index_t count_of(std::string_view what, index_t min_bytes) {
    const std::uint64_t n = u64(what);
    fail_unless(min_bytes == 0 || n <= remaining() / min_bytes, what, " = ", n, " needs at least ",
                min_bytes, " bytes each, only ", remaining(), " bytes are left");
    return static_cast<index_t>(n);
  }

  // Throws io_error "<source>: <message>" when condition is false.
  template <class... Args>
  void fail_unless(bool condition, Args&&... message) const {
    if (!condition) throw io_error(minibatch::detail::concat(source_, ": ", std::forward<Args>(message)...));
  }

  void expect_end(std::string_view what) const {
    fail_unless(remaining() == 0, remaining(), " unexpected bytes after the ", what, " at offset ", offset_);
  }

 private:
  index_t checked_bytes(index_t count, index_t size, std::string_view what) const {
    fail_unless(count <= remaining() / size, "truncated: ", what, " needs ", count, " x ", size, " bytes at offset ",
                offset_, ", only ", remaining(), " left");
    return count * size;
  }
  std::span<const std::byte> take(index_t n, std::string_view what) {
    fail_unless(n <= remaining(), "truncated: ", what, " needs ", n, " bytes at offset ", offset_, ", only ",
                remaining(), " left");
    const auto out = bytes_.subspan(offset_, n);
    offset_ += n;
    return out;
  }

  std::span<const std::byte> bytes_;
  std::string source_;
  index_t offset_ = 0;
};

}  // namespace minibatch::io
