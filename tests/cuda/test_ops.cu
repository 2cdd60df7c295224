// Every ops<cuda> function against ops<cpu> on the same random data, through Tensor<T, cuda>
// (odd shapes and a batch of 60000 rows), plus the checks ops<cuda> makes on the host and
// the cuda_error a failing CUDA call becomes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "gpu_test.hpp"
#include "minibatch/cuda.cuh"

namespace mb = minibatch;
using gpu_test::check_close;
using gpu_test::random_labels;
using gpu_test::random_values;
using gpu_test::Tolerance;

namespace {

template <class T, class B>
mb::Tensor<T, B> tensor(mb::Shape shape, const std::vector<T>& values) {
  return mb::Tensor<T, B>(shape, std::span<const T>(values));
}

// The same values on both backends.
template <class T>
struct Pair {
  mb::Tensor<T, mb::cpu> cpu;
  mb::Tensor<T, mb::cuda> gpu;
  Pair(mb::Shape shape, const std::vector<T>& values) : cpu(tensor<T, mb::cpu>(shape, values)), gpu(tensor<T, mb::cuda>(shape, values)) {}
  explicit Pair(mb::Shape shape) : cpu(shape), gpu(shape) {}
  mb::TensorView<const T, mb::cpu> ccpu() const { return cpu.view(); }
  mb::TensorView<const T, mb::cuda> cgpu() const { return gpu.view(); }
};

template <class T>
void check_pair(const Pair<T>& p, Tolerance tol, const std::string& what) {
  check_close(p.gpu.to_vector(), p.cpu.to_vector(), tol, what);
}

using ops_cpu = mb::ops<mb::cpu>;
using ops_gpu = mb::ops<mb::cuda>;

}  // namespace

TEST_CASE_TEMPLATE("ops<cuda> optimizer updates and l2_norm match ops<cpu>", T, float, double) {
  const auto tol = gpu_test::elementwise_tolerance<T>();
  const std::size_t n = (std::size_t{1} << 20) + 3;
  const mb::Shape shape{n};
  Pair<T> theta(shape, random_values<T>(n, 1)), m(shape, random_values<T>(n, 2)), g(shape, random_values<T>(n, 3));
  ops_cpu::gd_update(theta.cpu.view(), g.ccpu(), T(0.1));
  ops_gpu::gd_update(theta.gpu.view(), g.cgpu(), T(0.1));
  check_pair(theta, tol, "ops gd_update");
  ops_cpu::momentum_update(theta.cpu.view(), m.cpu.view(), g.ccpu(), T(0.1), T(0.9), true);
  ops_gpu::momentum_update(theta.gpu.view(), m.gpu.view(), g.cgpu(), T(0.1), T(0.9), true);
  check_pair(theta, tol, "ops momentum_update theta");
  check_pair(m, tol, "ops momentum_update m");
  ops_cpu::momentum_update_torch(theta.cpu.view(), m.cpu.view(), g.ccpu(), T(0.1), T(0.9), T(0.2), false, false);
  ops_gpu::momentum_update_torch(theta.gpu.view(), m.gpu.view(), g.cgpu(), T(0.1), T(0.9), T(0.2), false, false);
  check_pair(theta, tol, "ops momentum_update_torch theta");
  check_pair(m, tol, "ops momentum_update_torch v");
  // The cpu adds the n squares one after another (rounding bound n·u in double); the gpu
  // adds them in a tree.
  check_close(ops_gpu::l2_norm(theta.cgpu()), ops_cpu::l2_norm(theta.ccpu()), {0, 2e-16 * static_cast<double>(n)},
              "ops l2_norm");
  const mb::Tensor<T, mb::cuda> empty;
  CHECK(ops_gpu::l2_norm(empty.view()) == 0.0);
}

TEST_CASE_TEMPLATE("ops<cuda>::gemm matches ops<cpu> for every transpose, beta and odd shape", T, float, double) {
  struct Dims {
    std::size_t rows, inner, cols;
  };
  const std::vector<Dims> dims{{1, 1, 1}, {7, 13, 5}, {33, 1, 17}, {129, 257, 65}, {60000, 784, 10}, {5, 0, 3}};
  for (const auto [rows, inner, cols] : dims) {
    const auto a_values = random_values<T>(rows * inner, 11), b_values = random_values<T>(inner * cols, 12);
    const auto c_values = random_values<T>(rows * cols, 13);
    for (bool trans_a : {false, true}) {
      for (bool trans_b : {false, true}) {
        for (T beta : {T(0), T(1), T(0.5)}) {
          const mb::Shape a_shape = trans_a ? mb::Shape{inner, rows} : mb::Shape{rows, inner};
          const mb::Shape b_shape = trans_b ? mb::Shape{cols, inner} : mb::Shape{inner, cols};
          Pair<T> a(a_shape, a_values), b(b_shape, b_values);
          auto c0 = c_values;
          if (beta == T(0)) c0.assign(c0.size(), std::numeric_limits<T>::quiet_NaN());  // must be ignored
          Pair<T> c(mb::Shape{rows, cols}, c0);
          ops_cpu::gemm(a.ccpu(), trans_a, b.ccpu(), trans_b, c.cpu.view(), beta);
          ops_gpu::gemm(a.cgpu(), trans_a, b.cgpu(), trans_b, c.gpu.view(), beta);
          const double eps = sizeof(T) == 4 ? 1e-6 : 1e-14;
          const std::string what = "ops gemm " + a_shape.to_string() + (trans_a ? "T" : "") + " x " +
                                   b_shape.to_string() + (trans_b ? "T" : "") + " beta " + std::to_string(beta);
          check_close(c.gpu.to_vector(), c.cpu.to_vector(), {eps * static_cast<double>(inner + 1), 10 * eps}, what);
        }
      }
    }
  }
  Pair<T> a(mb::Shape{2, 3}), b(mb::Shape{2, 3}), c(mb::Shape{2, 2});
  CHECK_THROWS_AS(ops_gpu::gemm(a.cgpu(), false, b.cgpu(), false, c.gpu.view()), mb::shape_error);
  CHECK_NOTHROW(ops_gpu::gemm(a.cgpu(), false, b.cgpu(), true, c.gpu.view()));
}

TEST_CASE_TEMPLATE("ops<cuda> bias + activation, activation backward and column sums match ops<cpu>", T, float,
                   double) {
  const auto tol = gpu_test::elementwise_tolerance<T>();
  struct Case {
    std::size_t n, cols;
    mb::Activation act;
    bool bias;
  };
  const std::vector<Case> cases{{60000, 512, mb::Activation::relu, true},
                                {7, 13, mb::Activation::sigmoid, true},
                                {33, 65, mb::Activation::tanh, false},
                                {60000, 10, mb::Activation::identity, true}};
  for (const auto& [n, cols, act, with_bias] : cases) {
    const mb::Shape shape{n, cols};
    const std::string what = std::string(mb::kernels::ref::to_string(act)) + " " + shape.to_string();
    Pair<T> y(shape, random_values<T>(n * cols, 21, -3, 3));
    Pair<T> b = with_bias ? Pair<T>(mb::Shape{cols}, random_values<T>(cols, 22)) : Pair<T>(mb::Shape{});
    ops_cpu::bias_activation_forward(y.cpu.view(), b.ccpu(), act);
    ops_gpu::bias_activation_forward(y.gpu.view(), b.cgpu(), act);
    check_pair(y, tol, "ops bias_activation_forward " + what);
    Pair<T> dy(shape, random_values<T>(n * cols, 23));
    ops_cpu::activation_backward(y.ccpu(), dy.cpu.view(), act);
    ops_gpu::activation_backward(y.cgpu(), dy.gpu.view(), act);
    check_pair(dy, tol, "ops activation_backward " + what);
    Pair<T> db(mb::Shape{cols});
    ops_cpu::column_sums(dy.ccpu(), db.cpu.view());
    ops_gpu::column_sums(dy.cgpu(), db.gpu.view());
    // The cpu sums rows in T one after another; its rounding grows with n.
    const double sum_atol = sizeof(T) == 4 ? 1e-6 * static_cast<double>(n) : 1e-12;
    check_pair(db, {sum_atol, 1e-5}, "ops column_sums " + what);
  }
}

TEST_CASE_TEMPLATE("ops<cuda> losses write the mean loss on the device and match ops<cpu>", T, float, double) {
  const Tolerance tol = sizeof(T) == 4 ? Tolerance{1e-7, 1e-5} : Tolerance{1e-15, 1e-12};
  for (std::size_t n : {std::size_t{1}, std::size_t{33}, std::size_t{60000}}) {
    const std::size_t classes = 10;
    const auto labels_host = random_labels(n, static_cast<std::int32_t>(classes), 31);
    Pair<std::int32_t> labels(mb::Shape{n}, labels_host);
    Pair<T> logits(mb::Shape{n, classes}, random_values<T>(n * classes, 32, -8, 8));
    Pair<T> d(mb::Shape{n, classes}), loss(mb::Shape{1});
    ops_cpu::softmax_xent(logits.ccpu(), labels.ccpu(), d.cpu.view(), loss.cpu.view());
    ops_gpu::softmax_xent(logits.cgpu(), labels.cgpu(), d.gpu.view(), loss.gpu.view());
    const std::string sz = std::to_string(n);
    check_close(ops_gpu::read(loss.cgpu()), ops_cpu::read(loss.ccpu()), tol, "ops softmax_xent loss " + sz);
    check_pair(d, {gpu_test::dlogits_atol<T>(n), tol.rtol}, "ops softmax_xent dlogits " + sz);
    const auto correct = ops_gpu::count_correct(logits.cgpu(), labels.cgpu());
    CHECK(correct == ops_cpu::count_correct(logits.ccpu(), labels.ccpu()));

    std::vector<std::int32_t> binary(n);
    for (std::size_t i = 0; i < n; ++i) binary[i] = labels_host[i] % 2;
    Pair<std::int32_t> y01(mb::Shape{n}, binary);
    Pair<T> z(mb::Shape{n}, random_values<T>(n, 33, -20, 20)), dz(mb::Shape{n});
    ops_cpu::sigmoid_xent(z.ccpu(), y01.ccpu(), dz.cpu.view(), loss.cpu.view());
    ops_gpu::sigmoid_xent(z.cgpu(), y01.cgpu(), dz.gpu.view(), loss.gpu.view());
    check_close(ops_gpu::read(loss.cgpu()), ops_cpu::read(loss.ccpu()), tol, "ops sigmoid_xent loss " + sz);
    check_pair(dz, {tol.atol / static_cast<double>(n), tol.rtol}, "ops sigmoid_xent dlogits " + sz);

    Pair<T> pred(mb::Shape{n, 3}, random_values<T>(3 * n, 34)), target(mb::Shape{n, 3}, random_values<T>(3 * n, 35));
    Pair<T> dpred(mb::Shape{n, 3});
    ops_cpu::mse(pred.ccpu(), target.ccpu(), dpred.cpu.view(), loss.cpu.view());
    ops_gpu::mse(pred.cgpu(), target.cgpu(), dpred.gpu.view(), loss.gpu.view());
    check_close(ops_gpu::read(loss.cgpu()), ops_cpu::read(loss.ccpu()), tol, "ops mse loss " + sz);
    check_pair(dpred, {tol.atol / static_cast<double>(n), tol.rtol}, "ops mse dpred " + sz);
  }
  Pair<T> empty_logits(mb::Shape{0, 10}), d(mb::Shape{0, 10}), loss(mb::Shape{1});
  Pair<std::int32_t> no_labels(mb::Shape{0});
  CHECK_THROWS_AS(ops_gpu::softmax_xent(empty_logits.cgpu(), no_labels.cgpu(), d.gpu.view(), loss.gpu.view()),
                  mb::shape_error);
  CHECK_THROWS_AS(ops_gpu::read(loss.cgpu(), 1), mb::index_error);
}

TEST_CASE("ops<cuda>::gather_rows matches ops<cpu> on a 60000-row batch, checks indices on the host, and "
          "allocates nothing once warm") {
  const std::size_t rows = 60000, cols = 784;
  Pair<float> x(mb::Shape{rows, cols}, random_values<float>(rows * cols, 41, 0, 1));
  Pair<std::int32_t> labels(mb::Shape{rows}, random_labels(rows, 10, 42));
  mb::Rng rng(43);
  std::vector<mb::index_t> idx(rows);
  for (auto& i : idx) i = rng.below(rows);
  Pair<float> xb(mb::Shape{rows, cols});
  Pair<std::int32_t> yb(mb::Shape{rows});
  mb::ops<mb::cpu>::gather_rows(x.ccpu(), idx, xb.cpu.view());
  mb::ops<mb::cpu>::gather_rows(labels.ccpu(), idx, yb.cpu.view());
  mb::ops<mb::cuda>::gather_rows(x.cgpu(), idx, xb.gpu.view());
  mb::ops<mb::cuda>::gather_rows(labels.cgpu(), idx, yb.gpu.view());
  check_pair(xb, {0, 0}, "ops gather_rows 60000x784");
  CHECK(yb.gpu.to_vector() == yb.cpu.to_vector());

  // Smaller batches reuse the buffers: no allocation, and the host may reuse idx at once.
  const auto before = mb::cuda_backend::allocation_count();
  for (int step = 0; step < 50; ++step) {
    std::vector<mb::index_t> batch(idx.begin() + step * 100, idx.begin() + step * 100 + 100);
    mb::ops<mb::cuda>::gather_rows(x.cgpu(), batch, xb.gpu.view().rows(0, 100));
    batch.assign(batch.size(), 0);
  }
  CHECK(mb::cuda_backend::allocation_count() == before);
  const auto got = xb.gpu.to_vector();
  const auto want = x.cpu.to_vector();
  CHECK(std::vector<float>(got.begin(), got.begin() + cols) ==
        std::vector<float>(want.begin() + idx[4900] * cols, want.begin() + (idx[4900] + 1) * cols));

  const std::vector<mb::index_t> bad{0, rows};
  CHECK_THROWS_AS(mb::ops<mb::cuda>::gather_rows(x.cgpu(), bad, xb.gpu.view().rows(0, 2)), mb::index_error);
}

TEST_CASE("a failing CUDA call throws cuda_error naming the call, file and line") {
  try {
    (void)mb::memory<mb::cuda>::allocate<float>(std::size_t{1} << 50);  // 4 PiB
    FAIL("allocating 4 PiB did not throw");
  } catch (const mb::cuda_error& e) {
    const std::string message = e.what();
    MESSAGE(message);
    CHECK(message.find("cudaMalloc") != std::string::npos);
    CHECK(message.find("context.cuh:") != std::string::npos);
    CHECK(e.code() != 0);
  }
  // The context stays usable after the failed call.
  mb::Tensor<float, mb::cuda> t{1.0f, 2.0f};
  CHECK(t.to_vector() == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE_TEMPLATE("ops<cuda> adaptive and layer-wise updates over uneven slices match ops<cpu>", T, float, double) {
  const auto tol = gpu_test::elementwise_tolerance<T>();
  const std::vector<mb::index_t> offsets_host{0, 100003, 100010, 104106, 104107};
  const std::size_t n = offsets_host.back(), slices = offsets_host.size() - 1;
  const mb::Shape flat{n}, per_slice{slices};
  Pair<mb::index_t> offsets(mb::Shape{slices + 1}, offsets_host);
  Pair<T> wd(per_slice, std::vector<T>{T(0.01), T(0), T(0.02), T(0)});
  Pair<T> ratio(per_slice, std::vector<T>{T(0.5), T(1), T(2), T(1)});
  const auto g_host = random_values<T>(n, 81);
  Pair<T> g(flat, g_host);
  auto fresh = [&](std::uint64_t seed, double lo, double hi) { return Pair<T>(flat, random_values<T>(n, seed, lo, hi)); };

  {
    Pair<T> theta = fresh(82, -1, 1), sum = fresh(83, 0, 1);
    ops_cpu::adagrad_update(theta.cpu.view(), sum.cpu.view(), g.ccpu(), offsets.ccpu(), wd.ccpu(), T(0.01), T(1e-10));
    ops_gpu::adagrad_update(theta.gpu.view(), sum.gpu.view(), g.cgpu(), offsets.cgpu(), wd.cgpu(), T(0.01), T(1e-10));
    check_pair(theta, tol, "ops adagrad_update theta");
    check_pair(sum, tol, "ops adagrad_update sum");
  }
  for (bool centered_momentum : {false, true}) {
    Pair<T> theta = fresh(84, -1, 1), v = fresh(85, 0.5, 1);
    Pair<T> gbar = centered_momentum ? fresh(86, -0.1, 0.1) : Pair<T>(mb::Shape{});
    Pair<T> buf = centered_momentum ? fresh(87, -1, 1) : Pair<T>(mb::Shape{});
    ops_cpu::rmsprop_update(theta.cpu.view(), v.cpu.view(), gbar.cpu.view(), buf.cpu.view(), g.ccpu(), offsets.ccpu(),
                            wd.ccpu(), T(0.01), T(0.99), T(1e-8), T(0.9));
    ops_gpu::rmsprop_update(theta.gpu.view(), v.gpu.view(), gbar.gpu.view(), buf.gpu.view(), g.cgpu(), offsets.cgpu(),
                            wd.cgpu(), T(0.01), T(0.99), T(1e-8), T(0.9));
    const std::string what = centered_momentum ? "ops rmsprop_update centered+momentum " : "ops rmsprop_update ";
    check_pair(theta, tol, what + "theta");
    check_pair(v, tol, what + "v");
    if (centered_momentum) {
      check_pair(gbar, tol, what + "gbar");
      check_pair(buf, tol, what + "buf");
    }
  }
  for (bool decoupled : {false, true}) {
    Pair<T> theta = fresh(88, -1, 1), m = fresh(89, -1, 1), v = fresh(90, 0, 1);
    const T bc1 = T(1) - std::pow(T(0.9), T(3)), bc2 = T(1) - std::pow(T(0.999), T(3));
    ops_cpu::adam_update(theta.cpu.view(), m.cpu.view(), v.cpu.view(), g.ccpu(), offsets.ccpu(), wd.ccpu(), T(1e-3),
                         T(0.9), T(0.999), T(1e-8), bc1, bc2, decoupled);
    ops_gpu::adam_update(theta.gpu.view(), m.gpu.view(), v.gpu.view(), g.cgpu(), offsets.cgpu(), wd.cgpu(), T(1e-3),
                         T(0.9), T(0.999), T(1e-8), bc1, bc2, decoupled);
    const std::string what = decoupled ? "ops adam_update (AdamW) " : "ops adam_update ";
    check_pair(theta, tol, what + "theta");
    check_pair(m, tol, what + "m");
    check_pair(v, tol, what + "v");
  }
  {
    Pair<T> theta = fresh(91, -1, 1), m = fresh(92, -1, 1), v = fresh(93, 0, 1);
    Pair<double> w_sq(per_slice), d_sq(per_slice);
    const T bc1 = T(0.19), bc2 = T(0.002);
    ops_cpu::slice_sum_squares(theta.ccpu(), offsets.ccpu(), w_sq.cpu.view());
    ops_gpu::slice_sum_squares(theta.cgpu(), offsets.cgpu(), w_sq.gpu.view());
    check_pair(w_sq, {0, 1e-12}, "ops slice_sum_squares");
    ops_cpu::lamb_direction_sum_squares(theta.ccpu(), m.ccpu(), v.ccpu(), g.ccpu(), offsets.ccpu(), wd.ccpu(), T(0.9),
                                        T(0.999), T(1e-6), bc1, bc2, d_sq.cpu.view());
    ops_gpu::lamb_direction_sum_squares(theta.cgpu(), m.cgpu(), v.cgpu(), g.cgpu(), offsets.cgpu(), wd.cgpu(), T(0.9),
                                        T(0.999), T(1e-6), bc1, bc2, d_sq.gpu.view());
    check_pair(d_sq, {0, sizeof(T) == 4 ? 1e-5 : 1e-12}, "ops lamb_direction_sum_squares");
    ops_cpu::lamb_update(theta.cpu.view(), m.cpu.view(), v.cpu.view(), g.ccpu(), offsets.ccpu(), wd.ccpu(), ratio.ccpu(),
                         T(1e-3), T(0.9), T(0.999), T(1e-6), bc1, bc2);
    ops_gpu::lamb_update(theta.gpu.view(), m.gpu.view(), v.gpu.view(), g.cgpu(), offsets.cgpu(), wd.cgpu(), ratio.cgpu(),
                         T(1e-3), T(0.9), T(0.999), T(1e-6), bc1, bc2);
    check_pair(theta, tol, "ops lamb_update theta");
    check_pair(m, tol, "ops lamb_update m");
    check_pair(v, tol, "ops lamb_update v");
  }
  {
    Pair<T> theta = fresh(94, -1, 1), m = fresh(95, -1, 1);
    ops_cpu::lars_update(theta.cpu.view(), m.cpu.view(), g.ccpu(), offsets.ccpu(), wd.ccpu(), ratio.ccpu(), T(0.1),
                         T(0.9));
    ops_gpu::lars_update(theta.gpu.view(), m.gpu.view(), g.cgpu(), offsets.cgpu(), wd.cgpu(), ratio.cgpu(), T(0.1),
                         T(0.9));
    check_pair(theta, tol, "ops lars_update theta");
    check_pair(m, tol, "ops lars_update m");
    ops_cpu::scale(theta.cpu.view(), T(0.37));
    ops_gpu::scale(theta.gpu.view(), T(0.37));
    check_pair(theta, tol, "ops scale");
  }
}
