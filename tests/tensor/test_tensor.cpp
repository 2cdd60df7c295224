#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "minibatch/tensor.hpp"

namespace mb = minibatch;

namespace {
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const mb::error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("Shape: rank, size, equality, printing, limits") {
  mb::Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.size() == 24);
  CHECK(s[1] == 3);
  CHECK(s == mb::Shape{2, 3, 4});
  CHECK_FALSE(s == mb::Shape{2, 12});
  CHECK(s.to_string() == "[2, 3, 4]");
  CHECK(mb::Shape{}.size() == 0);
  CHECK(mb::Shape{5, 0}.size() == 0);
  CHECK_THROWS_AS((mb::Shape{1, 2, 3, 4, 5}), mb::shape_error);
  CHECK_THROWS_AS(s[3], mb::index_error);
  CHECK_THROWS_AS((mb::Shape{1ULL << 40, 1ULL << 40}), mb::shape_error);
}

TEST_CASE("Tensor from values, zero-filled from a shape, element access") {
  mb::Tensor<float> theta{1.0f, 2.0f};
  CHECK(theta.shape() == mb::Shape{2});
  CHECK(theta.size() == 2);
  CHECK(theta[0] == 1.0f);
  CHECK(theta[1] == 2.0f);
  mb::Tensor<float> grad(theta.shape());
  CHECK(grad[0] == 0.0f);
  CHECK(grad[1] == 0.0f);

  std::vector<double> values{1, 2, 3, 4, 5, 6};
  mb::Tensor<double> m(mb::Shape{2, 3}, values);
  CHECK(m.at(1, 2) == 6);
  CHECK(m.at(0, 1) == 2);
  CHECK_THROWS_AS(m.at(2, 0), mb::index_error);
  CHECK_THROWS_AS(m.at(0), mb::index_error);
  CHECK(reinterpret_cast<std::uintptr_t>(m.data()) % 64 == 0);
  CHECK(message_of([&] { mb::Tensor<double>(mb::Shape{2, 2}, values); }).find("6 values given for shape [2, 2]") !=
        std::string::npos);
}

TEST_CASE("Tensor copies are deep, moves steal") {
  mb::Tensor<float> a{1, 2, 3};
  mb::Tensor<float> b = a;
  b[0] = 10;
  CHECK(a[0] == 1);
  const float* storage = b.data();
  mb::Tensor<float> c = std::move(b);
  CHECK(c.data() == storage);
  CHECK(b.empty());
  a = c;
  CHECK(a[0] == 10);
  a = mb::Tensor<float>(mb::Shape{5});
  CHECK(a.size() == 5);
}

TEST_CASE("TensorView: aliasing, const conversion, reshape, rows") {
  mb::Tensor<int> t(mb::Shape{3, 2});
  mb::TensorView<int> v = t;
  v[4] = 7;
  CHECK(t.at(2, 0) == 7);
  mb::TensorView<const int> cv = v;
  CHECK(cv.data() == t.data());
  auto flat = v.reshaped(mb::Shape{6});
  CHECK(flat.rank() == 1);
  CHECK_THROWS_AS(v.reshaped(mb::Shape{4}), mb::shape_error);
  auto tail = v.rows(1, 2);
  CHECK(tail.shape() == mb::Shape{2, 2});
  CHECK(tail.data() == t.data() + 2);
  CHECK_THROWS_AS(v.rows(2, 2), mb::index_error);
  CHECK(cv.to_vector() == std::vector<int>{0, 0, 0, 0, 7, 0});
}

TEST_CASE("Eigen maps alias the tensor storage without copies") {
  mb::Tensor<double> t(mb::Shape{2, 3});
  auto m = mb::cpu_backend::as_matrix(t.view());
  m(1, 2) = 4.0;  // row-major: element 5
  CHECK(t[5] == 4.0);
  auto vec = mb::cpu_backend::as_vector(t.view());
  CHECK(vec.data() == t.data());
  CHECK(vec.size() == 6);
  mb::Tensor<double> r(mb::Shape{6});
  CHECK_THROWS_AS(mb::cpu_backend::as_matrix(r.view()), mb::shape_error);
}

TEST_CASE("ParamBuffer: one allocation, named slices in order") {
  mb::ParamLayout layout{{"W", mb::Shape{2, 3}}, {"b", mb::Shape{3}}};
  mb::ParamBuffer<float> p(layout);
  CHECK(p.size() == 9);
  auto W = p["W"];
  auto b = p["b"];
  CHECK(W.data() == p.flat().data());
  CHECK(b.data() == p.flat().data() + 6);
  CHECK(b.shape() == mb::Shape{3});
  b[2] = 5;
  CHECK(p.flat()[8] == 5);
  CHECK(p.slice(1).data() == b.data());
  CHECK(message_of([&] { p["missing"]; }).find("missing") != std::string::npos);
  CHECK_THROWS_AS(layout.add("W", mb::Shape{1}), mb::value_error);
  CHECK_THROWS_AS(layout.add("empty", mb::Shape{0}), mb::shape_error);
  mb::ParamBuffer<float> g(p.layout());
  CHECK(g.layout() == p.layout());
}

TEST_CASE("ParamLayout indexes its names: 65536 slices (a checkpoint's maximum) build and look up at once") {
  // Was a linear scan per add, quadratic in all: 16 s for this layout, 31 s to decode a
  // checkpoint declaring it (found by the checkpoint fuzzing work).
  mb::ParamLayout layout;
  char name[16];  // (snprintf: "w" + std::to_string(i) trips a false -Wrestrict in GCC 12)
  for (mb::index_t i = 0; i < 65536; ++i) {
    std::snprintf(name, sizeof name, "w%zu", i);
    layout.add(name, mb::Shape{1});
  }
  CHECK(layout.count() == 65536);
  CHECK(layout.find("w65535").offset == 65535);
  CHECK(layout.contains("w0"));
  CHECK_FALSE(layout.contains("w65536"));
  CHECK_THROWS_AS(layout.add("w123", mb::Shape{2}), mb::value_error);
  CHECK_THROWS_AS(layout.find("nope"), mb::index_error);
}
