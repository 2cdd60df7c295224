// A steady-state training step allocates nothing on the heap: the count of heap
// allocations must not move between the end of the first epoch's first step and the end
// of the run.
//
// The count sees every heap allocation of the process, not only `new`: Eigen takes the
// packing buffers of a large product from malloc (internal::aligned_malloc once they
// exceed EIGEN_STACK_ALLOCATION_LIMIT), so the malloc family itself is replaced in this
// test binary. With glibc (which lets a program define its own malloc) the replacements
// count and forward to glibc's own allocator, __libc_malloc & co.; under AddressSanitizer,
// which owns malloc, they are left alone and its allocation hook counts instead. Global
// operator new forwards to malloc, so every `new` is counted there too. Elsewhere only
// `new` is seen, and the check that the counter sees malloc says so.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "minibatch/data/synthetic.hpp"
#include "minibatch/train.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MINIBATCH_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MINIBATCH_TEST_ASAN 1
#endif
#endif

namespace {
std::atomic<long> allocations{0};
}  // namespace

#if defined(MINIBATCH_TEST_ASAN)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));
namespace {
constexpr bool counts_malloc = true;
[[maybe_unused]] const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(
    [](const volatile void*, std::size_t) { allocations.fetch_add(1, std::memory_order_relaxed); },
    [](const volatile void*) {});
}  // namespace
#elif defined(__GLIBC__)
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void* __libc_valloc(std::size_t size);
void* __libc_pvalloc(std::size_t size);
void __libc_free(void* p);

void* malloc(std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}
void free(void* p) noexcept { __libc_free(p); }
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
  void* p = __libc_memalign(alignment, size);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void* valloc(std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_valloc(size);
}
void* pvalloc(std::size_t size) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_pvalloc(size);
}
}  // extern "C"
namespace {
constexpr bool counts_malloc = true;
}
#else
namespace {
constexpr bool counts_malloc = false;
}
#endif

namespace {
// Counts itself only where malloc is not counted (malloc counts it otherwise).
void* allocate(std::size_t size, std::size_t alignment) {
  if (!counts_malloc) allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = alignment > alignof(std::max_align_t) ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                                                  : std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return allocate(size, 0); }
void* operator new[](std::size_t size) { return allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace mb = minibatch;

namespace {
// Heap allocations from the end of epoch 1's first step to the end of the run: a model
// of these widths trained on `examples` synthetic rows by momentum with this sampler.
template <class Sampler>
long steady_state_allocations(const std::vector<mb::index_t>& widths, std::size_t examples, mb::index_t max_batch,
                              Sampler sampler, mb::index_t epochs, mb::SgdOptions options = {}) {
  const auto data = mb::data::make_blobs(examples, widths.front(), widths.back(), 0.5, 1);
  const auto tensors = mb::to_tensors<float>(data);
  mb::Mlp<float> model(widths, mb::Activation::relu, 2);
  mb::ClassificationObjective<float> objective(model, tensors, max_batch);
  mb::Momentum<float> opt({.lr = 0.01f, .momentum = 0.9f});
  mb::Tensor<float> grad(mb::Shape{model.params().size()});
  long at_epoch_one = -1, at_end = -1;
  auto probe = mb::on_step([&](const mb::StepInfo& s) {
    if (s.epoch == 1 && s.batch == 0) at_epoch_one = allocations.load();
    at_end = allocations.load();
  });
  options.epochs = epochs;
  mb::train_loop(opt, sampler, objective, model.params().flat(), grad.view(), options, probe);
  REQUIRE(at_epoch_one >= 0);
  return at_end - at_epoch_one;
}
}  // namespace

TEST_CASE("the counter sees operator new, malloc and Eigen's heap buffers (the test can fail)") {
  long before = allocations.load();
  auto* p = new mb::Tensor<float>(mb::Shape{3});
  delete p;
  CHECK(allocations.load() - before == 2);  // the object and its 64-byte aligned storage

  if (!counts_malloc) {
    MESSAGE("malloc is not counted on this platform: only operator new is seen");
    return;
  }
  before = allocations.load();
  void* q = Eigen::internal::aligned_malloc(std::size_t{1} << 20);
  Eigen::internal::aligned_free(q);
  CHECK(allocations.load() - before == 1);

  // Eigen's own GEMM, called the usual way, takes its packing buffers from the heap for a
  // product of this size; the library's gemm must not (see the cases below).
  Eigen::MatrixXf a = Eigen::MatrixXf::Ones(1000, 784), b = Eigen::MatrixXf::Ones(784, 512);
  Eigen::MatrixXf c(1000, 512);
  before = allocations.load();
  c.noalias() = a * b;
  const long eigen_product = allocations.load() - before;
  MESSAGE("heap allocations of Eigen's own 1000x784 by 784x512 product: " << eigen_product);
  CHECK(eigen_product > 0);
}

TEST_CASE("Shape::operator[] builds no error message when the axis is in range") {
  // A shape whose text is longer than std::string's inline buffer: formatting it allocates.
  const mb::Shape big{123456789, 987654321};
  const long before = allocations.load();
  mb::index_t sum = 0;
  for (int i = 0; i < 100; ++i) sum += big[static_cast<mb::index_t>(i % 2)];
  CHECK(allocations.load() - before == 0);
  CHECK(sum == mb::index_t{50} * (mb::index_t{123456789} + 987654321));
  CHECK_THROWS_WITH_AS(big[2], "Shape[123456789, 987654321]: axis 2 out of range for rank 2", mb::index_error);
}

TEST_CASE("ops<cpu>::gemm allocates nothing once warm, by each of its methods, and matches a plain loop") {
  // 70×300 by 300×300 takes the packed kernels (gemm_packed.hpp); by 300 × (one column
  // less than a register block) the packed product of the transpose into a second buffer;
  // by 300×3 Eigen's blocked GEMM unless A is transposed. Each packs into a per-thread
  // buffer sized by the first calls (Eigen's own product takes blocks above
  // EIGEN_STACK_ALLOCATION_LIMIT from the heap on every call).
  namespace cb = minibatch::cpu_backend;
  const mb::index_t m = 70, k = 300, narrow = cb::packed::cols_per_block<float> - 1;
  CHECK(cb::packs<float>(300));
  CHECK(cb::computes_transpose<float>(m, narrow, false));
  CHECK_FALSE(cb::computes_transpose<float>(m, 3, false));
  CHECK_FALSE(cb::packs<float>(3));
  for (const mb::index_t n : {mb::index_t{300}, narrow, mb::index_t{3}})
    for (const bool trans_a : {false, true})
      for (const bool trans_b : {false, true})
        for (const float beta : {0.0f, 0.5f}) {
          CAPTURE(n);
          CAPTURE(trans_a);
          CAPTURE(trans_b);
          CAPTURE(beta);
          mb::Tensor<float> a(trans_a ? mb::Shape{k, m} : mb::Shape{m, k}), b(trans_b ? mb::Shape{n, k} : mb::Shape{k, n});
          mb::Tensor<float> c(mb::Shape{m, n});
          for (mb::index_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
          for (mb::index_t i = 0; i < b.size(); ++i) b.data()[i] = static_cast<float>((i * 53) % 97) / 48.0f - 1.0f;
          // Warm-up: the product on one thread and on all of them sizes the packing space of
          // every thread gemm may use, whichever of the two ThreadChoice tries first (with
          // OpenMP, the first calls of a shape may all run on every thread: the first slab
          // space is then a slab's, and the first call on one thread would grow it), then a
          // call through the public gemm lets its thread choice see the shape.
          for (const int threads : {1, Eigen::nbThreads()})
            cb::gemm<float>(a.view(), trans_a, b.view(), trans_b, c.view(), 0.0f, threads);
          mb::ops<mb::cpu>::gemm<float>(a.view(), trans_a, b.view(), trans_b, c.view());
          for (mb::index_t i = 0; i < c.size(); ++i) c.data()[i] = static_cast<float>(i % 7) - 3.0f;
          const long before = allocations.load();
          mb::ops<mb::cpu>::gemm<float>(a.view(), trans_a, b.view(), trans_b, c.view(), beta);
          const long allocated = allocations.load() - before;
          CHECK(allocated == 0);
          double worst = 0;
          for (mb::index_t i = 0; i < m; ++i)
            for (mb::index_t j = 0; j < n; ++j) {
              double ref = beta * static_cast<double>(static_cast<float>((i * n + j) % 7) - 3.0f), scale = std::abs(ref);
              for (mb::index_t p = 0; p < k; ++p) {
                const double x = trans_a ? a.data()[p * m + i] : a.data()[i * k + p];
                const double y = trans_b ? b.data()[j * k + p] : b.data()[p * n + j];
                ref += x * y;
                scale += std::abs(x * y);
              }
              worst = std::max(worst, std::abs(static_cast<double>(c.data()[i * n + j]) - ref) / scale);
            }
          CHECK(worst < 1e-5);
        }
}

TEST_CASE("a steady-state step (gather, forward, loss, backward, norm, momentum update) allocates nothing") {
  SUBCASE("20-32-16-4 at batch 64") {
    const long n = steady_state_allocations({20, 32, 16, 4}, 512, 64, mb::ShuffledSampler({.batch_size = 64, .seed = 3}), 4);
    MESSAGE("allocations after epoch 1 began: " << n);
    CHECK(n == 0);
  }
  SUBCASE("784-512-512-10 at batch 1 (the small-batch kernels)") {
    const long n = steady_state_allocations({784, 512, 512, 10}, 8, 1, mb::ShuffledSampler({.batch_size = 1, .seed = 3}), 3);
    MESSAGE("allocations after epoch 1 began: " << n);
    CHECK(n == 0);
  }
  SUBCASE("784-512-512-10 at batch 10, the update fused into backward (no gradient norm, no guard)") {
    const long n = steady_state_allocations({784, 512, 512, 10}, 40, 10, mb::ShuffledSampler({.batch_size = 10, .seed = 3}),
                                            3, {.record_grad_norm = false, .stop_on_non_finite = false});
    MESSAGE("allocations after epoch 1 began: " << n);
    CHECK(n == 0);
  }
  SUBCASE("784-512-512-10 at batch 1000 (the packed kernels, the batch read in place)") {
    const long n = steady_state_allocations({784, 512, 512, 10}, 2000, 1000,
                                            mb::ShuffledSampler({.batch_size = 1000, .seed = 3}), 2);
    MESSAGE("allocations after epoch 1 began: " << n);
    CHECK(n == 0);
  }
  SUBCASE("784-512-512-10, full batch of 1000") {
    const long n = steady_state_allocations({784, 512, 512, 10}, 1000, 1000, mb::FullBatchSampler{}, 3);
    MESSAGE("allocations after epoch 1 began: " << n);
    CHECK(n == 0);
  }
}
