// A steady-state training step allocates nothing on the heap: global operator new is
// replaced by a counting one in this test binary, and the count must not move between
// the end of the first epoch and the end of the run.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "minibatch/data/synthetic.hpp"
#include "minibatch/train.hpp"

namespace {
std::atomic<long> allocations{0};

void* counted(std::size_t size, std::size_t alignment) {
  ++allocations;
  if (size == 0) size = 1;
  void* p = alignment > alignof(std::max_align_t) ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                                                  : std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return counted(size, 0); }
void* operator new[](std::size_t size) { return counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace mb = minibatch;

TEST_CASE("the counting allocator sees allocations (the test can fail)") {
  const long before = allocations.load();
  auto* p = new mb::Tensor<float>(mb::Shape{3});
  delete p;
  CHECK(allocations.load() - before == 2);  // the object and its 64-byte aligned storage
}

TEST_CASE("a steady-state step (gather, forward, loss, backward, norm, momentum update) allocates nothing") {
  const auto data = mb::data::make_blobs(512, 20, 4, 0.5, 1);
  const auto tensors = mb::to_tensors<float>(data);
  mb::Mlp<float> model({20, 32, 16, 4}, mb::Activation::relu, 2);
  mb::ClassificationObjective<float> objective(model, tensors, 64);
  mb::Momentum<float> opt({.lr = 0.01f, .momentum = 0.9f});
  mb::ShuffledSampler sampler({.batch_size = 64, .seed = 3});
  mb::Tensor<float> grad(mb::Shape{model.params().size()});
  long at_epoch_one = -1, at_end = -1;
  auto probe = mb::on_step([&](const mb::StepInfo& s) {
    if (s.epoch == 1 && s.batch == 0) at_epoch_one = allocations.load();
    at_end = allocations.load();
  });
  mb::train_loop(opt, sampler, objective, model.params().flat(), grad.view(), {.epochs = 4}, probe);
  REQUIRE(at_epoch_one >= 0);
  MESSAGE("allocations during epochs 1-3: " << at_end - at_epoch_one);
  CHECK(at_end - at_epoch_one == 0);
}
