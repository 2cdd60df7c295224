// Checkpoints: the parameters, the optimizer state and the position of a training run in
// one file, so that a run killed at any moment continues from its last checkpoint with
// bitwise the weights an uninterrupted run would have reached.
//
//   save_checkpoint(path, model.params(), optimizer, position);      // atomic replace
//   TrainPosition at = load_checkpoint(path, model.params(), optimizer);
//   fit(model, data, optimizer, sampler, {.epochs = 10, .checkpoint = {.path = p, .every_steps = 100}});
//   fit(model, data, optimizer, sampler, {.epochs = 10, .resume_from = p});   // same options otherwise
//
// What is saved: the parameter values with their layout (slice names and shapes), the
// optimizer's kind, step count, lr and state tensors (optim/state.hpp), and a TrainPosition:
// the updates made so far and the (epoch, batch) of the next batch, plus the sampler's seed,
// the number of examples and the batches per epoch it was cut into. Samplers are
// deterministic in (seed, epoch, n), so the position fixes every later batch. Not saved: the
// optimizer's hyper-parameters other than the lr (build it with the same options), the
// data, and the state of callbacks (a schedule that computes the lr from StepInfo::step or
// opt.steps() resumes exactly; one that counts calls itself does not).
//
// File format (version 1), little-endian:
//
//   header (32 bytes)  magic 89 'M' 'B' 'C' 'K' 'P' 'T' 0A | u32 version | u32 scalar bytes
//                      (4 = float32, 8 = float64) | u64 payload bytes | u32 CRC-32 of the
//                      payload | u32 CRC-32 of the 28 header bytes before it
//   position           u64 step, epoch, batch, sampler seed, examples, batches per epoch
//   parameters         u64 slice count; per slice: string name, u32 rank, u64 dims[rank];
//                      u64 value count (= the layout's total); the values
//   optimizer          string kind; u64 steps; scalar lr; u64 tensor count; per tensor:
//                      string name, u64 value count, the values
//   (string = u32 length + bytes, at most 4096; at most 65536 slices; CRC-32 is zlib's)
//
// Writing builds the whole file in memory and replaces the old one atomically
// (io/atomic_file.hpp): a crash leaves either the previous checkpoint or the new one.
// Reading refuses, with io_error naming the file and the problem, anything that is not a
// complete, uncorrupted version-1 checkpoint of the expected scalar type; every count in the
// file is checked against the bytes that are really there before anything is allocated, so
// the reader never allocates more than the file's size. Loading then refuses a checkpoint
// that does not fit what it is loaded into — shape_error naming both shapes when the
// parameters differ, io_error when the optimizer kind, its state or the sampler differs —
// and changes nothing (parameters and optimizer are written only once all checks passed).
//
// fit with `.checkpoint = {.path, .every_steps = N}` saves after every N-th update (counted
// over the whole run, resumes included). A checkpoint due at the last batch of an epoch is
// written after that epoch's callbacks, so an lr they set is saved with it. With
// `.resume_from = path` fit restores parameters and optimizer and continues at the saved
// position up to the same end (first_epoch + epochs) as the run that wrote it: StepInfo::step
// counts on from the saved step, while the returned History and epoch records cover the
// resumed part only (its first epoch record is the partial epoch from the resume point on).
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zlib.h>

#include "minibatch/core/error.hpp"
#include "minibatch/io/atomic_file.hpp"
#include "minibatch/io/binary.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/samplers/sampler.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/train/callbacks.hpp"

namespace minibatch {

// Where a run stands: what the next update is.
struct TrainPosition {
  index_t step = 0;                // updates made so far = StepInfo::step of the next update
  index_t epoch = 0;               // epoch of the next batch
  index_t batch = 0;               // index of the next batch within that epoch
  std::uint64_t sampler_seed = 0;  // the sampler's seed (0 for a sampler without one)
  index_t examples = 0;            // training examples n the sampler cut into batches
  index_t batches_per_epoch = 0;

  friend bool operator==(const TrainPosition&, const TrainPosition&) = default;
};

// The content of a checkpoint file, in host memory.
template <class T>
struct Checkpoint {
  struct StateTensor {
    std::string name;
    std::vector<T> values;  // empty, or one value per parameter
  };
  TrainPosition position;
  ParamLayout layout;
  std::vector<T> params;  // flat, in layout order
  std::string optimizer;  // the optimizer's kind
  index_t optimizer_steps = 0;
  T lr = T(0);
  std::vector<StateTensor> state;
};

struct CheckpointOptions {
  std::filesystem::path path;  // empty: no checkpoints
  index_t every_steps = 0;     // save after every every_steps-th update (> 0 when path is set)
};

namespace detail {

inline constexpr std::uint32_t checkpoint_version = 1;
inline constexpr index_t checkpoint_header_bytes = 32;
inline constexpr unsigned char checkpoint_magic[8] = {0x89, 'M', 'B', 'C', 'K', 'P', 'T', '\n'};
// Limits of the format, checked by the writer and the reader alike.
inline constexpr index_t checkpoint_max_name_bytes = 4096;     // slice, kind and state tensor names
inline constexpr index_t checkpoint_max_slices = index_t{1} << 16;

inline const char* scalar_name(std::uint32_t bytes) {
  return bytes == 4 ? "float32" : bytes == 8 ? "float64" : "an unknown scalar type";
}

inline std::uint32_t crc32_of(std::span<const std::byte> bytes) {
  return static_cast<std::uint32_t>(
      ::crc32_z(0UL, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

inline std::string source_name(const std::filesystem::path& path) { return concat("checkpoint '", path.string(), "'"); }

// A state tensor on its way to the file: its name and host values.
template <class T>
struct NamedValues {
  std::string_view name;
  std::span<const T> values;
};

template <class T>
std::vector<std::byte> encode_checkpoint(const TrainPosition& p, const ParamLayout& layout, std::span<const T> params,
                                         std::string_view kind, index_t steps, T lr,
                                         std::span<const NamedValues<T>> state) {
  static_assert(io::detail::ieee_scalar<T>, "checkpoints hold float or double values");
  require<shape_error>(params.size() == layout.total_size(), "save_checkpoint: ", params.size(),
                       " parameter values for a layout of ", layout.total_size());
  auto check_name = [](std::string_view name, const char* what) {
    require<value_error>(name.size() <= checkpoint_max_name_bytes, "save_checkpoint: ", what, " '",
                         name.substr(0, 40), "...' is ", name.size(), " bytes long, a checkpoint allows ",
                         checkpoint_max_name_bytes);
  };
  require<value_error>(layout.count() <= checkpoint_max_slices, "save_checkpoint: ", layout.count(),
                       " parameter slices, a checkpoint allows ", checkpoint_max_slices);
  for (const ParamSlice& slice : layout.slices()) check_name(slice.name, "parameter slice name");
  check_name(kind, "optimizer kind");
  for (const NamedValues<T>& t : state) check_name(t.name, "state tensor name");

  io::ByteWriter w;
  w.bytes().resize(checkpoint_header_bytes);  // filled in once the payload's CRC is known
  for (const index_t v : {p.step, p.epoch, p.batch}) w.u64(v);
  w.u64(p.sampler_seed);
  w.u64(p.examples);
  w.u64(p.batches_per_epoch);
  w.u64(layout.count());
  for (const ParamSlice& s : layout.slices()) {
    w.string(s.name);
    w.u32(static_cast<std::uint32_t>(s.shape.rank()));
    for (const index_t d : s.shape.dims()) w.u64(d);
  }
  w.u64(params.size());
  w.scalars(params);
  w.string(kind);
  w.u64(steps);
  w.scalar(lr);
  w.u64(state.size());
  for (const NamedValues<T>& t : state) {
    w.string(t.name);
    w.u64(t.values.size());
    w.scalars(t.values);
  }

  std::vector<std::byte>& bytes = w.bytes();
  const std::span<const std::byte> payload = std::span<const std::byte>(bytes).subspan(checkpoint_header_bytes);
  io::ByteWriter header;
  for (const unsigned char c : checkpoint_magic) header.bytes().push_back(static_cast<std::byte>(c));
  header.u32(checkpoint_version);
  header.u32(sizeof(T));
  header.u64(payload.size());
  header.u32(crc32_of(payload));
  header.u32(crc32_of(header.bytes()));
  std::memcpy(bytes.data(), header.bytes().data(), checkpoint_header_bytes);
  return std::move(bytes);
}

// The host values of a backend tensor: the tensor's own memory on the CPU, else a copy in staging.
template <class T, Backend B>
std::span<const T> host_values(TensorView<const T, B> t, std::vector<T>& staging) {
  if constexpr (std::same_as<B, cpu>) {
    return {t.data(), t.size()};
  } else {
    staging = t.to_vector();
    return staging;
  }
}

template <class T, Backend B, StatefulOptimizer Opt>
void save_checkpoint_impl(const std::filesystem::path& path, const ParamLayout& layout, TensorView<const T, B> params,
                          const Opt& optimizer, const TrainPosition& position) {
  const OptimizerState<const T, B> state = optimizer.state();
  std::vector<T> param_staging;
  std::vector<std::vector<T>> state_staging(state.tensors.size());
  std::vector<NamedValues<T>> tensors;
  for (index_t i = 0; i < state.tensors.size(); ++i)
    tensors.push_back({state.tensors[i].name, host_values(state.tensors[i].tensor->view(), state_staging[i])});
  const std::vector<std::byte> bytes =
      encode_checkpoint<T>(position, layout, host_values(params, param_staging), state.kind, *state.steps,
                           static_cast<T>(optimizer.lr()), tensors);
  io::write_file_atomically(path, bytes);
}

// "W1 [4, 8], b1 [8]" (at most `limit` slices, then "…").
inline std::string describe_layout(const ParamLayout& layout, index_t limit = 8) {
  std::string out;
  for (index_t i = 0; i < layout.count() && i < limit; ++i) {
    if (i) out += ", ";
    out += concat("'", layout[i].name, "' ", layout[i].shape);
  }
  if (layout.count() > limit) out += ", ...";
  return out;
}

// Throws shape_error naming both shapes unless the checkpoint's layout is the parameters'.
inline void check_layout(const ParamLayout& saved, const ParamLayout& target, const std::string& source) {
  if (saved == target) return;
  for (index_t i = 0; i < saved.count() && i < target.count(); ++i) {
    const ParamSlice &a = saved[i], &b = target[i];
    if (a.name != b.name || !(a.shape == b.shape))
      throw shape_error(concat(source, " holds parameters of another shape: slice ", i, " is '", a.name, "' ",
                               a.shape, " in the checkpoint but '", b.name, "' ", b.shape,
                               " in the parameters (checkpoint: ", describe_layout(saved), "; parameters: ",
                               describe_layout(target), ")"));
  }
  throw shape_error(concat(source, " holds parameters of another shape: ", saved.count(), " slice(s) [",
                           describe_layout(saved), "] in the checkpoint, ", target.count(), " slice(s) [",
                           describe_layout(target), "] in the parameters"));
}

// Every check of restore_checkpoint that can fail, before anything is written.
template <class T, Backend B>
void check_state(const Checkpoint<T>& c, const OptimizerState<T, B>& target, index_t n, const std::string& source) {
  require<io_error>(c.optimizer == target.kind, source, " holds the state of a '", c.optimizer,
                    "' optimizer, not of '", target.kind, "'");
  require<io_error>(c.state.size() == target.tensors.size(), source, ": a ", c.optimizer, " optimizer has ",
                    target.tensors.size(), " state tensor(s), the checkpoint holds ", c.state.size());
  for (index_t i = 0; i < c.state.size(); ++i) {
    const auto& want = target.tensors[i];
    const auto& have = c.state[i];
    require<io_error>(have.name == want.name, source, ": state tensor ", i, " of a ", c.optimizer, " optimizer is '",
                      want.name, "', the checkpoint holds '", have.name, "'");
    const index_t expected = want.used && c.optimizer_steps > 0 ? n : 0;
    require<io_error>(have.values.size() == expected, source, ": state tensor '", have.name, "' holds ",
                      have.values.size(), " values, a ", c.optimizer, " optimizer with these options after ",
                      c.optimizer_steps, " step(s) on ", n, " parameters has ", expected,
                      want.used ? "" : " (these options do not use it)");
  }
  const double lr = static_cast<double>(c.lr);
  require<io_error>(std::isfinite(lr) && lr >= 0.0, source, ": learning rate ", lr, " is not finite and >= 0");
}

// Parameters into `params` (flat, with `layout`), optimizer state into `optimizer`.
template <class T, Backend B, StatefulOptimizer Opt>
void restore_checkpoint_impl(const Checkpoint<T>& c, const std::string& source, const ParamLayout& layout,
                             TensorView<T, B> params, Opt& optimizer) {
  check_layout(c.layout, layout, source);
  check_state(c, optimizer.state(), params.size(), source);
  memory<B>::from_host(params.data(), c.params.data(), c.params.size());
  if constexpr (requires { optimizer.reset(); }) optimizer.reset();  // drops slice tables built for other parameters
  OptimizerState<T, B> state = optimizer.state();
  for (index_t i = 0; i < c.state.size(); ++i) {
    const std::vector<T>& v = c.state[i].values;
    *state.tensors[i].tensor = v.empty() ? Tensor<T, B>() : Tensor<T, B>(Shape{v.size()}, std::span<const T>(v));
  }
  *state.steps = c.optimizer_steps;
  optimizer.set_lr(c.lr);
}

inline ParamLayout one_slice_layout(const Shape& shape) {
  ParamLayout layout;
  layout.add("", shape);
  return layout;
}

}  // namespace detail

// Decodes the bytes of a checkpoint file; `source` names it in errors. Throws io_error on
// anything but a complete, uncorrupted version-1 checkpoint of scalar type T. Allocates at
// most about bytes.size() plus the size of a Checkpoint.
template <class T>
Checkpoint<T> decode_checkpoint(std::span<const std::byte> bytes, const std::string& source) {
  static_assert(io::detail::ieee_scalar<T>, "checkpoints hold float or double values");
  using detail::checkpoint_header_bytes;
  const auto fail = [&](auto&&... message) { throw io_error(detail::concat(source, ": ", message...)); };

  const index_t magic_bytes = sizeof(detail::checkpoint_magic);
  if (bytes.size() < magic_bytes || std::memcmp(bytes.data(), detail::checkpoint_magic, magic_bytes) != 0)
    fail("not a minibatch checkpoint (the file does not start with the checkpoint magic bytes)");
  if (bytes.size() < checkpoint_header_bytes)
    fail("truncated: ", bytes.size(), " bytes, the checkpoint header alone has ", checkpoint_header_bytes);
  io::ByteReader header(bytes.first(checkpoint_header_bytes), source);
  header.integer<std::uint64_t>("magic");
  const std::uint32_t version = header.u32("format version");
  const std::uint32_t scalar = header.u32("scalar type");
  const std::uint64_t payload_bytes = header.u64("payload size");
  const std::uint32_t payload_crc = header.u32("payload checksum");
  const std::uint32_t header_crc = header.u32("header checksum");
  if (detail::crc32_of(bytes.first(checkpoint_header_bytes - 4)) != header_crc)
    fail("corrupted header (its CRC-32 does not match)");
  if (version != detail::checkpoint_version)
    fail("format version ", version, ", this build reads version ", detail::checkpoint_version);
  if (scalar != sizeof(T))
    fail("holds ", detail::scalar_name(scalar), " values, expected ", detail::scalar_name(sizeof(T)));
  const std::span<const std::byte> payload = bytes.subspan(checkpoint_header_bytes);
  if (payload.size() < payload_bytes)
    fail("truncated: the header announces ", payload_bytes, " payload bytes, the file holds ", payload.size());
  if (payload.size() > payload_bytes)
    fail(payload.size() - payload_bytes, " unexpected bytes after the ", payload_bytes, "-byte payload");
  if (const std::uint32_t crc = detail::crc32_of(payload); crc != payload_crc)
    fail("corrupted payload (CRC-32 ", crc, ", the header says ", payload_crc, ")");

  io::ByteReader r(payload, source);
  Checkpoint<T> c;
  TrainPosition& p = c.position;
  p.step = r.u64("step");
  p.epoch = r.u64("epoch");
  p.batch = r.u64("batch");
  p.sampler_seed = r.u64("sampler seed");
  p.examples = r.u64("examples");
  p.batches_per_epoch = r.u64("batches per epoch");
  r.fail_unless(p.batches_per_epoch == 0 || p.batch < p.batches_per_epoch, "position batch ", p.batch,
                " is past the ", p.batches_per_epoch, " batches of an epoch");

  const index_t slices = r.count_of("parameter slice count", 4 + 4 + 8);  // name length, rank, one dim
  r.fail_unless(slices <= detail::checkpoint_max_slices, slices, " parameter slices, a checkpoint holds at most ",
                detail::checkpoint_max_slices);
  index_t total = 0;
  for (index_t s = 0; s < slices; ++s) {
    std::string name = r.string("parameter slice name", detail::checkpoint_max_name_bytes);
    const std::uint32_t rank = r.u32("parameter slice rank");
    r.fail_unless(rank >= 1 && rank <= Shape::max_rank, "parameter slice '", name, "' has rank ", rank,
                  ", expected 1 to ", Shape::max_rank);
    index_t dims[Shape::max_rank] = {};
    index_t size = 1;
    const index_t limit = r.remaining() / sizeof(T);  // the values follow, so at most this many
    for (std::uint32_t k = 0; k < rank; ++k) {
      const std::uint64_t d = r.u64("parameter slice extent");
      r.fail_unless(d > 0 && d <= limit && size <= limit / d, "parameter slice '", name, "' has extent ", d,
                    " on axis ", k, ": 0, or more values than the rest of the file holds");
      dims[k] = static_cast<index_t>(d);
      size *= dims[k];
    }
    r.fail_unless(!c.layout.contains(name), "parameter slice name '", name, "' appears twice");
    total += size;
    r.fail_unless(total <= limit, "the parameter slices hold ", total,
                  " values or more, more than the rest of the file holds");
    c.layout.add(std::move(name), Shape(std::span<const index_t>(dims, rank)));
  }
  const index_t values = r.count_of("parameter value count", sizeof(T));
  r.fail_unless(values == c.layout.total_size(), values, " parameter values for slices of ", c.layout.total_size(),
                " values");
  r.scalars(c.params, values, "parameter values");

  c.optimizer = r.string("optimizer kind", detail::checkpoint_max_name_bytes);
  c.optimizer_steps = r.u64("optimizer steps");
  c.lr = r.scalar<T>("learning rate");
  const index_t tensors = r.count_of("optimizer state tensor count", 4 + 8);  // name length, value count
  c.state.reserve(tensors);
  for (index_t i = 0; i < tensors; ++i) {
    typename Checkpoint<T>::StateTensor& t = c.state.emplace_back();
    t.name = r.string("state tensor name", detail::checkpoint_max_name_bytes);
    const index_t count = r.count_of("state tensor value count", sizeof(T));
    r.scalars(t.values, count, "state tensor values");
  }
  r.expect_end("optimizer state");
  return c;
}

// Reads and decodes a checkpoint file (see decode_checkpoint).
template <class T>
Checkpoint<T> read_checkpoint(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = io::read_whole_file(path);
  return decode_checkpoint<T>(bytes, detail::source_name(path));
}

// Encodes a checkpoint held in host memory (what read_checkpoint returns) to file bytes.
template <class T>
std::vector<std::byte> encode_checkpoint(const Checkpoint<T>& c) {
  std::vector<detail::NamedValues<T>> state;
  for (const auto& t : c.state) state.push_back({t.name, t.values});
  return detail::encode_checkpoint<T>(c.position, c.layout, c.params, c.optimizer, c.optimizer_steps, c.lr, state);
}

// The parameters an optimizer of type Opt updates.
template <class Opt>
using params_for = ParamBuffer<typename Opt::value_type, typename Opt::backend_type>;
template <class Opt>
using view_for = TensorView<typename Opt::value_type, typename Opt::backend_type>;
template <class Opt>
using const_view_for = TensorView<const typename Opt::value_type, typename Opt::backend_type>;

// Writes parameters, optimizer state and position to `path`, atomically (see the top).
template <StatefulOptimizer Opt>
void save_checkpoint(const std::filesystem::path& path, const params_for<Opt>& params, const Opt& optimizer,
                     const TrainPosition& position = {}) {
  detail::save_checkpoint_impl(path, params.layout(), params.flat(), optimizer, position);
}
// A bare tensor is saved as one slice named "" with its shape.
template <StatefulOptimizer Opt>
void save_checkpoint(const std::filesystem::path& path, const_view_for<Opt> params, const Opt& optimizer,
                     const TrainPosition& position = {}) {
  detail::save_checkpoint_impl(path, detail::one_slice_layout(params.shape()), params, optimizer, position);
}

// Restores a checkpoint already read; `source` names it in errors. Refuses (and changes
// nothing) when it does not fit: shape_error for other parameter shapes, io_error for another
// optimizer kind or state.
template <StatefulOptimizer Opt>
void restore_checkpoint(const Checkpoint<typename Opt::value_type>& checkpoint, const std::string& source,
                        params_for<Opt>& params, Opt& optimizer) {
  detail::restore_checkpoint_impl(checkpoint, source, params.layout(), params.flat(), optimizer);
}

// Reads `path` and restores parameters and optimizer from it; returns the saved position.
template <StatefulOptimizer Opt>
TrainPosition load_checkpoint(const std::filesystem::path& path, params_for<Opt>& params, Opt& optimizer) {
  const auto c = read_checkpoint<typename Opt::value_type>(path);
  restore_checkpoint(c, detail::source_name(path), params, optimizer);
  return c.position;
}
template <StatefulOptimizer Opt>
TrainPosition load_checkpoint(const std::filesystem::path& path, view_for<Opt> params, Opt& optimizer) {
  const auto c = read_checkpoint<typename Opt::value_type>(path);
  detail::restore_checkpoint_impl(c, detail::source_name(path), detail::one_slice_layout(params.shape()), params,
                                  optimizer);
  return c.position;
}

namespace detail {

// The position fields a sampler fixes: its seed, and how it cuts n examples.
template <Sampler S>
TrainPosition sampler_position(S& sampler, index_t examples) {
  TrainPosition p;
  if constexpr (requires { sampler.options().seed; }) p.sampler_seed = sampler.options().seed;
  p.examples = examples;
  p.batches_per_epoch = sampler.batches_per_epoch(examples);
  return p;
}

// Throws io_error unless a checkpoint's position continues with this sampler on n examples.
inline void check_resume_position(const TrainPosition& saved, const TrainPosition& now, const std::string& source) {
  require<io_error>(saved.examples == now.examples, source, " was written for ", saved.examples,
                    " training examples, this data set has ", now.examples);
  require<io_error>(saved.sampler_seed == now.sampler_seed, source, " was written with sampler seed ",
                    saved.sampler_seed, ", this sampler has seed ", now.sampler_seed);
  require<io_error>(saved.batches_per_epoch == now.batches_per_epoch, source, " was written with ",
                    saved.batches_per_epoch, " batches per epoch, this sampler cuts ", now.batches_per_epoch,
                    " (another batch size or drop_last?)");
}

// fit's callback: saves a checkpoint after every every_steps-th update. One due at the last
// batch of an epoch waits for on_epoch (it runs last, after the user's callbacks), so the
// saved position is the start of the next epoch and an lr set by on_epoch callbacks is in it.
template <class T, Backend B, StatefulOptimizer Opt>
class PeriodicCheckpoint {
 public:
  PeriodicCheckpoint(CheckpointOptions options, const ParamBuffer<T, B>& params, const Opt& optimizer,
                     TrainPosition sampler_position)
      : options_(std::move(options)), params_(&params), optimizer_(&optimizer), position_(sampler_position) {
    require<value_error>(options_.path.empty() || options_.every_steps > 0, "fit: checkpoint.every_steps must be > 0 "
                         "to checkpoint to '", options_.path.string(), "'");
  }

  static constexpr bool reads_step_loss = false;  // only the position: no per-step read-back needed

  void on_step(const StepInfo& s) {
    if (options_.path.empty() || (s.step + 1) % options_.every_steps != 0) return;
    position_.step = s.step + 1;
    if (s.batch + 1 < position_.batches_per_epoch) {
      position_.epoch = s.epoch;
      position_.batch = s.batch + 1;
      save_checkpoint(options_.path, *params_, *optimizer_, position_);
    } else {
      position_.epoch = s.epoch + 1;
      position_.batch = 0;
      pending_ = true;
    }
  }
  void on_epoch(const EpochInfo&) {
    if (!pending_) return;
    pending_ = false;
    save_checkpoint(options_.path, *params_, *optimizer_, position_);
  }

 private:
  CheckpointOptions options_;
  const ParamBuffer<T, B>* params_;
  const Opt* optimizer_;
  TrainPosition position_;
  bool pending_ = false;
};

// Stands in for PeriodicCheckpoint with optimizers that cannot be checkpointed.
struct NoCheckpoint {
  static constexpr bool reads_step_loss = false;  // lets the loop skip its per-step read-back
  void on_step(const StepInfo&) {}
};

}  // namespace detail
}  // namespace minibatch
