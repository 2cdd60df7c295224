// ops<cpu>'s Adam, RMSProp and Adagrad updates (backend/cpu/adaptive.hpp, Eigen packet
// math) against the plain-loop reference kernels (kernels/ref/adaptive_update.hpp), over
// five steps of evolving state: slices of 1, 1000 (two chunks and a tail) and 37 entries with
// their own weight decays, every variant, float and double, |a − ref| ≤ atol + rtol·|ref|
// with the worst index printed; decaying state that falls below the smallest normal
// number is stored as 0 by both.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/kernels/ref/adaptive_update.hpp"

namespace mb = minibatch;

namespace {
const std::vector<mb::index_t> offsets{0, 1, 1001, 1038};

template <class T>
struct Buffers {
  std::vector<T> theta, a, b, c, g;  // θ and up to three state buffers
};

template <class T>
Buffers<T> random_buffers(mb::Rng& rng, bool non_negative_state) {
  const std::size_t n = offsets.back();
  Buffers<T> x{std::vector<T>(n), std::vector<T>(n), std::vector<T>(n), std::vector<T>(n), std::vector<T>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    x.theta[i] = static_cast<T>(rng.normal());
    x.a[i] = static_cast<T>(0.1 * rng.normal());
    x.b[i] = non_negative_state ? static_cast<T>(0.01 * std::abs(rng.normal())) : static_cast<T>(0.1 * rng.normal());
    x.c[i] = static_cast<T>(0.1 * rng.normal());
  }
  x.a[0] = std::numeric_limits<T>::min() * T(1.5);  // decays into the subnormal range
  return x;
}

// A new gradient for both copies of the buffers.
template <class T>
void new_gradient(Buffers<T>& ours, Buffers<T>& ref, mb::Rng& rng) {
  for (auto& gi : ours.g) gi = static_cast<T>(0.3 * rng.normal());
  ours.g[0] = T(0);  // slice 0 has no decay in check_adam: its m only decays
  ref.g = ours.g;
}

mb::TensorView<const mb::index_t> offsets_view() { return {offsets.data(), mb::Shape{offsets.size()}}; }

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& ref, const char* what) {
  const double rtol = sizeof(T) == 4 ? 2e-5 : 1e-12, atol = sizeof(T) == 4 ? 1e-6 : 1e-14;
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double excess = std::abs(double(got[i]) - double(ref[i])) - (atol + rtol * std::abs(double(ref[i])));
    if (i == 0 || excess > worst) worst = excess, at = i;
  }
  INFO(std::string(what) << ": worst index " << at << ", got " << got[at] << ", reference " << ref[at]);
  CHECK(worst <= 0);
}

template <class T>
mb::TensorView<T> view(std::vector<T>& x) {
  return x.empty() ? mb::TensorView<T>() : mb::TensorView<T>(x.data(), mb::Shape{x.size()});
}
template <class T>
mb::TensorView<const T> cview(const std::vector<T>& x) {
  return mb::TensorView<const T>(x.data(), mb::Shape{x.size()});
}

template <class T>
void check_adam(bool decoupled) {
  mb::Rng rng(7);
  Buffers<T> ours = random_buffers<T>(rng, true);
  Buffers<T> ref = ours;
  const std::vector<T> wd{T(0), T(0.1), T(0.3)};
  const auto off = offsets_view();
  for (int t = 1; t <= 5; ++t) {
    new_gradient(ours, ref, rng);
    const T bc1 = T(1) - std::pow(T(0.9), T(t)), bc2 = T(1) - std::pow(T(0.999), T(t));
    mb::ops<mb::cpu>::adam_update<T>(view(ours.theta), view(ours.a), view(ours.b), cview(ours.g), off, cview(wd),
                                     T(0.01), T(0.9), T(0.999), T(1e-8), bc1, bc2, decoupled);
    mb::kernels::ref::adam_update(ref.theta.data(), ref.a.data(), ref.b.data(), ref.g.data(), offsets.data(), 3,
                                  wd.data(), T(0.01), T(0.9), T(0.999), T(1e-8), bc1, bc2, decoupled);
  }
  check_close(ours.theta, ref.theta, "theta");
  check_close(ours.a, ref.a, "m");
  check_close(ours.b, ref.b, "v");
  CHECK(ours.a[0] == T(0));  // 1.5·min·0.9⁵ < min: flushed
  CHECK(ref.a[0] == T(0));
}

template <class T>
void check_rmsprop(bool centered, bool momentum) {
  mb::Rng rng(9);
  Buffers<T> ours = random_buffers<T>(rng, true);
  if (centered)  // ḡ² ≤ v keeps the centered variance non-negative
    for (std::size_t i = 0; i < ours.c.size(); ++i) ours.c[i] = static_cast<T>(0.5 * std::sqrt(ours.b[i]));
  Buffers<T> ref = ours;
  const std::vector<T> wd{T(0.2), T(0), T(0.05)};
  const auto off = offsets_view();
  std::vector<T> none;
  for (int t = 1; t <= 5; ++t) {
    new_gradient(ours, ref, rng);
    mb::ops<mb::cpu>::rmsprop_update<T>(view(ours.theta), view(ours.b), view(centered ? ours.c : none),
                                        view(momentum ? ours.a : none), cview(ours.g), off, cview(wd), T(0.01),
                                        T(0.99), T(1e-8), T(0.9));
    mb::kernels::ref::rmsprop_update(ref.theta.data(), ref.b.data(), centered ? ref.c.data() : nullptr,
                                     momentum ? ref.a.data() : nullptr, ref.g.data(), offsets.data(), 3, wd.data(),
                                     T(0.01), T(0.99), T(1e-8), T(0.9));
  }
  check_close(ours.theta, ref.theta, "theta");
  check_close(ours.b, ref.b, "v");
  if (centered) check_close(ours.c, ref.c, "gbar");
  if (momentum) check_close(ours.a, ref.a, "buf");
}

template <class T>
void check_adagrad() {
  mb::Rng rng(11);
  Buffers<T> ours = random_buffers<T>(rng, true);
  Buffers<T> ref = ours;
  const std::vector<T> wd{T(0), T(0.1), T(0)};
  const auto off = offsets_view();
  for (int t = 1; t <= 5; ++t) {
    new_gradient(ours, ref, rng);
    mb::ops<mb::cpu>::adagrad_update<T>(view(ours.theta), view(ours.b), cview(ours.g), off, cview(wd), T(0.1),
                                        T(1e-10));
    mb::kernels::ref::adagrad_update(ref.theta.data(), ref.b.data(), ref.g.data(), offsets.data(), 3, wd.data(),
                                     T(0.1), T(1e-10));
  }
  check_close(ours.theta, ref.theta, "theta");
  check_close(ours.b, ref.b, "sum");
}
}  // namespace

TEST_CASE("ops<cpu>::adam_update matches the reference loop (Adam and AdamW, float and double)") {
  for (const bool decoupled : {false, true}) {
    CAPTURE(decoupled);
    check_adam<float>(decoupled);
    check_adam<double>(decoupled);
  }
}

TEST_CASE("ops<cpu>::rmsprop_update matches the reference loop (plain, centered, momentum)") {
  for (const bool centered : {false, true})
    for (const bool momentum : {false, true}) {
      CAPTURE(centered);
      CAPTURE(momentum);
      check_rmsprop<float>(centered, momentum);
      check_rmsprop<double>(centered, momentum);
    }
}

TEST_CASE("ops<cpu>::adagrad_update matches the reference loop") {
  check_adagrad<float>();
  check_adagrad<double>();
}
