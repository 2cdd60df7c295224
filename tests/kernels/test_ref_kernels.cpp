// Tests of the reference kernels (minibatch::kernels::ref), the oracle of every other
// kernel: each kernel on small numbers worked out by hand, every gradient against central
// finite differences in double precision, the stability of the losses at extreme logits,
// and the exceptions (with the bad value in the message) for bad labels and indices.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <minibatch/core/error.hpp>
#include <minibatch/core/rng.hpp>
#include <minibatch/kernels/ref.hpp>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

namespace ref = minibatch::kernels::ref;
using minibatch::Rng;
using ref::Activation;

namespace {

// Tolerance for a value computed in T against an exact value: a few ulps of T.
template <class T>
constexpr double tol() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

// Checks |a[i] − ref[i]| ≤ atol + rtol·|ref[i]| for all i; on failure reports the worst
// index, both values and the excess over the tolerance.
template <class T>
void check_close(const T* a, const std::vector<double>& expected, double atol, double rtol) {
  std::size_t worst = 0;
  double worst_excess = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double diff = std::abs(static_cast<double>(a[i]) - expected[i]);
    double excess = diff - (atol + rtol * std::abs(expected[i]));
    if (std::isnan(diff)) excess = std::numeric_limits<double>::infinity();
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
    }
  }
  if (expected.empty()) return;
  const double got = static_cast<double>(a[worst]);
  const double want = expected[worst];
  CAPTURE(worst);
  CAPTURE(got);
  CAPTURE(want);
  CHECK(worst_excess <= 0.0);
}

template <class T>
void check_close(const std::vector<T>& a, const std::vector<double>& expected, double atol,
                 double rtol) {
  REQUIRE(a.size() == expected.size());
  check_close(a.data(), expected, atol, rtol);
}

template <class T>
void check_close(const std::vector<T>& a, const std::vector<double>& expected) {
  check_close(a, expected, tol<T>(), tol<T>());
}

template <class T>
void check_scalar(T a, double expected) {
  check_close(&a, std::vector<double>{expected}, tol<T>(), tol<T>());
}

std::vector<double> uniform(Rng& rng, std::size_t count, double lo, double hi) {
  std::vector<double> v(count);
  for (double& e : v) e = lo + (hi - lo) * rng.uniform();
  return v;
}

// Central differences (f(p + h) − f(p − h)) / 2h for every entry of p; f reads p.
std::vector<double> numeric_grad(const std::function<double()>& f, std::vector<double>& p,
                                 double h = 1e-5) {
  std::vector<double> grad(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double saved = p[i];
    p[i] = saved + h;
    const double up = f();
    p[i] = saved - h;
    const double down = f();
    p[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

// Finite-difference comparisons: relative error ≤ 1e-6 with a tiny absolute floor.
constexpr double fd_atol = 1e-9;
constexpr double fd_rtol = 1e-6;

constexpr double sentinel = 123.0;  // prefilled into gradients to prove they are overwritten

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const minibatch::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// dense + bias

TEST_CASE_TEMPLATE("dense_forward and dense_backward on a 2x2 by 2x3 example", T, float, double) {
  const std::vector<T> x{1, 2,      //
                         3, 4};     // n = 2, in = 2
  const std::vector<T> W{1, 0, -1,  //
                         2, 1, 0};  // in = 2, out = 3
  const std::vector<T> b{0.5, -1, 2};

  SUBCASE("forward with bias") {
    // row 0: [1·1 + 2·2, 1·0 + 2·1, 1·(−1) + 2·0] + b = [5, 2, −1] + b = [5.5, 1, 1]
    // row 1: [3·1 + 4·2, 3·0 + 4·1, 3·(−1) + 4·0] + b = [11, 4, −3] + b = [11.5, 3, −1]
    std::vector<T> y(6, T(sentinel));
    ref::dense_forward(x.data(), W.data(), b.data(), y.data(), 2, 2, 3);
    check_close(y, {5.5, 1, 1, 11.5, 3, -1});
  }
  SUBCASE("forward without bias") {
    std::vector<T> y(6, T(sentinel));
    ref::dense_forward(x.data(), W.data(), static_cast<const T*>(nullptr), y.data(), 2, 2, 3);
    check_close(y, {5, 2, -1, 11, 4, -3});
  }
  SUBCASE("backward") {
    const std::vector<T> dy{1,  0, 2,  //
                            -1, 1, 0};
    std::vector<T> dx(4, T(sentinel)), dW(6, T(sentinel)), db(3, T(sentinel));
    ref::dense_backward(x.data(), W.data(), dy.data(), dx.data(), dW.data(), db.data(), 2, 2, 3);
    // dW = xᵀ·dy: row k=0 uses x column [1, 3]: [1·1 + 3·(−1), 1·0 + 3·1, 1·2 + 3·0] = [−2, 3, 2]
    //             row k=1 uses x column [2, 4]: [2·1 + 4·(−1), 2·0 + 4·1, 2·2 + 4·0] = [−2, 4, 4]
    check_close(dW, {-2, 3, 2, -2, 4, 4});
    // db = column sums of dy: [1 − 1, 0 + 1, 2 + 0] = [0, 1, 2]
    check_close(db, {0, 1, 2});
    // dx = dy·Wᵀ: row 0: [1·1 + 0·0 + 2·(−1), 1·2 + 0·1 + 2·0] = [−1, 2]
    //             row 1: [−1·1 + 1·0 + 0·(−1), −1·2 + 1·1 + 0·0] = [−1, −1]
    check_close(dx, {-1, 2, -1, -1});
  }
  SUBCASE("backward skips the gradients given as nullptr") {
    const std::vector<T> dy{1, 0, 2, -1, 1, 0};
    std::vector<T> dW(6, T(sentinel));
    ref::dense_backward(x.data(), W.data(), dy.data(), static_cast<T*>(nullptr), dW.data(),
                        static_cast<T*>(nullptr), 2, 2, 3);
    check_close(dW, {-2, 3, 2, -2, 4, 4});
    std::vector<T> db(3, T(sentinel));
    ref::dense_backward(x.data(), W.data(), dy.data(), static_cast<T*>(nullptr),
                        static_cast<T*>(nullptr), db.data(), 2, 2, 3);
    check_close(db, {0, 1, 2});
  }
}

TEST_CASE_TEMPLATE("bias_add and bias_backward", T, float, double) {
  // y + b row by row: [1 + 10, 2 + 20], [3 + 10, 4 + 20]
  std::vector<T> y{1, 2, 3, 4};
  const std::vector<T> b{10, 20};
  ref::bias_add(y.data(), b.data(), 2, 2);
  check_close(y, {11, 22, 13, 24});
  // column sums of [[1, 2], [3, 4]] = [4, 6]; db is overwritten, not accumulated into
  const std::vector<T> dy{1, 2, 3, 4};
  std::vector<T> db(2, T(sentinel));
  ref::bias_backward(dy.data(), db.data(), 2, 2);
  check_close(db, {4, 6});
}

TEST_CASE("dense_backward matches central finite differences") {
  constexpr std::size_t n = 3, in = 4, out = 5;
  Rng rng(1);
  std::vector<double> x = uniform(rng, n * in, -1, 1);
  std::vector<double> W = uniform(rng, in * out, -1, 1);
  std::vector<double> b = uniform(rng, out, -1, 1);
  const std::vector<double> r = uniform(rng, n * out, -1, 1);  // L = Σ r ⊙ y, so dL/dy = r
  const auto loss = [&] {
    std::vector<double> y(n * out);
    ref::dense_forward(x.data(), W.data(), b.data(), y.data(), n, in, out);
    double L = 0;
    for (std::size_t e = 0; e < y.size(); ++e) L += r[e] * y[e];
    return L;
  };
  std::vector<double> dx(n * in, sentinel), dW(in * out, sentinel), db(out, sentinel);
  ref::dense_backward(x.data(), W.data(), r.data(), dx.data(), dW.data(), db.data(), n, in, out);
  check_close(dx, numeric_grad(loss, x), fd_atol, fd_rtol);
  check_close(dW, numeric_grad(loss, W), fd_atol, fd_rtol);
  check_close(db, numeric_grad(loss, b), fd_atol, fd_rtol);
}

// ---------------------------------------------------------------------------------------
// activations

TEST_CASE_TEMPLATE("activation_forward by hand, in place, and at extreme inputs", T, float,
                   double) {
  const std::vector<T> x{-2, 0, 0.5, 3};
  std::vector<T> y(4, T(sentinel));
  ref::activation_forward(Activation::identity, x.data(), y.data(), 4);
  check_close(y, {-2, 0, 0.5, 3});
  ref::activation_forward(Activation::relu, x.data(), y.data(), 4);
  check_close(y, {0, 0, 0.5, 3});
  // tanh(−2) = −0.9640275800758169, tanh(0.5) = 0.46211715726000974, tanh(3) = 0.9950547536867305
  ref::activation_forward(Activation::tanh, x.data(), y.data(), 4);
  check_close(y, {-0.9640275800758169, 0, 0.46211715726000974, 0.9950547536867305});
  // σ(−2) = 1/(1 + e²) = 0.11920292202211755, σ(0) = 1/2, σ(0.5) = 1/(1 + e^−0.5) =
  // 0.6224593312018546, σ(3) = 1/(1 + e⁻³) = 0.9525741268224334
  ref::activation_forward(Activation::sigmoid, x.data(), y.data(), 4);
  check_close(y, {0.11920292202211755, 0.5, 0.6224593312018546, 0.9525741268224334});

  SUBCASE("in place (y == x)") {
    std::vector<T> z{-2, 0, 0.5, 3};
    ref::activation_forward(Activation::relu, z.data(), z.data(), 4);
    check_close(z, {0, 0, 0.5, 3});
  }
  SUBCASE("relu passes NaN through") {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    T out = 0;
    ref::activation_forward(Activation::relu, &nan, &out, 1);
    CHECK(std::isnan(out));
  }
  SUBCASE("sigmoid and tanh saturate without overflow") {
    const std::vector<T> big{-1000, 1000};
    std::vector<T> s(2);
    ref::activation_forward(Activation::sigmoid, big.data(), s.data(), 2);
    check_close(s, {0, 1});
    ref::activation_forward(Activation::tanh, big.data(), s.data(), 2);
    check_close(s, {-1, 1});
  }
}

TEST_CASE_TEMPLATE("activation_backward by hand from the forward output", T, float, double) {
  // relu: y = [0, 3], dy = [5, 7] → dy·[y > 0] = [0, 7]
  const std::vector<T> y_relu{0, 3}, dy{5, 7};
  std::vector<T> dx(2, T(sentinel));
  ref::activation_backward(Activation::relu, y_relu.data(), dy.data(), dx.data(), 2);
  check_close(dx, {0, 7});
  // identity: dx = dy
  ref::activation_backward(Activation::identity, y_relu.data(), dy.data(), dx.data(), 2);
  check_close(dx, {5, 7});
  // tanh: y = [0.5, −0.5] → dy·(1 − y²) = [5·0.75, 7·0.75] = [3.75, 5.25]
  const std::vector<T> y_half{0.5, -0.5};
  ref::activation_backward(Activation::tanh, y_half.data(), dy.data(), dx.data(), 2);
  check_close(dx, {3.75, 5.25});
  // sigmoid: y = [0.5, 0.25] → dy·y·(1 − y) = [5·0.25, 7·0.1875] = [1.25, 1.3125]
  const std::vector<T> y_sig{0.5, 0.25};
  ref::activation_backward(Activation::sigmoid, y_sig.data(), dy.data(), dx.data(), 2);
  check_close(dx, {1.25, 1.3125});

  SUBCASE("in place (dx == dy)") {
    std::vector<T> g{5, 7};
    ref::activation_backward(Activation::sigmoid, y_sig.data(), g.data(), g.data(), 2);
    check_close(g, {1.25, 1.3125});
  }
}

TEST_CASE("activation_backward matches central finite differences") {
  constexpr std::size_t count = 16;
  for (Activation act :
       {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid}) {
    CAPTURE(ref::to_string(act));
    Rng rng(2, static_cast<std::uint64_t>(act));
    // |x| in [0.1, 2] with a random sign, so relu's kink at 0 is never within h of x.
    std::vector<double> x = uniform(rng, count, 0.1, 2.0);
    for (double& e : x) {
      if (rng.below(2) == 0) e = -e;
    }
    const std::vector<double> r = uniform(rng, count, -1, 1);  // L = Σ r ⊙ act(x)
    const auto loss = [&] {
      std::vector<double> y(count);
      ref::activation_forward(act, x.data(), y.data(), count);
      double L = 0;
      for (std::size_t i = 0; i < count; ++i) L += r[i] * y[i];
      return L;
    };
    std::vector<double> y(count), dx(count, sentinel);
    ref::activation_forward(act, x.data(), y.data(), count);
    ref::activation_backward(act, y.data(), r.data(), dx.data(), count);
    check_close(dx, numeric_grad(loss, x), fd_atol, fd_rtol);
  }
}

TEST_CASE("activation names round-trip and an unknown name throws value_error naming it") {
  for (Activation act :
       {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid}) {
    CHECK(ref::activation_from_string(ref::to_string(act)) == act);
  }
  CHECK(ref::to_string(Activation::relu) == "relu");
  CHECK(ref::activation_from_string("sigmoid") == Activation::sigmoid);
  CHECK_THROWS_AS(ref::activation_from_string("gelu"), minibatch::value_error);
  CHECK(message_of([] { (void)ref::activation_from_string("gelu"); }).find("\"gelu\"") !=
        std::string::npos);
  CHECK_THROWS_AS(ref::activation_from_string("ReLU"), minibatch::value_error);
}

// ---------------------------------------------------------------------------------------
// softmax cross-entropy

TEST_CASE_TEMPLATE("softmax_xent by hand", T, float, double) {
  // row 0: z = [0, ln 3], label 0: p = [1/4, 3/4], loss = −ln(1/4) = ln 4
  // row 1: z = [2, 2],    label 1: p = [1/2, 1/2], loss = ln 2
  // mean = (ln 4 + ln 2)/2 = 1.5·ln 2 = 1.0397207708399179
  // dlogits = (p − onehot)/n: row 0 = [(1/4 − 1)/2, (3/4)/2] = [−0.375, 0.375]
  //                           row 1 = [(1/2)/2, (1/2 − 1)/2] = [0.25, −0.25]
  const std::vector<T> z{0, static_cast<T>(std::log(3.0)), 2, 2};
  const std::vector<std::int32_t> labels{0, 1};
  std::vector<T> d(4, T(sentinel));
  const T loss = ref::softmax_xent(z.data(), labels.data(), d.data(), 2, 2);
  check_scalar(loss, 1.0397207708399179);
  check_close(d, {-0.375, 0.375, 0.25, -0.25});
  // loss only: the same value, nothing written
  check_scalar(ref::softmax_xent(z.data(), labels.data(), static_cast<T*>(nullptr), 2, 2),
               1.0397207708399179);
}

TEST_CASE_TEMPLATE("softmax_xent of a uniform row is log(classes)", T, float, double) {
  for (std::size_t classes : {1u, 2u, 10u, 1000u}) {
    CAPTURE(classes);
    const std::vector<T> z(classes, T(0.7));
    const std::int32_t label = static_cast<std::int32_t>(classes - 1);
    check_scalar(ref::softmax_xent(z.data(), &label, static_cast<T*>(nullptr), 1, classes),
                 std::log(static_cast<double>(classes)));
  }
}

TEST_CASE_TEMPLATE("softmax_xent is stable for logits of +-1000", T, float, double) {
  // row 0: z = [1000, −1000, 0], label 1: loss = log(e⁰ + e⁻²⁰⁰⁰ + e⁻¹⁰⁰⁰) + 2000 = 2000 (to
  //        double precision), p = [1, 0, 0] → dlogits = ([1, 0, 0] − [0, 1, 0])/2
  // row 1: z = [−1000, 1000, 1000], label 2: loss = ln 2, p = [0, 1/2, 1/2]
  //        → dlogits = ([0, 1/2, 1/2] − [0, 0, 1])/2
  // mean = (2000 + ln 2)/2 = 1000.34657359028
  const std::vector<T> z{1000, -1000, 0, -1000, 1000, 1000};
  const std::vector<std::int32_t> labels{1, 2};
  std::vector<T> d(6, T(sentinel));
  const T loss = ref::softmax_xent(z.data(), labels.data(), d.data(), 2, 3);
  CHECK(std::isfinite(loss));
  check_scalar(loss, (2000 + std::numbers::ln2) / 2);
  check_close(d, {0.5, -0.5, 0, 0, 0.25, -0.25});
}

TEST_CASE("softmax_xent matches central finite differences") {
  constexpr std::size_t n = 4, classes = 5;
  Rng rng(3);
  std::vector<double> z(n * classes);
  for (double& e : z) e = 2 * rng.normal();
  std::vector<std::int32_t> labels(n);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(classes));
  const auto loss = [&] {
    return ref::softmax_xent(z.data(), labels.data(), (double*)nullptr, n, classes);
  };
  std::vector<double> d(n * classes, sentinel);
  const double L = ref::softmax_xent(z.data(), labels.data(), d.data(), n, classes);
  CHECK(L == loss());
  check_close(d, numeric_grad(loss, z), fd_atol, fd_rtol);
  // each row of dlogits sums to (1 − 1)/n = 0
  for (std::size_t i = 0; i < n; ++i) {
    double row_sum = 0;
    for (std::size_t j = 0; j < classes; ++j) row_sum += d[i * classes + j];
    CHECK(std::abs(row_sum) <= 1e-15);
  }
}

TEST_CASE_TEMPLATE("softmax_xent rejects bad labels and empty shapes", T, float, double) {
  const std::vector<T> z(6, T(0));
  std::vector<T> d(6, T(sentinel));
  const std::vector<std::int32_t> too_big{0, 5}, negative{-1, 0};
  CHECK_THROWS_AS(ref::softmax_xent(z.data(), too_big.data(), d.data(), 2, 3),
                  minibatch::index_error);
  const std::string msg =
      message_of([&] { ref::softmax_xent(z.data(), too_big.data(), d.data(), 2, 3); });
  CHECK(msg.find("row 1") != std::string::npos);
  CHECK(msg.find("label 5") != std::string::npos);
  CHECK(message_of([&] {
          ref::softmax_xent(z.data(), negative.data(), d.data(), 2, 3);
        }).find("label -1") != std::string::npos);
  // labels are checked before anything is written
  for (T v : d) CHECK(v == T(sentinel));
  const std::int32_t zero = 0;
  CHECK_THROWS_AS(ref::softmax_xent(z.data(), &zero, d.data(), 0, 3), minibatch::shape_error);
  CHECK_THROWS_AS(ref::softmax_xent(z.data(), &zero, d.data(), 1, 0), minibatch::shape_error);
}

// ---------------------------------------------------------------------------------------
// sigmoid cross-entropy

TEST_CASE_TEMPLATE("sigmoid_xent by hand and at extreme logits", T, float, double) {
  // z = 0, y = 1: max(0, 0) − 0 + log1p(e⁰) = ln 2                     = 0.6931471805599453
  // z = 2, y = 0: max(2, 0) − 0 + log1p(e⁻²) = 2 + 0.12692801104297263 = 2.1269280110429727
  // mean = 1.410037595801459
  // dlogits = (σ(z) − y)/2 = [(0.5 − 1)/2, 0.8807970779778823/2] = [−0.25, 0.44039853898894116]
  const std::vector<T> z{0, 2};
  const std::vector<std::int32_t> y{1, 0};
  std::vector<T> d(2, T(sentinel));
  check_scalar(ref::sigmoid_xent(z.data(), y.data(), d.data(), 2), 1.410037595801459);
  check_close(d, {-0.25, 0.44039853898894116});

  // z = 1000, y = 0 and z = −1000, y = 1 each cost 1000; z = ±1000 with the right label 0.
  const std::vector<T> big{1000, -1000, 1000, -1000};
  const std::vector<std::int32_t> yb{0, 1, 1, 0};
  std::vector<T> db(4, T(sentinel));
  const T loss = ref::sigmoid_xent(big.data(), yb.data(), db.data(), 4);
  CHECK(std::isfinite(loss));
  check_scalar(loss, 500.0);  // (1000 + 1000 + 0 + 0)/4
  check_close(db, {0.25, -0.25, 0, 0});
}

TEST_CASE("sigmoid_xent matches central finite differences") {
  constexpr std::size_t n = 6;
  Rng rng(4);
  std::vector<double> z = uniform(rng, n, -4, 4);
  std::vector<std::int32_t> labels(n);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(2));
  const auto loss = [&] { return ref::sigmoid_xent(z.data(), labels.data(), (double*)nullptr, n); };
  std::vector<double> d(n, sentinel);
  CHECK(ref::sigmoid_xent(z.data(), labels.data(), d.data(), n) == loss());
  check_close(d, numeric_grad(loss, z), fd_atol, fd_rtol);
}

TEST_CASE("sigmoid_xent rejects labels outside {0, 1}") {
  const std::vector<float> z{0, 0, 0};
  std::vector<float> d(3, float(sentinel));
  const std::vector<std::int32_t> labels{1, 0, 2};
  CHECK_THROWS_AS(ref::sigmoid_xent(z.data(), labels.data(), d.data(), 3), minibatch::index_error);
  const std::string msg =
      message_of([&] { ref::sigmoid_xent(z.data(), labels.data(), d.data(), 3); });
  CHECK(msg.find("example 2") != std::string::npos);
  CHECK(msg.find("label 2") != std::string::npos);
  const std::vector<std::int32_t> negative{-1};
  CHECK(message_of([&] {
          ref::sigmoid_xent(z.data(), negative.data(), d.data(), 1);
        }).find("label -1") != std::string::npos);
  for (float v : d) CHECK(v == float(sentinel));
}

// ---------------------------------------------------------------------------------------
// mean squared error

TEST_CASE_TEMPLATE("mse by hand", T, float, double) {
  // row 0: pred [1, 2] − target [0, 0] = [1, 2]  → ½(1 + 4) = 2.5
  // row 1: pred [3, 4] − target [3, 6] = [0, −2] → ½(0 + 4) = 2
  // L = (2.5 + 2)/2 = 2.25; dpred = [[1, 2], [0, −2]]/2 = [[0.5, 1], [0, −1]]
  const std::vector<T> pred{1, 2, 3, 4}, target{0, 0, 3, 6};
  std::vector<T> d(4, T(sentinel));
  check_scalar(ref::mse(pred.data(), target.data(), d.data(), 2, 2), 2.25);
  check_close(d, {0.5, 1, 0, -1});
  check_scalar(ref::mse(pred.data(), target.data(), static_cast<T*>(nullptr), 2, 2), 2.25);
  CHECK_THROWS_AS(ref::mse(pred.data(), target.data(), d.data(), 0, 2), minibatch::shape_error);
}

TEST_CASE("mse matches central finite differences") {
  constexpr std::size_t n = 3, dim = 4;
  Rng rng(5);
  std::vector<double> pred = uniform(rng, n * dim, -2, 2);
  const std::vector<double> target = uniform(rng, n * dim, -2, 2);
  const auto loss = [&] { return ref::mse(pred.data(), target.data(), (double*)nullptr, n, dim); };
  std::vector<double> d(n * dim, sentinel);
  CHECK(ref::mse(pred.data(), target.data(), d.data(), n, dim) == loss());
  check_close(d, numeric_grad(loss, pred), fd_atol, fd_rtol);
}

// ---------------------------------------------------------------------------------------
// gather, norms, accuracy

TEST_CASE_TEMPLATE("gather_rows and gather copy the indexed rows and entries", T, float, double,
                   std::int32_t) {
  const std::vector<T> src{0, 1, 10, 11, 20, 21};  // 3 rows × 2 columns
  const std::vector<std::size_t> idx{2, 0, 2};
  std::vector<T> dst(6);
  ref::gather_rows(src.data(), 3, 2, idx.data(), 3, dst.data());
  CHECK(dst == std::vector<T>{20, 21, 0, 1, 20, 21});

  const std::vector<T> labels{7, 8, 9};
  const std::vector<std::size_t> pick{1, 1, 0};
  std::vector<T> out(3);
  ref::gather(labels.data(), 3, pick.data(), 3, out.data());
  CHECK(out == std::vector<T>{8, 8, 7});
}

TEST_CASE("gather_rows and gather reject an index past the end, naming it") {
  const std::vector<double> src{0, 1, 10, 11, 20, 21};
  const std::vector<std::size_t> idx{0, 3};
  std::vector<double> dst(4, sentinel);
  CHECK_THROWS_AS(ref::gather_rows(src.data(), 3, 2, idx.data(), 2, dst.data()),
                  minibatch::index_error);
  std::string msg =
      message_of([&] { ref::gather_rows(src.data(), 3, 2, idx.data(), 2, dst.data()); });
  CHECK(msg.find("idx[1] = 3") != std::string::npos);
  for (double v : dst) CHECK(v == sentinel);

  const std::vector<std::size_t> far{7};
  CHECK_THROWS_AS(ref::gather(src.data(), 6, far.data(), 1, dst.data()), minibatch::index_error);
  msg = message_of([&] { ref::gather(src.data(), 6, far.data(), 1, dst.data()); });
  CHECK(msg.find("idx[0] = 7") != std::string::npos);
}

TEST_CASE_TEMPLATE("sum_squares and l2_norm", T, float, double) {
  // [3, 4]: 9 + 16 = 25, √25 = 5
  const std::vector<T> x{3, -4};
  CHECK(ref::sum_squares(x.data(), 2) == 25.0);
  CHECK(ref::l2_norm(x.data(), 2) == 5.0);
  CHECK(ref::l2_norm(x.data(), 0) == 0.0);
  // accumulates in double: 10⁵ entries of 0.1 sum to 10⁵·0.1² = 1000 to ~1e-11 relative
  // (a float accumulator would be off by ~1e-5 relative)
  const std::vector<T> many(100000, T(0.1));
  const double v = static_cast<double>(T(0.1));
  const double exact = 1e5 * v * v;
  CHECK(std::abs(ref::sum_squares(many.data(), many.size()) - exact) <= 1e-11 * exact);
}

TEST_CASE_TEMPLATE("argmax_row and count_correct", T, float, double) {
  // row 0: argmax 1 = label 1 (correct)
  // row 1: tie between 0 and 1 → first maximum 0 ≠ label 1 (wrong)
  // row 2: argmax 2 = label 2 (correct)  → 2 correct
  const std::vector<T> logits{0.1, 0.7, 0.2,  //
                              0.5, 0.5, 0.0,  //
                              -1,  -2,  -0.5};
  const std::vector<std::int32_t> labels{1, 1, 2};
  CHECK(ref::argmax_row(logits.data() + 3, 3) == 0);
  CHECK(ref::argmax_row(logits.data() + 6, 3) == 2);
  CHECK(ref::count_correct(logits.data(), labels.data(), 3, 3) == 2);
  const std::vector<std::int32_t> bad{1, 3, 2};
  CHECK_THROWS_AS(ref::count_correct(logits.data(), bad.data(), 3, 3), minibatch::index_error);
  CHECK(message_of([&] {
          (void)ref::count_correct(logits.data(), bad.data(), 3, 3);
        }).find("label 3") != std::string::npos);
}

// ---------------------------------------------------------------------------------------
// optimizer updates

TEST_CASE_TEMPLATE("gd_update and momentum_update by hand", T, float, double) {
  const std::vector<T> g{0.5, 1};
  SUBCASE("gd: θ − 0.1·g = [1 − 0.05, −2 − 0.1]") {
    std::vector<T> theta{1, -2};
    ref::gd_update(theta.data(), g.data(), 2, 0.1);
    check_close(theta, {0.95, -2.1});
  }
  SUBCASE("lecture momentum") {
    // m = [0.9·0.2 − 0.1·0.5, 0.9·0 − 0.1·1] = [0.13, −0.1]; θ = [1.13, −2.1]
    std::vector<T> theta{1, -2}, m{0.2, 0};
    ref::momentum_update(theta.data(), m.data(), g.data(), 2, 0.1, 0.9, false);
    check_close(m, {0.13, -0.1});
    check_close(theta, {1.13, -2.1});
  }
  SUBCASE("lecture momentum, nesterov") {
    // m = [0.13, −0.1]; θ = θ + 0.9·m − 0.1·g = [1 + 0.117 − 0.05, −2 − 0.09 − 0.1]
    std::vector<T> theta{1, -2}, m{0.2, 0};
    ref::momentum_update(theta.data(), m.data(), g.data(), 2, 0.1, 0.9, true);
    check_close(m, {0.13, -0.1});
    check_close(theta, {1.067, -2.19});
  }
  SUBCASE("torch momentum with dampening 0.5") {
    // v = [0.9·0.2 + 0.5·0.5, 0.9·0 + 0.5·1] = [0.43, 0.5]; θ = θ − 0.1·v = [0.957, −2.05]
    std::vector<T> theta{1, -2}, v{0.2, 0};
    ref::momentum_update_torch(theta.data(), v.data(), g.data(), 2, 0.1, 0.9, 0.5, false, false);
    check_close(v, {0.43, 0.5});
    check_close(theta, {0.957, -2.05});
  }
  SUBCASE("torch momentum with dampening 0.5, nesterov") {
    // v = [0.43, 0.5]; d = g + 0.9·v = [0.887, 1.45]; θ = θ − 0.1·d = [0.9113, −2.145]
    std::vector<T> theta{1, -2}, v{0.2, 0};
    ref::momentum_update_torch(theta.data(), v.data(), g.data(), 2, 0.1, 0.9, 0.5, true, false);
    check_close(v, {0.43, 0.5});
    check_close(theta, {0.9113, -2.145});
  }
  SUBCASE("torch momentum, first step: v = g whatever v held, no dampening") {
    std::vector<T> theta{1, -2}, v{T(sentinel), T(sentinel)};
    ref::momentum_update_torch(theta.data(), v.data(), g.data(), 2, 0.1, 0.9, 0.5, false, true);
    check_close(v, {0.5, 1});
    check_close(theta, {0.95, -2.1});
  }
}

TEST_CASE("lecture and PyTorch momentum agree under a constant lr, not under a schedule") {
  constexpr std::size_t count = 8;
  for (bool nesterov : {false, true}) {
    CAPTURE(nesterov);
    Rng rng(6);
    std::vector<double> theta_a = uniform(rng, count, -1, 1), theta_b = theta_a;
    std::vector<double> m(count, 0.0), v(count, 0.0);
    constexpr double lr = 0.05, mu = 0.9;
    for (int step = 0; step < 20; ++step) {
      const std::vector<double> g = uniform(rng, count, -1, 1);
      ref::momentum_update(theta_a.data(), m.data(), g.data(), count, lr, mu, nesterov);
      ref::momentum_update_torch(theta_b.data(), v.data(), g.data(), count, lr, mu, 0.0, nesterov,
                                 step == 0);
    }
    check_close(theta_a, theta_b, 1e-12, 1e-12);
    std::vector<double> minus_lr_v(count);
    for (std::size_t i = 0; i < count; ++i) minus_lr_v[i] = -lr * v[i];
    check_close(m, minus_lr_v, 1e-12, 1e-12);
  }

  // lr 1 then 0.1 with g = 1 both steps:
  //   lecture: m = −1, θ = −1; m = 0.9·(−1) − 0.1 = −1, θ = −2
  //   torch:   v = 1, θ = −1;  v = 0.9 + 1 = 1.9, θ = −1 − 0.19 = −1.19
  double theta_a = 0, theta_b = 0, m = 0, v = 0;
  const double g = 1;
  ref::momentum_update(&theta_a, &m, &g, 1, 1.0, 0.9, false);
  ref::momentum_update_torch(&theta_b, &v, &g, 1, 1.0, 0.9, 0.0, false, true);
  ref::momentum_update(&theta_a, &m, &g, 1, 0.1, 0.9, false);
  ref::momentum_update_torch(&theta_b, &v, &g, 1, 0.1, 0.9, 0.0, false, false);
  CHECK(theta_a == doctest::Approx(-2.0).epsilon(1e-14));
  CHECK(theta_b == doctest::Approx(-1.19).epsilon(1e-14));
}

TEST_CASE("momentum 0 is plain gradient descent") {
  constexpr std::size_t count = 8;
  Rng rng(7);
  std::vector<double> theta_a = uniform(rng, count, -1, 1), theta_b = theta_a, theta_c = theta_a;
  std::vector<double> m(count, 0.0), v(count, 0.0);
  for (int step = 0; step < 5; ++step) {
    const std::vector<double> g = uniform(rng, count, -1, 1);
    ref::gd_update(theta_a.data(), g.data(), count, 0.1);
    ref::momentum_update(theta_b.data(), m.data(), g.data(), count, 0.1, 0.0, false);
    ref::momentum_update_torch(theta_c.data(), v.data(), g.data(), count, 0.1, 0.0, 0.0, true,
                               step == 0);
  }
  check_close(theta_b, theta_a, 1e-15, 1e-15);
  check_close(theta_c, theta_a, 1e-15, 1e-15);
}
