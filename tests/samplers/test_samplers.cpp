#include <doctest/doctest.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "minibatch/samplers.hpp"

namespace mb = minibatch;

namespace {
std::vector<std::vector<mb::index_t>> collect(mb::BatchRange batches) {
  std::vector<std::vector<mb::index_t>> out;
  for (std::span<const std::size_t> b : batches) out.emplace_back(b.begin(), b.end());
  return out;
}
std::vector<mb::index_t> flatten(const std::vector<std::vector<mb::index_t>>& batches) {
  std::vector<mb::index_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}
std::vector<mb::index_t> sizes(const std::vector<std::vector<mb::index_t>>& batches) {
  std::vector<mb::index_t> s;
  for (const auto& b : batches) s.push_back(b.size());
  return s;
}
bool is_permutation_of_iota(std::vector<mb::index_t> v, mb::index_t n) {
  if (v.size() != n) return false;
  std::sort(v.begin(), v.end());
  for (mb::index_t i = 0; i < n; ++i)
    if (v[i] != i) return false;
  return true;
}
}  // namespace

TEST_CASE("ShuffledSampler: a fixed seed gives the recorded order (tests/golden/shuffled_sampler.py)") {
  mb::ShuffledSampler s({.batch_size = 3, .seed = 42, .drop_last = false});
  const auto e0 = collect(s.epoch(10, 0));
  CHECK(flatten(e0) == std::vector<mb::index_t>{9, 3, 6, 4, 0, 7, 5, 2, 8, 1});
  CHECK(sizes(e0) == std::vector<mb::index_t>{3, 3, 3, 1});
  CHECK(flatten(collect(s.epoch(10, 1))) == std::vector<mb::index_t>{9, 5, 1, 0, 7, 2, 3, 8, 4, 6});
  mb::ShuffledSampler t({.batch_size = 20, .seed = 7});
  CHECK(flatten(collect(t.epoch(20, 3))) ==
        std::vector<mb::index_t>{2, 12, 10, 3, 4, 7, 11, 19, 13, 1, 18, 5, 0, 17, 8, 15, 14, 9, 16, 6});
}

TEST_CASE("ShuffledSampler: every epoch covers every index once; (seed, epoch) fixes the order") {
  mb::ShuffledSampler s({.batch_size = 7, .seed = 1});
  const auto a = flatten(collect(s.epoch(100, 4)));
  CHECK(is_permutation_of_iota(a, 100));
  const auto b = flatten(collect(s.epoch(100, 5)));
  CHECK(is_permutation_of_iota(b, 100));
  CHECK(a != b);
  CHECK(flatten(collect(s.epoch(100, 4))) == a);  // replay, independent of history
  mb::ShuffledSampler other({.batch_size = 7, .seed = 2});
  CHECK(flatten(collect(other.epoch(100, 4))) != a);
}

TEST_CASE("SequentialSampler: in order, sizes follow drop_last") {
  mb::SequentialSampler keep({.batch_size = 4, .seed = 0, .drop_last = false});
  const auto k = collect(keep.epoch(10, 0));
  CHECK(sizes(k) == std::vector<mb::index_t>{4, 4, 2});
  CHECK(k[2] == std::vector<mb::index_t>{8, 9});
  CHECK(keep.batches_per_epoch(10) == 3);
  mb::SequentialSampler drop({.batch_size = 4, .seed = 0, .drop_last = true});
  const auto d = collect(drop.epoch(10, 3));
  CHECK(sizes(d) == std::vector<mb::index_t>{4, 4});
  CHECK(flatten(d) == std::vector<mb::index_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(drop.batches_per_epoch(10) == 2);
  mb::ShuffledSampler sdrop({.batch_size = 4, .seed = 3, .drop_last = true});
  CHECK(sizes(collect(sdrop.epoch(10, 0))) == std::vector<mb::index_t>{4, 4});
}

TEST_CASE("FullBatchSampler: one batch of everything") {
  mb::FullBatchSampler s;
  const auto e = collect(s.epoch(5, 9));
  REQUIRE(e.size() == 1);
  CHECK(e[0] == std::vector<mb::index_t>{0, 1, 2, 3, 4});
  CHECK(s.batches_per_epoch(5) == 1);
}

TEST_CASE("ReplacementSampler: a set number of full batches, uniform frequencies (chi-square)") {
  mb::ReplacementSampler s({.batch_size = 100, .seed = 5, .batches_per_epoch = 1000});
  const mb::index_t n = 10;
  std::vector<double> count(n, 0);
  const auto batches = s.epoch(n, 0);
  CHECK(batches.size() == 1000);
  for (std::span<const std::size_t> b : batches) {
    CHECK(b.size() == 100);
    for (auto i : b) {
      REQUIRE(i < n);
      count[i] += 1;
    }
  }
  const double expected = 100000.0 / n;
  double chi2 = 0;
  for (double c : count) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 27.88);  // 99.9th percentile of chi-square with 9 degrees of freedom
  const auto first = flatten(collect(s.epoch(n, 0)));
  CHECK(flatten(collect(s.epoch(n, 1))) != first);
  CHECK(flatten(collect(s.epoch(n, 0))) == first);
  mb::ReplacementSampler dflt({.batch_size = 4, .seed = 1});
  CHECK(dflt.batches_per_epoch(10) == 3);
}

TEST_CASE("Samplers refuse bad input and name the value") {
  auto message = [](auto f) -> std::string {
    try {
      f();
    } catch (const mb::value_error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(message([] { mb::ShuffledSampler({.batch_size = 0}); }).find("batch_size = 0") != std::string::npos);
  CHECK(message([] { mb::SequentialSampler({.batch_size = 0}); }).find("batch_size = 0") != std::string::npos);
  CHECK(message([] { mb::ReplacementSampler({.batch_size = 0}); }).find("batch_size = 0") != std::string::npos);
  CHECK(message([] { mb::ShuffledSampler({.batch_size = 2}).epoch(0, 0); }).find("n = 0") != std::string::npos);
  CHECK(message([] { mb::FullBatchSampler().epoch(0, 0); }).find("n = 0") != std::string::npos);
  CHECK(message([] {
          mb::ShuffledSampler({.batch_size = 20, .seed = 0, .drop_last = true}).epoch(10, 0);
        }).find("batch_size = 20") != std::string::npos);
}

static_assert(mb::Sampler<mb::ShuffledSampler>);
static_assert(mb::Sampler<mb::SequentialSampler>);
static_assert(mb::Sampler<mb::FullBatchSampler>);
static_assert(mb::Sampler<mb::ReplacementSampler>);
static_assert(!mb::Sampler<int>);
