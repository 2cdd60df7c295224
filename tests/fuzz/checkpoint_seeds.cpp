// Writes the seed corpus of fuzz_checkpoint: real checkpoints written by the library itself
// (so they follow the format whatever it becomes): the optimizers' own state after a few
// updates, saved by save_checkpoint; plus a few refusals derived from them. No model or
// training loop, so that it builds fast and only needs the optimizers and the checkpoint code.
//
// Usage: checkpoint_seeds OUT_DIR   (built and run by tests/fuzz/run.sh)
//
// Every file is small (the fuzzer runs with -max_len 4096; a larger one is an error here)
// and deterministic. The checkpoints cover each optimizer kind and its state tensors (used,
// unused and not yet allocated), float32 and float64, positions at an epoch's start and
// mid-epoch, a bare tensor (one slice named ""), slices of rank 1 to 4, names at the edges,
// and non-finite values.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "minibatch/adagrad.hpp"
#include "minibatch/adam.hpp"
#include "minibatch/gd.hpp"
#include "minibatch/momentum.hpp"
#include "minibatch/train/checkpoint.hpp"
#include "minibatch/lamb.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/rmsprop.hpp"

namespace mb = minibatch;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_len = 4096;  // run.sh's -max_len
fs::path out;
int files = 0;

void write(const std::string& name, const std::vector<std::byte>& bytes) {
  if (bytes.size() > max_len) {
    std::fprintf(stderr, "checkpoint_seeds: %s has %zu bytes, more than -max_len %zu\n", name.c_str(), bytes.size(),
                 max_len);
    std::exit(1);
  }
  std::ofstream f(out / name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "checkpoint_seeds: cannot write %s\n", (out / name).c_str());
    std::exit(1);
  }
  ++files;
}

// The parameters of a {3, 4, 2} MLP (layer names and shapes as Mlp's; `hidden` widens it).
mb::ParamLayout mlp_layout(mb::index_t hidden = 4) {
  return {{"W1", mb::Shape{3, hidden}}, {"b1", mb::Shape{hidden}}, {"W2", mb::Shape{hidden, 2}}, {"b2", mb::Shape{2}}};
}

// Makes `steps` updates of `opt` on parameters with `layout` (deterministic values and
// gradients), then saves them with the position fit would write for a run of 3 batches per
// epoch over 24 examples with sampler seed 11.
template <class Opt>
void trained(const std::string& name, Opt& opt, mb::index_t steps, const mb::ParamLayout& layout = mlp_layout()) {
  using T = typename Opt::value_type;
  mb::ParamBuffer<T> params(layout), grads(layout);
  T* p = params.flat().data();
  for (mb::index_t i = 0; i < params.size(); ++i) p[i] = static_cast<T>(std::sin(0.7 * static_cast<double>(i) + 0.1));
  for (mb::index_t s = 0; s < steps; ++s) {
    T* g = grads.flat().data();
    for (mb::index_t i = 0; i < grads.size(); ++i)
      g[i] = static_cast<T>(std::cos(1.3 * static_cast<double>(i) + static_cast<double>(s)));
    opt.step(params, grads);
  }
  const mb::index_t per_epoch = 3;
  mb::save_checkpoint(out / name, params, opt,
                      {.step = steps, .epoch = steps / per_epoch, .batch = steps % per_epoch, .sampler_seed = 11,
                       .examples = 24, .batches_per_epoch = per_epoch});
  ++files;
}

void add_variants(const std::string& name) {
  const std::vector<std::byte> good = mb::io::read_whole_file(out / name);
  write(name + ".truncated_header", {good.begin(), good.begin() + 20});
  write(name + ".truncated_payload", {good.begin(), good.end() - 5});
  std::vector<std::byte> trailing = good;
  trailing.push_back(std::byte{0});
  write(name + ".trailing_byte", trailing);
  std::vector<std::byte> flipped = good;
  flipped[flipped.size() / 2] ^= std::byte{0x10};
  write(name + ".payload_crc", flipped);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: checkpoint_seeds OUT_DIR\n");
    return 2;
  }
  out = argv[1];
  fs::create_directories(out);

  {
    mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
    trained("mlp_momentum", opt, 3);  // at an epoch's start: epoch 1, batch 0
  }
  add_variants("mlp_momentum");
  {
    mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f, .form = mb::MomentumForm::pytorch, .dampening = 0.1f});
    trained("mlp_momentum_pytorch", opt, 4);  // mid-epoch: epoch 1, batch 1
  }
  {
    mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
    trained("mlp_momentum_fresh", opt, 0);  // before any step: velocity empty
  }
  {
    mb::Adam<float> opt({.lr = 0.01f});
    trained("mlp_adam", opt, 5);
  }
  {
    mb::AdamW<double> opt({.lr = 0.01, .weight_decay_mask = mb::SliceMask::min_rank(2)});
    trained("mlp_adamw_double", opt, 2, {{"W1", mb::Shape{2, 3}}, {"b1", mb::Shape{3}}, {"W2", mb::Shape{3, 3}},
                                         {"b2", mb::Shape{3}}, {"W3", mb::Shape{3, 2}}, {"b3", mb::Shape{2}}});
  }
  add_variants("mlp_adamw_double");
  {
    mb::RMSProp<float> opt({.lr = 0.01f});  // grad_avg and momentum_buffer unused: empty
    trained("mlp_rmsprop", opt, 2);
  }
  {
    mb::RMSProp<float> opt({.lr = 0.01f, .momentum = 0.5f, .centered = true});
    trained("mlp_rmsprop_centered", opt, 2, mlp_layout(2));
  }
  {
    mb::Adagrad<float> opt({.lr = 0.05f, .lr_decay = 0.01f});
    trained("mlp_adagrad", opt, 2);
  }
  {
    mb::LARS<float> opt({.lr = 1.0f, .weight_decay = 1e-4f});
    trained("mlp_lars", opt, 2);
  }
  {
    mb::LAMB<float> opt({.lr = 0.01f});
    trained("mlp_lamb", opt, 2);
  }
  {
    mb::GradientDescent<float> opt({.lr = 0.1f});  // no state tensors
    trained("mlp_gd", opt, 6);
  }
  {
    mb::Adam<double> opt({.lr = 0.01});
    trained("mlp_adam_double", opt, 7, mlp_layout(2));
  }
  {
    mb::Tensor<double> theta{1.0, -2.0, 3.5};
    mb::Adam<double> opt({.lr = 0.1});
    opt.step(theta, mb::Tensor<double>{0.5, 0.25, -1.0});
    mb::save_checkpoint(out / "tensor_adam_double", theta.view(), opt, {.step = 1});  // one slice named ""
    ++files;
  }
  {
    // Built by hand: slices of rank 1 to 4, long and odd names, non-finite values, positions
    // and counts at the edges of their types.
    mb::Checkpoint<float> c;
    c.position = {.step = std::numeric_limits<std::uint64_t>::max(), .epoch = 1u << 31, .batch = 6,
                  .sampler_seed = 0x9E3779B97F4A7C15u, .examples = 1, .batches_per_epoch = 7};
    c.layout.add("w", mb::Shape{2});
    c.layout.add("conv", mb::Shape{2, 1, 3});
    c.layout.add("t4", mb::Shape{1, 2, 1, 2});
    c.layout.add(std::string(200, 'n'), mb::Shape{1, 1});
    c.layout.add(std::string("\0\xff", 2), mb::Shape{1});
    const float inf = std::numeric_limits<float>::infinity();
    c.params = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-45f, 3.4e38f,
                1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f};
    c.optimizer = "Momentum";
    c.optimizer_steps = 3;
    c.lr = std::numeric_limits<float>::quiet_NaN();
    c.state.push_back({"velocity", std::vector<float>(c.params.size(), 0.25f)});
    c.state.push_back({"", {}});
    write("handmade_ranks_1_to_4", mb::encode_checkpoint(c));
    c.position.batch = c.position.batches_per_epoch;  // written, but refused on reading
    write("handmade_batch_past_epoch", mb::encode_checkpoint(c));
    mb::Checkpoint<double> empty;  // no slices, no kind: the smallest checkpoint
    write("handmade_empty_double", mb::encode_checkpoint(empty));
  }
  write("empty_file", {});
  const unsigned char magic[8] = {0x89, 'M', 'B', 'C', 'K', 'P', 'T', '\n'};
  write("magic_only", {reinterpret_cast<const std::byte*>(magic), reinterpret_cast<const std::byte*>(magic) + 8});

  for (const auto& entry : fs::directory_iterator(out)) {
    if (fs::file_size(entry.path()) > max_len) {
      std::fprintf(stderr, "checkpoint_seeds: %s has more than -max_len %zu bytes\n", entry.path().c_str(), max_len);
      return 1;
    }
  }
  std::printf("%d seed files in %s\n", files, out.c_str());
  return 0;
}
