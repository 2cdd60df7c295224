// Every kernel of kernels/cuda/, called as another project would (raw device pointers,
// sizes and a stream, here the default stream), against the reference loops of
// kernels/ref/ on random data: odd sizes, a batch of 60000 rows, and determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gpu_test.hpp"
#include "minibatch/cuda.cuh"
#include "minibatch/kernels/ref.hpp"

namespace mb = minibatch;
namespace kc = minibatch::kernels::cuda;
namespace kr = minibatch::kernels::ref;
using gpu_test::check_close;
using gpu_test::DeviceArray;
using gpu_test::random_labels;
using gpu_test::random_values;
using gpu_test::Tolerance;

namespace {

const std::vector<std::size_t> flat_sizes{1, 7, 31, 33, 255, 257, 1000, 65537, (std::size_t{1} << 20) + 3};

struct RowShape {
  std::size_t n, cols;
};
const std::vector<RowShape> row_shapes{{1, 1}, {7, 13}, {33, 1}, {129, 517}, {60000, 10}, {3, 70001}};

const kr::Activation activations[] = {kr::Activation::identity, kr::Activation::relu, kr::Activation::tanh,
                                      kr::Activation::sigmoid};

std::string shape_name(const char* what, std::size_t n, std::size_t cols) {
  return std::string(what) + " " + std::to_string(n) + "x" + std::to_string(cols);
}

}  // namespace

TEST_CASE_TEMPLATE("kernels::cuda optimizer updates match the reference", T, float, double) {
  const auto tol = gpu_test::elementwise_tolerance<T>();
  for (std::size_t n : flat_sizes) {
    const auto theta0 = random_values<T>(n, 1), m0 = random_values<T>(n, 2), g = random_values<T>(n, 3);
    DeviceArray<T> dg(g);
    {
      DeviceArray<T> dtheta(theta0);
      auto ref = theta0;
      kc::gd_update(dtheta.get(), dg.get(), n, T(0.1), nullptr);
      kr::gd_update(ref.data(), g.data(), n, T(0.1));
      check_close(dtheta.to_host(), ref, tol, "gd_update " + std::to_string(n));
    }
    for (bool nesterov : {false, true}) {
      DeviceArray<T> dtheta(theta0), dm(m0);
      auto ref_theta = theta0, ref_m = m0;
      kc::momentum_update(dtheta.get(), dm.get(), dg.get(), n, T(0.05), T(0.9), nesterov, nullptr);
      kr::momentum_update(ref_theta.data(), ref_m.data(), g.data(), n, T(0.05), T(0.9), nesterov);
      const std::string what = std::string("momentum_update") + (nesterov ? " nesterov " : " ") + std::to_string(n);
      check_close(dtheta.to_host(), ref_theta, tol, what + " theta");
      check_close(dm.to_host(), ref_m, tol, what + " m");
    }
    for (bool first : {true, false}) {
      for (bool nesterov : {false, true}) {
        const T dampening = nesterov ? T(0) : T(0.1);
        DeviceArray<T> dtheta(theta0), dv(m0);
        auto ref_theta = theta0, ref_v = m0;
        kc::momentum_update_torch(dtheta.get(), dv.get(), dg.get(), n, T(0.05), T(0.9), dampening, nesterov, first,
                                  nullptr);
        kr::momentum_update_torch(ref_theta.data(), ref_v.data(), g.data(), n, T(0.05), T(0.9), dampening, nesterov,
                                  first);
        const std::string what = "momentum_update_torch first=" + std::to_string(first) +
                                 " nesterov=" + std::to_string(nesterov) + " " + std::to_string(n);
        check_close(dtheta.to_host(), ref_theta, tol, what + " theta");
        check_close(dv.to_host(), ref_v, tol, what + " v");
      }
    }
  }
}

TEST_CASE_TEMPLATE("kernels::cuda sum_squares and l2_norm match the reference, deterministically", T, float,
                   double) {
  DeviceArray<double> partials(kc::max_partials), out(2);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{60000 * 10},
                        (std::size_t{1} << 22) + 5}) {
    const auto x = random_values<T>(n, 7);
    DeviceArray<T> dx(x);
    kc::sum_squares(dx.get(), n, out.get(), partials.get(), nullptr);
    kc::l2_norm(dx.get(), n, out.get() + 1, partials.get(), nullptr);
    const auto first = out.to_host();
    check_close(first[0], kr::sum_squares(x.data(), n), {1e-300, 1e-12}, "sum_squares " + std::to_string(n));
    check_close(first[1], kr::l2_norm(x.data(), n), {1e-300, 1e-12}, "l2_norm " + std::to_string(n));
    kc::sum_squares(dx.get(), n, out.get(), partials.get(), nullptr);
    CHECK_MESSAGE(out.to_host()[0] == first[0], "sum_squares is not bitwise reproducible for n = ", n);
  }
}

TEST_CASE_TEMPLATE("kernels::cuda bias + activation forward and activation backward match the reference", T, float,
                   double) {
  const auto tol = gpu_test::elementwise_tolerance<T>();
  for (const auto [n, cols] : row_shapes) {
    const auto y0 = random_values<T>(n * cols, 11, -4.0, 4.0), b = random_values<T>(cols, 12);
    const auto dy = random_values<T>(n * cols, 13);
    DeviceArray<T> db(b);
    for (kr::Activation act : activations) {
      const std::string name = std::string(kr::to_string(act));
      for (bool with_bias : {true, false}) {
        DeviceArray<T> dyv(y0);
        kc::bias_activation_forward(dyv.get(), with_bias ? db.get() : nullptr, n, cols, act, nullptr);
        auto ref = y0;
        if (with_bias) kr::bias_add(ref.data(), b.data(), n, cols);
        kr::activation_forward(act, ref.data(), ref.data(), ref.size());
        check_close(dyv.to_host(), ref, tol,
                    shape_name(("bias_activation_forward " + name + (with_bias ? "" : " no bias")).c_str(), n, cols));
      }
      // Backward from a forward output in the activation's range, in place (dx = dy).
      auto y = y0;
      kr::activation_forward(act, y.data(), y.data(), y.size());
      DeviceArray<T> dyo(y), dx(dy);
      kc::activation_backward(dyo.get(), dx.get(), dx.get(), y.size(), act, nullptr);
      std::vector<T> ref(y.size());
      kr::activation_backward(act, y.data(), dy.data(), ref.data(), y.size());
      check_close(dx.to_host(), ref, tol, shape_name(("activation_backward " + name).c_str(), n, cols));
    }
  }
  CHECK_THROWS_AS(kc::bias_activation_forward<T>(nullptr, nullptr, 1, 1, static_cast<kr::Activation>(42), nullptr),
                  mb::value_error);
}

TEST_CASE_TEMPLATE("kernels::cuda column_sums matches the reference, deterministically", T, float, double) {
  constexpr std::size_t workspace_size = std::size_t{1} << 16;
  DeviceArray<double> workspace(workspace_size);
  std::vector<RowShape> shapes = row_shapes;
  shapes.push_back({60000, 512});
  shapes.push_back({100000, 1});
  shapes.push_back({0, 5});
  for (const auto [n, cols] : shapes) {
    const auto dy = random_values<T>(n * cols, 21);
    DeviceArray<T> ddy(dy), db(cols);
    kc::column_sums(ddy.get(), db.get(), n, cols, workspace.get(), workspace_size, nullptr);
    // The oracle in double (the float reference's own rounding grows with n).
    std::vector<double> ref(cols);
    const auto dy64 = gpu_test::to_double(dy);
    kr::bias_backward(dy64.data(), ref.data(), n, cols);
    const Tolerance tol = sizeof(T) == 4 ? Tolerance{1e-5, 1e-6} : Tolerance{1e-12, 1e-12};
    const auto first = db.to_host();
    check_close(first, ref, tol, shape_name("column_sums", n, cols));
    kc::column_sums(ddy.get(), db.get(), n, cols, workspace.get(), workspace_size, nullptr);
    CHECK_MESSAGE(db.to_host() == first, "column_sums is not bitwise reproducible for ", n, "x", cols);
  }
}

TEST_CASE_TEMPLATE("kernels::cuda softmax_xent: loss and dlogits match the reference, stable, deterministic", T,
                   float, double) {
  DeviceArray<double> partials(kc::max_partials);
  const Tolerance tol = sizeof(T) == 4 ? Tolerance{1e-7, 1e-5} : Tolerance{1e-15, 1e-12};
  std::vector<RowShape> shapes{{1, 1}, {1, 10}, {7, 3}, {60000, 10}, {129, 1000}, {5, 5000}, {33, 33}};
  for (const auto [n, classes] : shapes) {
    for (double scale : {10.0, 1e4}) {  // 1e4: exp would overflow without the max shift
      const auto z = random_values<T>(n * classes, 31, -scale, scale);
      const auto labels = random_labels(n, static_cast<std::int32_t>(classes), 32);
      DeviceArray<T> dz(z), dd(n * classes), dloss(1);
      DeviceArray<std::int32_t> dlabels(labels);
      kc::softmax_xent(dz.get(), dlabels.get(), dd.get(), dloss.get(), n, classes, partials.get(), nullptr);
      std::vector<T> ref_d(n * classes);
      const T ref_loss = kr::softmax_xent(z.data(), labels.data(), ref_d.data(), n, classes);
      const std::string what = shape_name("softmax_xent", n, classes) + " scale " + std::to_string(int(scale));
      const auto loss = dloss.to_host()[0];
      check_close(loss, ref_loss, tol, what + " loss");
      // dlogits = (p − y)/n: p ∈ [0, 1] carries a few ulps of 1, so the label's entry, p − 1,
      // is only accurate to ~1e-7/n in float (cancellation), whatever its size.
      check_close(dd.to_host(), ref_d, {gpu_test::dlogits_atol<T>(n), tol.rtol}, what + " dlogits");
      // Loss only (dlogits = nullptr), and the same bits again.
      kc::softmax_xent<T>(dz.get(), dlabels.get(), nullptr, dloss.get(), n, classes, partials.get(), nullptr);
      CHECK_MESSAGE(dloss.to_host()[0] == loss, what, ": loss is not bitwise reproducible");
    }
  }
  {  // a label outside [0, classes) gives a NaN loss and NaN gradients for its row
    const auto z = random_values<T>(3 * 4, 33);
    DeviceArray<T> dz(z), dd(12), dloss(1);
    DeviceArray<std::int32_t> dlabels(std::vector<std::int32_t>{0, 4, 1});
    kc::softmax_xent(dz.get(), dlabels.get(), dd.get(), dloss.get(), 3, 4, partials.get(), nullptr);
    CHECK(std::isnan(dloss.to_host()[0]));
    CHECK(std::isnan(dd.to_host()[4]));
    CHECK(!std::isnan(dd.to_host()[0]));
  }
}

TEST_CASE_TEMPLATE("kernels::cuda sigmoid_xent and mse match the reference", T, float, double) {
  DeviceArray<double> partials(kc::max_partials);
  const Tolerance tol = sizeof(T) == 4 ? Tolerance{1e-7, 1e-5} : Tolerance{1e-15, 1e-12};
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{60000}}) {
    const auto z = random_values<T>(n, 41, -30.0, 30.0);
    const auto labels = random_labels(n, 2, 42);
    DeviceArray<T> dz(z), dd(n), dloss(1);
    DeviceArray<std::int32_t> dlabels(labels);
    kc::sigmoid_xent(dz.get(), dlabels.get(), dd.get(), dloss.get(), n, partials.get(), nullptr);
    std::vector<T> ref_d(n);
    const T ref_loss = kr::sigmoid_xent(z.data(), labels.data(), ref_d.data(), n);
    check_close(dloss.to_host()[0], ref_loss, tol, "sigmoid_xent " + std::to_string(n) + " loss");
    check_close(dd.to_host(), ref_d, {tol.atol / static_cast<double>(n), tol.rtol},
                "sigmoid_xent " + std::to_string(n) + " dlogits");
  }
  for (const auto [n, dim] : row_shapes) {
    const auto pred = random_values<T>(n * dim, 51), target = random_values<T>(n * dim, 52);
    DeviceArray<T> dp(pred), dt(target), dd(n * dim), dloss(1);
    kc::mse(dp.get(), dt.get(), dd.get(), dloss.get(), n, dim, partials.get(), nullptr);
    std::vector<T> ref_d(n * dim);
    const T ref_loss = kr::mse(pred.data(), target.data(), ref_d.data(), n, dim);
    check_close(dloss.to_host()[0], ref_loss, tol, shape_name("mse", n, dim) + " loss");
    check_close(dd.to_host(), ref_d, {tol.atol / static_cast<double>(n), tol.rtol}, shape_name("mse", n, dim) + " dpred");
  }
}

TEST_CASE("kernels::cuda gather_rows matches the reference; a bad index fills its row with zeros") {
  const std::size_t src_rows = 60001, cols = 37;
  const auto src = random_values<float>(src_rows * cols, 61);
  minibatch::Rng rng(62);
  std::vector<std::size_t> idx(60000);
  for (auto& i : idx) i = rng.below(src_rows);
  DeviceArray<float> dsrc(src), ddst(idx.size() * cols);
  DeviceArray<std::size_t> didx(idx);
  kc::gather_rows(dsrc.get(), src_rows, cols, didx.get(), idx.size(), ddst.get(), nullptr);
  std::vector<float> ref(idx.size() * cols);
  kr::gather_rows(src.data(), src_rows, cols, idx.data(), idx.size(), ref.data());
  check_close(ddst.to_host(), ref, {0, 0}, "gather_rows 60000 of 60001x37");

  const auto labels = random_labels(src_rows, 10, 63);
  DeviceArray<std::int32_t> dlabels(labels), dout(idx.size());
  kc::gather_rows(dlabels.get(), src_rows, 1, didx.get(), idx.size(), dout.get(), nullptr);
  std::vector<std::int32_t> ref_labels(idx.size());
  kr::gather(labels.data(), src_rows, idx.data(), idx.size(), ref_labels.data());
  CHECK(dout.to_host() == ref_labels);

  DeviceArray<std::size_t> bad(std::vector<std::size_t>{0, src_rows});
  DeviceArray<float> two(2 * cols);
  kc::gather_rows(dsrc.get(), src_rows, cols, bad.get(), 2, two.get(), nullptr);
  const auto got = two.to_host();
  CHECK(std::vector<float>(got.begin(), got.begin() + cols) == std::vector<float>(src.begin(), src.begin() + cols));
  CHECK(std::vector<float>(got.begin() + cols, got.end()) == std::vector<float>(cols, 0.0f));
}

TEST_CASE_TEMPLATE("kernels::cuda count_correct matches the reference, ties and NaN included", T, float, double) {
  DeviceArray<double> partials(kc::max_partials);
  DeviceArray<unsigned long long> count(1);
  std::vector<RowShape> shapes{{1, 1}, {7, 3}, {60000, 10}, {100, 1000}};
  for (const auto [n, classes] : shapes) {
    // Small integers: many ties, which must go to the first maximum.
    auto z = random_values<T>(n * classes, 71, 0.0, 4.0);
    for (auto& v : z) v = std::floor(v);
    minibatch::Rng rng(72);
    for (std::size_t k = 0; k < n; ++k)
      if (rng.below(10) == 0) z[k * classes + rng.below(classes)] = T(NAN);
    auto labels = random_labels(n, static_cast<std::int32_t>(classes), 73);
    // Half the labels are the reference's argmax, so both counts are large.
    for (std::size_t k = 0; k < n; k += 2) labels[k] = static_cast<std::int32_t>(kr::argmax_row(&z[k * classes], classes));
    DeviceArray<T> dz(z);
    DeviceArray<std::int32_t> dlabels(labels);
    kc::count_correct(dz.get(), dlabels.get(), n, classes, count.get(), partials.get(), nullptr);
    const auto ref = kr::count_correct(z.data(), labels.data(), n, classes);
    check_close(count.to_host()[0], ref, {0, 0}, shape_name("count_correct", n, classes));
  }
}

TEST_CASE("kernels::cuda slice_sum_squares: many uneven slices, one block per slice, deterministic") {
  // 3000 slices of 1 to 2000 elements: with a small workspace each slice is one block.
  minibatch::Rng rng(101);
  std::vector<std::size_t> offsets{0};
  for (int s = 0; s < 3000; ++s) offsets.push_back(offsets.back() + 1 + rng.below(2000));
  const std::size_t n = offsets.back(), slices = offsets.size() - 1;
  const auto x = random_values<float>(n, 102);
  std::vector<double> ref(slices);
  kr::slice_sum_squares(x.data(), offsets.data(), slices, ref.data());
  DeviceArray<float> dx(x);
  DeviceArray<std::size_t> doffsets(offsets);
  DeviceArray<double> out(slices);
  for (std::size_t workspace_size : {std::size_t{1000}, std::size_t{1} << 16}) {
    DeviceArray<double> workspace(workspace_size);
    kc::slice_sum_squares(dx.get(), doffsets.get(), slices, n, out.get(), workspace.get(), workspace_size, nullptr);
    const auto first = out.to_host();
    check_close(first, ref, {0, 1e-12}, "slice_sum_squares 3000 slices, workspace " + std::to_string(workspace_size));
    kc::slice_sum_squares(dx.get(), doffsets.get(), slices, n, out.get(), workspace.get(), workspace_size, nullptr);
    CHECK(out.to_host() == first);
  }
}
