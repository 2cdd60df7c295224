// libFuzzer target: decode_checkpoint (the in-memory checkpoint reader) on arbitrary bytes,
// as float and as double. A refusal must be a minibatch::io_error whose message starts with
// the source's name; any other exception (std::bad_alloc included), any sanitizer report
// and any broken invariant of an accepted input aborts the run. An accepted input must be
// what the writer writes, byte for byte: encode_checkpoint of the decoded content gives back
// exactly the input, which decodes again to the same content (bitwise, NaNs included).
// Decoding may allocate at most 32 bytes per input byte plus 64 KiB in all (the reader
// believes no count before the bytes it needs are there), counted with the sanitizer's
// malloc hooks, so a count believed too early is caught long before -malloc_limit_mb.
// The custom mutator (at the end) keeps the header's payload size and both CRC-32s right
// most of the time, so the fuzzer explores the payload parser behind an intact header.
// Seeds: real checkpoints (checkpoint_seeds.cpp). Build and run with tests/fuzz/run.sh.
#include <sanitizer/allocator_interface.h>
#include <zlib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "minibatch/train/checkpoint.hpp"

namespace mb = minibatch;

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

constexpr std::size_t header_bytes = 32;
const char* const source = "fuzz";

// Bytes allocated while `counting` (the hooks see every malloc and operator new of the process).
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocated{0};
void on_malloc(const volatile void*, std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocated.fetch_add(size, std::memory_order_relaxed);
}
void on_free(const volatile void*) {}

std::size_t allocation_limit(std::size_t input_bytes) { return 32 * input_bytes + 64 * 1024; }

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_checkpoint: invariant broken: %s\n", what);
    std::abort();
  }
}

template <class T>
bool same_values(const std::vector<T>& a, const std::vector<T>& b) {  // bitwise: NaN payloads and -0 count
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
bool same_content(const mb::Checkpoint<T>& a, const mb::Checkpoint<T>& b) {
  if (!(a.position == b.position) || !(a.layout == b.layout) || !same_values(a.params, b.params) ||
      a.optimizer != b.optimizer || a.optimizer_steps != b.optimizer_steps ||
      std::memcmp(&a.lr, &b.lr, sizeof(T)) != 0 || a.state.size() != b.state.size())
    return false;
  for (std::size_t i = 0; i < a.state.size(); ++i)
    if (a.state[i].name != b.state[i].name || !same_values(a.state[i].values, b.state[i].values)) return false;
  return true;
}

void check_allocations(std::size_t input_bytes) {
  if (allocated > allocation_limit(input_bytes)) {
    std::fprintf(stderr, "fuzz_checkpoint: decoding %zu bytes allocated %zu bytes, more than the limit %zu\n",
                 input_bytes, allocated.load(), allocation_limit(input_bytes));
    std::abort();
  }
}

// What every accepted checkpoint satisfies, whatever its bytes.
template <class T>
void check_invariants(const mb::Checkpoint<T>& c, std::span<const std::byte> bytes) {
  check(bytes.size() >= header_bytes, "accepted fewer bytes than the header");
  check(c.params.size() == c.layout.total_size(), "parameter count differs from the layout's total");
  check(c.layout.count() <= (std::size_t{1} << 16), "more slices than the format allows");
  std::size_t offset = 0;
  for (std::size_t i = 0; i < c.layout.count(); ++i) {
    const mb::ParamSlice& s = c.layout[i];
    check(s.offset == offset, "slice offsets are not consecutive");
    check(s.shape.rank() >= 1 && s.shape.size() > 0, "a slice of rank 0 or of no values");
    check(s.name.size() <= 4096, "a slice name longer than the format allows");
    for (std::size_t j = 0; j < i; ++j) check(c.layout[j].name != s.name, "two slices of one name");
    offset += s.shape.size();
  }
  check(c.optimizer.size() <= 4096, "an optimizer kind longer than the format allows");
  const mb::TrainPosition& p = c.position;
  check(p.batches_per_epoch == 0 || p.batch < p.batches_per_epoch, "position batch past the epoch");
  // Everything decoded came from the payload: the values alone cannot outnumber its bytes.
  std::size_t values = c.params.size();
  for (const auto& t : c.state) values += t.values.size();
  check(values * sizeof(T) <= bytes.size() - header_bytes, "more values than payload bytes");
}

// Decodes as T; false when refused (as it must be: with an io_error naming the source).
template <class T>
bool fuzz_as(std::span<const std::byte> bytes) {
  mb::Checkpoint<T> c;
  try {
    struct Count {  // counts the allocations of decode_checkpoint, returned or thrown
      Count() { allocated = 0, counting = true; }
      ~Count() { counting = false; }
    } count;
    c = mb::decode_checkpoint<T>(bytes, source);
  } catch (const mb::error& e) {
    check_allocations(bytes.size());
    if (dynamic_cast<const mb::io_error*>(&e) == nullptr) {
      std::fprintf(stderr, "fuzz_checkpoint: refused with a minibatch::error that is not an io_error: %s\n", e.what());
      std::abort();
    }
    check(std::string(e.what()).rfind(std::string(source) + ": ", 0) == 0,
          "the message does not start with the source");
    return false;
  }
  check_allocations(bytes.size());
  check_invariants(c, bytes);

  std::vector<std::byte> again;
  try {
    again = mb::encode_checkpoint(c);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_checkpoint: the writer refuses what the reader accepted: %s\n", e.what());
    std::abort();
  }
  check(again.size() == bytes.size() && std::memcmp(again.data(), bytes.data(), bytes.size()) == 0,
        "re-encoding the decoded checkpoint does not give back the input bytes");
  mb::Checkpoint<T> round;
  try {
    round = mb::decode_checkpoint<T>(again, source);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_checkpoint: the reader refuses what the writer wrote: %s\n", e.what());
    std::abort();
  }
  check(same_content(c, round), "the re-encoded checkpoint decodes to other content");
  return true;
}

// Little-endian field access in the header (the format's byte order, whatever the host's).
void put32(std::uint8_t* at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put64(std::uint8_t* at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t crc(const std::uint8_t* data, std::size_t size) {
  return static_cast<std::uint32_t>(::crc32_z(0UL, data, static_cast<z_size_t>(size)));
}
bool has_magic(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t magic[8] = {0x89, 'M', 'B', 'C', 'K', 'P', 'T', '\n'};
  return size >= header_bytes && std::memcmp(data, magic, sizeof magic) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const bool as_float = fuzz_as<float>(bytes);
  const bool as_double = fuzz_as<double>(bytes);
  check(!(as_float && as_double), "accepted both as float32 and as float64");
  return 0;
}

// Byte flips in a checkpoint almost always just break a CRC-32, which the reader checks
// first. So for an input with the magic bytes: 6 times in 8 it mutates the payload with
// libFuzzer's own mutator and reseals the header (payload size and both CRCs), 1 in 8 it
// mutates the header's fields (version, scalar type, size) and reseals the CRCs only; else,
// and for any other input, it mutates the bytes as they are, which keeps the refusals of
// broken headers and checksums in play.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  const unsigned mode = seed % 8;
  if (!has_magic(data, size) || max_size <= header_bytes || mode == 7) return LLVMFuzzerMutate(data, size, max_size);
  if (mode == 6) {
    // Mutate bytes 8..23 (version, scalar bytes, payload size), keep magic and payload.
    std::uint8_t fields[16];
    std::memcpy(fields, data + 8, sizeof fields);
    const std::size_t n = LLVMFuzzerMutate(fields, sizeof fields, sizeof fields);
    std::memset(fields + n, 0, sizeof fields - n);
    std::memcpy(data + 8, fields, sizeof fields);
  } else {
    const std::size_t payload =
        LLVMFuzzerMutate(data + header_bytes, size - header_bytes, max_size - header_bytes);
    size = header_bytes + payload;
    put64(data + 16, payload);
  }
  put32(data + 24, crc(data + header_bytes, size - header_bytes));
  put32(data + 28, crc(data, 28));
  return size;
}
