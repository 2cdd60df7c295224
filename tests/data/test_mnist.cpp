// The data layer above IDX: the MNIST loader on tiny fake MNIST directories (shapes,
// scaling, labels, and one test per malformed set), Dataset's checks, the seeded
// train/validation split and make_blobs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/data.hpp"

namespace fs = std::filesystem;
namespace mbd = minibatch::data;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device entropy;
    for (;;) {
      path = fs::temp_directory_path() /
             ("minibatch-test-mnist-" + std::to_string(entropy()) + std::to_string(entropy()));
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

constexpr std::size_t height = 3, width = 4;

// Pixel k of image i, so tests can recompute it.
std::uint8_t pixel(std::size_t i, std::size_t k) { return static_cast<std::uint8_t>((i * 51 + k * 17) % 256); }

mbd::IdxArray images(std::size_t n) {
  mbd::IdxArray array{{n, height, width}, std::vector<std::uint8_t>(n * height * width)};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < height * width; ++k) array.data[i * height * width + k] = pixel(i, k);
  return array;
}

mbd::IdxArray labels(std::size_t n) {
  mbd::IdxArray array{{n}, std::vector<std::uint8_t>(n)};
  for (std::size_t i = 0; i < n; ++i) array.data[i] = static_cast<std::uint8_t>((i * 3) % 10);
  return array;
}

// Writes a fake MNIST set (5 train, 3 test images) into dir.
void write_fake_mnist(const fs::path& dir, bool gzip, const std::string& suffix = "") {
  mbd::write_idx(dir / ("train-images-idx3-ubyte" + suffix), images(5), gzip);
  mbd::write_idx(dir / ("train-labels-idx1-ubyte" + suffix), labels(5), gzip);
  mbd::write_idx(dir / ("t10k-images-idx3-ubyte" + suffix), images(3), gzip);
  mbd::write_idx(dir / ("t10k-labels-idx1-ubyte" + suffix), labels(3), gzip);
}

void check_split(const mbd::Dataset& ds, std::size_t n) {
  REQUIRE(ds.rows == n);
  CHECK(ds.cols == height * width);
  CHECK(ds.classes == 10);
  REQUIRE(ds.features.size() == n * height * width);
  REQUIRE(ds.labels.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(ds.labels[i] == static_cast<std::int32_t>((i * 3) % 10));
    for (std::size_t k = 0; k < height * width; ++k)
      CHECK(ds.features[i * height * width + k] == doctest::Approx(pixel(i, k) / 255.0));
  }
  CHECK_NOTHROW(ds.validate());
}

// Runs `load`, expecting an io_error whose message contains every one of `parts`.
template <class Load>
void check_load_fails(Load load, const std::vector<std::string>& parts) {
  try {
    load();
    FAIL("the load did not throw");
  } catch (const minibatch::io_error& e) {
    const std::string what = e.what();
    INFO("what() = ", what);
    for (const std::string& part : parts) CHECK(what.find(part) != std::string::npos);
  }
}

// Features = the original row index, so split parts can be traced back to rows.
mbd::Dataset indexed(std::size_t n) {
  mbd::Dataset ds;
  ds.rows = n;
  ds.cols = 2;
  ds.classes = 3;
  for (std::size_t i = 0; i < n; ++i) {
    ds.features.push_back(static_cast<float>(i));
    ds.features.push_back(-static_cast<float>(i));
    ds.labels.push_back(static_cast<std::int32_t>(i % 3));
  }
  return ds;
}

std::vector<std::size_t> row_ids(const mbd::Dataset& ds) {
  std::vector<std::size_t> ids;
  for (std::size_t i = 0; i < ds.rows; ++i) {
    const float* r = ds.row(i);
    CHECK(r[1] == -r[0]);
    CHECK(ds.labels[i] == static_cast<std::int32_t>(static_cast<std::size_t>(r[0]) % 3));
    ids.push_back(static_cast<std::size_t>(r[0]));
  }
  return ids;
}

}  // namespace

TEST_CASE("mnist: a raw fake MNIST directory loads with the right shapes, scaling and labels") {
  TempDir dir;
  write_fake_mnist(dir.path, false);
  const mbd::Mnist mnist = mbd::load_mnist(dir.path);
  check_split(mnist.train, 5);
  check_split(mnist.test, 3);
  CHECK(mnist.train.features[1 * 12 + 0] == doctest::Approx(51.0 / 255.0));  // image 1, pixel 0
}

TEST_CASE("mnist: .gz files and the dotted spelling load the same") {
  TempDir dir;
  write_fake_mnist(dir.path, true, ".gz");
  check_split(mbd::load_mnist(dir.path).train, 5);

  TempDir dotted;
  mbd::write_idx(dotted.path / "train-images.idx3-ubyte", images(5), false);
  mbd::write_idx(dotted.path / "train-labels.idx1-ubyte.gz", labels(5), true);
  mbd::write_idx(dotted.path / "t10k-images-idx3-ubyte.gz", images(3), true);
  mbd::write_idx(dotted.path / "t10k-labels-idx1-ubyte", labels(3), false);
  const mbd::Mnist mnist = mbd::load_mnist(dotted.path);
  check_split(mnist.train, 5);
  check_split(mnist.test, 3);
}

TEST_CASE("mnist: pixel 255 scales to exactly 1 and 0 to 0") {
  TempDir dir;
  mbd::write_idx(dir.path / "i", mbd::IdxArray{{1, 1, 2}, {0, 255}}, false);
  mbd::write_idx(dir.path / "l", mbd::IdxArray{{1}, {9}}, false);
  const mbd::Dataset ds = mbd::load_mnist_split(dir.path / "i", dir.path / "l");
  CHECK(ds.features == std::vector<float>{0.0f, 1.0f});
  CHECK(ds.labels == std::vector<std::int32_t>{9});
}

TEST_CASE("mnist: a missing file names the directory and the file names tried") {
  TempDir dir;
  write_fake_mnist(dir.path, false);
  fs::remove(dir.path / "t10k-labels-idx1-ubyte");
  check_load_fails([&] { (void)mbd::load_mnist(dir.path); },
                   {dir.path.string(), "t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz",
                    "t10k-labels.idx1-ubyte", "t10k-labels.idx1-ubyte.gz"});
  TempDir empty;
  check_load_fails([&] { (void)mbd::load_mnist(empty.path / "nowhere"); },
                   {(empty.path / "nowhere").string(), "train-images-idx3-ubyte"});
}

TEST_CASE("mnist: image and label counts must match; the error names both files and counts") {
  TempDir dir;
  mbd::write_idx(dir.path / "imgs", images(5), false);
  mbd::write_idx(dir.path / "lbls", labels(4), false);
  check_load_fails([&] { (void)mbd::load_mnist_split(dir.path / "imgs", dir.path / "lbls"); },
                   {(dir.path / "imgs").string(), (dir.path / "lbls").string(), "5 images", "4 labels"});
}

TEST_CASE("mnist: a label >= the number of classes names the file, position and label") {
  TempDir dir;
  write_fake_mnist(dir.path, false);
  mbd::IdxArray bad = labels(5);
  bad.data[2] = 10;
  mbd::write_idx(dir.path / "train-labels-idx1-ubyte", bad, false);
  check_load_fails([&] { (void)mbd::load_mnist(dir.path); },
                   {(dir.path / "train-labels-idx1-ubyte").string(), "label 10 at position 2"});
  check_load_fails([&] { (void)mbd::load_mnist_split(dir.path / "t10k-images-idx3-ubyte",
                                                     dir.path / "t10k-labels-idx1-ubyte", 3); },
                   {(dir.path / "t10k-labels-idx1-ubyte").string(), "label 3 at position 1",
                    "classes (3)"});
  CHECK_THROWS_AS((void)mbd::load_mnist_split(dir.path / "t10k-images-idx3-ubyte",
                                              dir.path / "t10k-labels-idx1-ubyte", 0),
                  minibatch::value_error);
}

TEST_CASE("mnist: images must be rank 3 and labels rank 1") {
  TempDir dir;
  mbd::write_idx(dir.path / "flat-images", mbd::IdxArray{{5, 12}, std::vector<std::uint8_t>(60)}, false);
  mbd::write_idx(dir.path / "labels", labels(5), false);
  check_load_fails([&] { (void)mbd::load_mnist_split(dir.path / "flat-images", dir.path / "labels"); },
                   {(dir.path / "flat-images").string(), "rank 3", "got rank 2"});
  mbd::write_idx(dir.path / "images", images(5), false);
  mbd::write_idx(dir.path / "square-labels", mbd::IdxArray{{5, 1}, std::vector<std::uint8_t>(5)}, false);
  check_load_fails([&] { (void)mbd::load_mnist_split(dir.path / "images", dir.path / "square-labels"); },
                   {(dir.path / "square-labels").string(), "rank 1", "got rank 2"});
}

TEST_CASE("dataset: row() and validate() name the row and label at fault") {
  mbd::Dataset ds = indexed(4);
  CHECK_NOTHROW(ds.validate());
  CHECK(ds.row(3)[0] == 3.0f);
  CHECK_THROWS_WITH_AS((void)ds.row(4), doctest::Contains("row 4"), minibatch::index_error);

  ds.labels[2] = 3;
  CHECK_THROWS_WITH_AS(ds.validate(), doctest::Contains("row 2 has label 3"), minibatch::index_error);
  ds.labels[2] = -1;
  CHECK_THROWS_WITH_AS(ds.validate(), doctest::Contains("row 2 has label -1"), minibatch::index_error);
  ds.labels[2] = 2;
  ds.features.pop_back();
  CHECK_THROWS_AS(ds.validate(), minibatch::shape_error);
  ds.features.push_back(0.0f);
  ds.labels.pop_back();
  CHECK_THROWS_AS(ds.validate(), minibatch::shape_error);
}

TEST_CASE("split: sizes, disjoint parts that cover every row, deterministic per seed") {
  const mbd::Dataset ds = indexed(10);
  const auto [train, validation] = mbd::train_validation_split(ds, 0.35, 42);
  CHECK(train.rows == 7);  // ⌊0.35 · 10⌋ = 3 validation rows
  CHECK(validation.rows == 3);
  CHECK(train.cols == 2);
  CHECK(validation.classes == 3);
  CHECK_NOTHROW(train.validate());
  CHECK_NOTHROW(validation.validate());

  std::vector<std::size_t> ids = row_ids(train);
  const std::vector<std::size_t> validation_ids = row_ids(validation);
  ids.insert(ids.end(), validation_ids.begin(), validation_ids.end());

  // The documented permutation: Fisher–Yates with Rng(seed).below, i from n−1 down to 1.
  std::vector<std::size_t> expected(10);
  for (std::size_t i = 0; i < 10; ++i) expected[i] = i;
  minibatch::Rng rng(42);
  for (std::size_t i = 9; i >= 1; --i) std::swap(expected[i], expected[rng.below(i + 1)]);
  CHECK(ids == expected);

  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());  // disjoint
  CHECK(ids == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // covers all rows

  const auto [train_again, validation_again] = mbd::train_validation_split(ds, 0.35, 42);
  CHECK(train_again.features == train.features);
  CHECK(validation_again.labels == validation.labels);
  const auto [train_other, validation_other] = mbd::train_validation_split(ds, 0.35, 43);
  CHECK(train_other.features != train.features);

  const auto [all, none] = mbd::train_validation_split(ds, 0.0, 1);
  CHECK(all.rows == 10);
  CHECK(none.rows == 0);
  CHECK(none.features.empty());
}

TEST_CASE("split: a fraction outside [0, 1) is a value_error naming it") {
  const mbd::Dataset ds = indexed(4);
  CHECK_THROWS_WITH_AS(mbd::train_validation_split(ds, 1.0, 0), doctest::Contains("got 1"),
                       minibatch::value_error);
  CHECK_THROWS_WITH_AS(mbd::train_validation_split(ds, -0.25, 0), doctest::Contains("got -0.25"),
                       minibatch::value_error);
  CHECK_THROWS_AS(mbd::train_validation_split(ds, std::numeric_limits<double>::quiet_NaN(), 0),
                  minibatch::value_error);
}

TEST_CASE("blobs: shapes, labels in range, deterministic per seed, clustered by class") {
  const mbd::Dataset ds = mbd::make_blobs(60, 5, 4, 0.01, 7);
  CHECK(ds.rows == 60);
  CHECK(ds.cols == 5);
  CHECK(ds.classes == 4);
  CHECK(ds.features.size() == 300);
  CHECK_NOTHROW(ds.validate());
  for (const std::int32_t label : ds.labels) CHECK((label >= 0 && label < 4));
  for (std::int32_t c = 0; c < 4; ++c) CHECK(std::count(ds.labels.begin(), ds.labels.end(), c) == 15);

  const mbd::Dataset again = mbd::make_blobs(60, 5, 4, 0.01, 7);
  CHECK(again.features == ds.features);
  CHECK(again.labels == ds.labels);
  CHECK(mbd::make_blobs(60, 5, 4, 0.01, 8).features != ds.features);

  // With a small spread, each row is far closer to a row of its own class than to others.
  auto distance = [&](std::size_t a, std::size_t b) {
    double sum = 0.0;
    for (std::size_t k = 0; k < ds.cols; ++k) sum += std::pow(ds.row(a)[k] - ds.row(b)[k], 2);
    return std::sqrt(sum);
  };
  for (std::size_t i = 0; i < ds.rows; ++i)
    for (std::size_t j = 0; j < ds.rows; ++j)
      if (ds.labels[i] == ds.labels[j]) CHECK(distance(i, j) < 0.2);

  CHECK_THROWS_AS((void)mbd::make_blobs(10, 0, 2, 1.0, 0), minibatch::value_error);
  CHECK_THROWS_AS((void)mbd::make_blobs(10, 2, 0, 1.0, 0), minibatch::value_error);
  CHECK_THROWS_AS((void)mbd::make_blobs(10, 2, 2, -1.0, 0), minibatch::value_error);
}
