// Checkpoint files: every optimizer's state round-trips bitwise and training continues
// identically; corrupted, truncated, forged and mismatched files are refused with an error
// that names the file and the problem, and a refused load or a failed save changes nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include "minibatch/adagrad.hpp"
#include "minibatch/adam.hpp"
#include "minibatch/checkpoint.hpp"
#include "minibatch/data/synthetic.hpp"
#include "minibatch/lamb.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/optim/transform.hpp"
#include "minibatch/rmsprop.hpp"
#include "test_checkpoint_util.hpp"

namespace mb = minibatch;
using checkpoint_test::bitwise_equal;
using checkpoint_test::ScratchDir;

namespace {

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// Trains a fresh {6, 8, 3} MLP one epoch with make(), saves, restores into another model and
// a second make(), checks everything is bitwise equal, then trains both one more epoch.
template <class Make>
void check_round_trip(const char* name, Make make) {
  INFO(name);
  ScratchDir dir(std::string("round_trip_") + name);
  const auto data = mb::data::make_blobs(120, 6, 3, 0.5, 31);
  mb::Mlp<float> model({6, 8, 3}, mb::Activation::relu, 32);
  auto opt = make();
  mb::ShuffledSampler sampler({.batch_size = 16, .seed = 33});
  mb::fit(model, data, opt, sampler, {.epochs = 1, .evaluate_train = false});
  opt.set_lr(opt.lr() * 0.5f);  // as a schedule would: the lr is saved too

  const auto path = dir / "run.ckpt";
  const mb::TrainPosition position{.step = opt.steps(), .epoch = 1, .batch = 0, .sampler_seed = 33};
  mb::save_checkpoint(path, model.params(), opt, position);
  mb::Mlp<float> restored({6, 8, 3}, mb::Activation::relu, 99);
  auto opt2 = make();
  CHECK(mb::load_checkpoint(path, restored.params(), opt2) == position);

  CHECK(bitwise_equal(model.params().flat(), restored.params().flat()));
  CHECK(opt2.steps() == opt.steps());
  CHECK(opt2.lr() == opt.lr());
  const auto a = std::as_const(opt).state();
  const auto b = std::as_const(opt2).state();
  CHECK(a.kind == b.kind);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].name);
    CHECK(a.tensors[i].tensor->size() == (a.tensors[i].used ? model.params().size() : 0));
    CHECK(bitwise_equal(a.tensors[i].tensor->view(), b.tensors[i].tensor->view()));
  }

  mb::fit(model, data, opt, sampler, {.epochs = 1, .evaluate_train = false, .first_epoch = 1});
  mb::fit(restored, data, opt2, sampler, {.epochs = 1, .evaluate_train = false, .first_epoch = 1});
  CHECK(bitwise_equal(model.params().flat(), restored.params().flat()));
}

// A small model and optimizer that made a few steps, saved to `path`.
struct Saved {
  mb::Mlp<float> model{{4, 5, 3}, mb::Activation::relu, 41};
  mb::Momentum<float> opt{{.lr = 0.05f, .momentum = 0.9f}};

  explicit Saved(const std::filesystem::path& path) {
    const auto data = mb::data::make_blobs(40, 4, 3, 0.5, 42);
    mb::SequentialSampler sampler({.batch_size = 8});
    mb::fit(model, data, opt, sampler, {.epochs = 1, .evaluate_train = false});
    mb::save_checkpoint(path, model.params(), opt, {.step = 5, .epoch = 1});
  }
};

// Recomputes both CRCs of a checkpoint after its bytes were edited (to forge valid files).
void reseal(std::vector<std::byte>& bytes) {
  auto crc = [&](std::size_t begin, std::size_t end) {
    return static_cast<std::uint32_t>(
        ::crc32_z(0UL, reinterpret_cast<const Bytef*>(bytes.data() + begin), static_cast<z_size_t>(end - begin)));
  };
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) bytes[at + k] = static_cast<std::byte>((v >> (8 * k)) & 0xFF);
  };
  put32(24, crc(32, bytes.size()));
  put32(28, crc(0, 28));
}

void put64(std::vector<std::byte>& bytes, std::size_t at, std::uint64_t v) {
  for (int k = 0; k < 8; ++k) bytes[at + k] = static_cast<std::byte>((v >> (8 * k)) & 0xFF);
}

std::string decode_error(const std::vector<std::byte>& bytes) {
  try {
    mb::decode_checkpoint<float>(bytes, "checkpoint 'forged'");
  } catch (const mb::io_error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("checkpoint: Momentum and Adam state round-trips bitwise and training continues identically") {
  check_round_trip("Momentum", [] { return mb::Momentum<float>({.lr = 0.05f, .momentum = 0.9f}); });
  check_round_trip("Adam", [] { return mb::Adam<float>({.lr = 0.01f}); });
}

TEST_CASE("checkpoint: every optimizer's state round-trips bitwise") {
  check_round_trip("GradientDescent", [] { return mb::GradientDescent<float>({.lr = 0.1f}); });
  check_round_trip("Momentum/pytorch", [] {
    return mb::Momentum<float>({.lr = 0.05f, .momentum = 0.9f, .form = mb::MomentumForm::pytorch, .dampening = 0.1f});
  });
  check_round_trip("AdamW", [] { return mb::AdamW<float>({.lr = 0.01f, .weight_decay_mask = mb::SliceMask::min_rank(2)}); });
  check_round_trip("Adagrad", [] { return mb::Adagrad<float>({.lr = 0.05f, .lr_decay = 0.01f}); });
  check_round_trip("RMSProp", [] { return mb::RMSProp<float>({.lr = 0.01f}); });
  check_round_trip("RMSProp centered with momentum",
                   [] { return mb::RMSProp<float>({.lr = 0.01f, .momentum = 0.5f, .centered = true}); });
  check_round_trip("LARS", [] { return mb::LARS<float>({.lr = 1.0f, .weight_decay = 1e-4f}); });
  check_round_trip("LAMB", [] { return mb::LAMB<float>({.lr = 0.01f}); });
}

TEST_CASE("checkpoint: a bare tensor round-trips as one unnamed slice, in double") {
  ScratchDir dir("tensor");
  mb::Tensor<double> theta{1.0, -2.0, 3.5};
  mb::Adam<double> opt({.lr = 0.1});
  opt.step(theta, mb::Tensor<double>{0.5, 0.25, -1.0});
  mb::save_checkpoint(dir / "t.ckpt", theta, opt, {.step = 1});
  mb::Tensor<double> back(theta.shape());
  mb::Adam<double> opt2({.lr = 0.1});
  CHECK(mb::load_checkpoint(dir / "t.ckpt", back.view(), opt2).step == 1);
  CHECK(bitwise_equal(theta.view(), back.view()));
  CHECK(bitwise_equal(opt.exp_avg_sq().view(), opt2.exp_avg_sq().view()));
  const auto c = mb::read_checkpoint<double>(dir / "t.ckpt");
  REQUIRE(c.layout.count() == 1);
  CHECK(c.layout[0].name.empty());
  CHECK(c.layout[0].shape == mb::Shape{3});
}

TEST_CASE("checkpoint: every single-bit corruption is refused, the load changes nothing") {
  ScratchDir dir("corrupt");
  const auto path = dir / "good.ckpt";
  Saved saved(path);
  const std::vector<std::byte> good = checkpoint_test::file_bytes(path);
  REQUIRE(good.size() > 400);
  CHECK(mb::decode_checkpoint<float>(good, "good").params.size() == saved.model.params().size());

  std::size_t refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::byte> bad = good;
      bad[i] ^= static_cast<std::byte>(1 << bit);
      refused += decode_error(bad) != "(accepted)";
    }
  }
  CHECK(refused == 8 * good.size());

  // Through a file: the error names it; model and optimizer keep what they had.
  std::vector<std::byte> bad = good;
  bad[good.size() / 2] ^= std::byte{0x10};
  const auto bad_path = dir / "bad.ckpt";
  checkpoint_test::write_bytes(bad_path, bad);
  mb::Mlp<float> model({4, 5, 3}, mb::Activation::relu, 7);
  mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
  const std::vector<float> before = model.params().flat().to_vector();
  try {
    mb::load_checkpoint(bad_path, model.params(), opt);
    FAIL("corrupted checkpoint accepted");
  } catch (const mb::io_error& e) {
    CHECK(contains(e.what(), bad_path.string()));
    CHECK(contains(e.what(), "corrupted payload"));
  }
  CHECK(model.params().flat().to_vector() == before);
  CHECK(opt.steps() == 0);
  CHECK(opt.velocity().empty());
  CHECK(contains(decode_error([&] { auto b = good; b[9] ^= std::byte{1}; return b; }()), "corrupted header"));
  CHECK(contains(decode_error([&] { auto b = good; b[1] ^= std::byte{1}; return b; }()), "not a minibatch checkpoint"));
  CHECK(checkpoint_test::file_bytes(path) == good);  // the good file is still there, unchanged
}

TEST_CASE("checkpoint: a truncated file is refused at every length") {
  ScratchDir dir("truncated");
  const auto path = dir / "run.ckpt";
  Saved saved(path);
  const std::vector<std::byte> good = checkpoint_test::file_bytes(path);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const std::string message = decode_error(std::vector<std::byte>(good.begin(), good.begin() + n));
    INFO("length ", n, ": ", message);
    CHECK((n < 8 ? contains(message, "not a minibatch checkpoint") : contains(message, "truncated")));
  }
  checkpoint_test::write_bytes(path, std::vector<std::byte>(good.begin(), good.end() - 1));
  mb::Mlp<float> model({4, 5, 3});
  mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
  try {
    mb::load_checkpoint(path, model.params(), opt);
    FAIL("truncated checkpoint accepted");
  } catch (const mb::io_error& e) {
    CHECK(contains(e.what(), path.string()));
    CHECK(contains(e.what(), "truncated"));
  }
  CHECK_THROWS_AS(mb::load_checkpoint(dir / "missing.ckpt", model.params(), opt), mb::io_error);
}

TEST_CASE("checkpoint: a failed save leaves the previous checkpoint intact") {
  ScratchDir dir("failed_save");
  const auto path = dir / "run.ckpt";
  Saved saved(path);
  const std::vector<std::byte> before = checkpoint_test::file_bytes(path);
  std::filesystem::create_directory(mb::io::temporary_path_for(path));  // the temporary file cannot be created
  try {
    mb::save_checkpoint(path, saved.model.params(), saved.opt, {.step = 6});
    FAIL("save into a blocked temporary file succeeded");
  } catch (const mb::io_error& e) {
    CHECK(contains(e.what(), path.string()));
    CHECK(contains(e.what(), "untouched"));
  }
  CHECK(checkpoint_test::file_bytes(path) == before);
  std::filesystem::remove(mb::io::temporary_path_for(path));
  CHECK_THROWS_AS(mb::save_checkpoint(dir / "no_such_dir" / "run.ckpt", saved.model.params(), saved.opt),
                  mb::io_error);
  mb::save_checkpoint(path, saved.model.params(), saved.opt, {.step = 6});  // and a good save replaces it
  CHECK(mb::read_checkpoint<float>(path).position.step == 6);
  CHECK_FALSE(std::filesystem::exists(mb::io::temporary_path_for(path)));
}

TEST_CASE("checkpoint: wrong shapes are a shape_error naming both shapes") {
  ScratchDir dir("shapes");
  const auto path = dir / "run.ckpt";
  Saved saved(path);
  mb::Mlp<float> wider({4, 6, 3});
  mb::Momentum<float> opt({.lr = 0.05f, .momentum = 0.9f});
  const std::vector<float> before = wider.params().flat().to_vector();
  try {
    mb::load_checkpoint(path, wider.params(), opt);
    FAIL("checkpoint of another shape accepted");
  } catch (const mb::shape_error& e) {
    INFO(e.what());
    CHECK(contains(e.what(), path.string()));
    CHECK(contains(e.what(), "'W1' [4, 5] in the checkpoint"));
    CHECK(contains(e.what(), "'W1' [4, 6] in the parameters"));
  }
  CHECK(wider.params().flat().to_vector() == before);
  mb::Mlp<float> deeper({4, 5, 3, 3});
  CHECK_THROWS_AS(mb::load_checkpoint(path, deeper.params(), opt), mb::shape_error);
}

TEST_CASE("checkpoint: another scalar type, optimizer kind or state layout is refused") {
  ScratchDir dir("mismatch");
  const auto path = dir / "run.ckpt";
  Saved saved(path);
  auto message_of = [&](auto&& load) -> std::string {
    try {
      load();
    } catch (const mb::io_error& e) {
      CHECK(contains(e.what(), path.string()));
      return e.what();
    }
    return "(accepted)";
  };
  mb::Mlp<double> as_double({4, 5, 3});
  mb::Momentum<double> momentum_double({.lr = 0.05, .momentum = 0.9});
  const std::string scalar = message_of([&] { mb::load_checkpoint(path, as_double.params(), momentum_double); });
  CHECK(contains(scalar, "holds float32 values, expected float64"));

  mb::Mlp<float> model({4, 5, 3});
  mb::Adam<float> adam;
  const std::string kind = message_of([&] { mb::load_checkpoint(path, model.params(), adam); });
  CHECK(contains(kind, "state of a 'Momentum' optimizer, not of 'Adam'"));
  mb::Momentum<float> torch({.lr = 0.05f, .momentum = 0.9f, .form = mb::MomentumForm::pytorch});
  CHECK(contains(message_of([&] { mb::load_checkpoint(path, model.params(), torch); }), "Momentum/pytorch"));
  CHECK(adam.steps() == 0);

  const auto data = mb::data::make_blobs(40, 4, 3, 0.5, 42);
  mb::RMSProp<float> plain({.lr = 0.01f});
  mb::SequentialSampler sampler({.batch_size = 8});
  mb::fit(model, data, plain, sampler, {.epochs = 1, .evaluate_train = false});
  mb::save_checkpoint(path, model.params(), plain);
  mb::RMSProp<float> centered({.lr = 0.01f, .centered = true});
  CHECK(contains(message_of([&] { mb::load_checkpoint(path, model.params(), centered); }),
                 "state tensor 'grad_avg' holds 0 values"));
}

TEST_CASE("checkpoint: forged counts are refused before anything is allocated") {
  // One slice "w" of shape [3]; GradientDescent has no state tensors. File offsets: header 32,
  // position 48 bytes, slice count u64 at 80, name length u32 at 88, 'w' at 92, rank u32 at 93,
  // extent u64 at 97, value count u64 at 105, values at 113, kind length u32 at 125.
  mb::Checkpoint<float> c;
  c.layout.add("w", mb::Shape{3});
  c.params = {1.0f, 2.0f, 3.0f};
  c.optimizer = "GradientDescent";
  c.lr = 0.1f;
  const std::vector<std::byte> good = mb::encode_checkpoint(c);
  REQUIRE(decode_error(good) == "(accepted)");
  REQUIRE(good[92] == std::byte{'w'});

  auto forged = [&](std::size_t at, std::uint64_t value) {
    std::vector<std::byte> b = good;
    put64(b, at, value);
    reseal(b);
    return decode_error(b);
  };
  CHECK(contains(forged(80, std::uint64_t{1} << 60), "parameter slice count"));
  CHECK(contains(forged(97, std::uint64_t{1} << 40), "more values than the rest of the file holds"));
  CHECK(contains(forged(97, 0), "extent 0"));
  CHECK(contains(forged(105, std::numeric_limits<std::uint64_t>::max()), "parameter value count"));
  CHECK(contains(forged(105, 4), "4 parameter values for slices of 3 values"));

  // A state tensor claiming 2^61 values.
  mb::Checkpoint<float> m = c;
  m.optimizer = "Momentum";
  m.state.push_back({"velocity", {0.5f, 0.25f, 0.125f}});
  std::vector<std::byte> b = mb::encode_checkpoint(m);
  const std::size_t count_at = b.size() - 3 * sizeof(float) - 8;
  put64(b, count_at, std::uint64_t{1} << 61);
  reseal(b);
  CHECK(contains(decode_error(b), "state tensor value count"));
}

TEST_CASE("fit: checkpoints need an optimizer with state(); resume refuses another sampler or data set") {
  ScratchDir dir("fit_refusals");
  const auto data = mb::data::make_blobs(64, 4, 2, 0.5, 51);
  mb::Mlp<float> model({4, 3, 2});
  mb::ShuffledSampler sampler({.batch_size = 8, .seed = 52});
  auto composed = mb::compose<float>(mb::chain(mb::scale_by_learning_rate(0.1f)));
  CHECK_THROWS_AS(mb::fit(model, data, composed, sampler, {.epochs = 1, .checkpoint = {.path = dir / "c", .every_steps = 1}}),
                  mb::value_error);
  mb::GradientDescent<float> gd({.lr = 0.1f});
  CHECK_THROWS_AS(mb::fit(model, data, gd, sampler, {.epochs = 1, .checkpoint = {.path = dir / "c"}}), mb::value_error);

  mb::fit(model, data, gd, sampler, {.epochs = 1, .evaluate_train = false, .checkpoint = {.path = dir / "c", .every_steps = 3}});
  REQUIRE(std::filesystem::exists(dir / "c"));
  mb::ShuffledSampler other_seed({.batch_size = 8, .seed = 53});
  try {
    mb::fit(model, data, gd, other_seed, {.epochs = 2, .resume_from = dir / "c"});
    FAIL("resume with another sampler seed accepted");
  } catch (const mb::io_error& e) {
    CHECK(contains(e.what(), "sampler seed 52, this sampler has seed 53"));
  }
  mb::ShuffledSampler other_batch({.batch_size = 16, .seed = 52});
  CHECK_THROWS_AS(mb::fit(model, data, gd, other_batch, {.epochs = 2, .resume_from = dir / "c"}), mb::io_error);
  const auto fewer = mb::data::make_blobs(60, 4, 2, 0.5, 51);
  CHECK_THROWS_AS(mb::fit(model, fewer, gd, sampler, {.epochs = 2, .resume_from = dir / "c"}), mb::io_error);
}
