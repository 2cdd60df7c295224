// MNIST-style data sets (MNIST, Fashion-MNIST) from their four IDX files. An image file
// must be rank 3 (n, h, w) and a label file rank 1 (n) with the same n; every label
// must be below `classes` (10 for MNIST). Pixels are scaled by 1/255 into [0, 1] and
// each image becomes one row of h·w floats, row-major, so a Dataset of n × (h·w).
// load_mnist(dir) looks for train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or with a `.gz` suffix,
// also under the dotted spelling (train-images.idx3-ubyte); gzip is detected from the
// content (see idx.hpp). Every problem is an io_error that names the file(s) at fault.
// default_data_dir is where Debian's dataset-fashion-mnist package installs the files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/data/dataset.hpp"
#include "minibatch/data/idx.hpp"

namespace minibatch::data {

constexpr const char* default_data_dir = "/usr/share/datasets/fashion-mnist";

struct Mnist {
  Dataset train, test;
};

// Loads one (images, labels) pair. Throws value_error when classes is 0 or above 256,
// io_error naming the file(s) for bad ranks, empty images, a count mismatch or a label
// ≥ classes (with its position), plus whatever read_idx throws.
inline Dataset load_mnist_split(const std::filesystem::path& images_path,
                                const std::filesystem::path& labels_path,
                                std::size_t classes = 10) {
  require<value_error>(classes >= 1 && classes <= 256,
                       "load_mnist_split: classes must be in [1, 256], got ", classes);
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  require<io_error>(images.dims.size() == 3, images_path.string(),
                    ": expected an image file of rank 3 (n, h, w), got rank ",
                    images.dims.size(), " (dims ", detail::idx_dims_text(images.dims), ")");
  require<io_error>(labels.dims.size() == 1, labels_path.string(),
                    ": expected a label file of rank 1 (n), got rank ", labels.dims.size(),
                    " (dims ", detail::idx_dims_text(labels.dims), ")");
  const std::size_t n = images.dims[0];
  require<io_error>(n == labels.dims[0], images_path.string(), " holds ", n,
                    " images but ", labels_path.string(), " holds ", labels.dims[0],
                    " labels: the counts must be equal");
  const std::size_t pixels = images.dims[1] * images.dims[2];  // no overflow: read_idx checked
  require<io_error>(pixels > 0, images_path.string(), ": empty images (",
                    detail::idx_dims_text(images.dims), ")");

  Dataset out;
  out.rows = n;
  out.cols = pixels;
  out.classes = classes;
  out.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t label = labels.data[i];
    require<io_error>(label < classes, labels_path.string(), ": label ", unsigned{label},
                      " at position ", i, " is not below the number of classes (", classes,
                      ")");
    out.labels[i] = label;
  }
  out.features.resize(images.data.size());
  for (std::size_t k = 0; k < images.data.size(); ++k)
    out.features[k] = static_cast<float>(images.data[k]) / 255.0f;
  return out;
}

namespace detail {

// The first existing file among dir/{name, name.gz} for each spelling of `names`;
// throws io_error naming dir and every name tried when none exists.
inline std::filesystem::path find_mnist_file(const std::filesystem::path& dir,
                                             const std::array<const char*, 2>& names) {
  std::string tried;
  for (const char* name : names) {
    for (const char* suffix : {"", ".gz"}) {
      const std::string file = std::string(name) + suffix;
      const std::filesystem::path candidate = dir / file;
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
      tried += (tried.empty() ? "" : ", ") + file;
    }
  }
  throw io_error(dir.string() + ": no MNIST file found; tried " + tried);
}

}  // namespace detail

// Loads the train and test splits from `dir` (10 classes).
inline Mnist load_mnist(const std::filesystem::path& dir) {
  using detail::find_mnist_file;
  const auto train_images = find_mnist_file(dir, {"train-images-idx3-ubyte", "train-images.idx3-ubyte"});
  const auto train_labels = find_mnist_file(dir, {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"});
  const auto test_images = find_mnist_file(dir, {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"});
  const auto test_labels = find_mnist_file(dir, {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"});
  return {load_mnist_split(train_images, train_labels), load_mnist_split(test_images, test_labels)};
}

}  // namespace minibatch::data
