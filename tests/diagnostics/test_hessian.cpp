// The full-set loss helper, Hessian-vector products, gradient norm and Lanczos: against
// quadratics whose Hessian and spectrum are known, and on a small Mlp against power
// iteration on the same Hessian-vector product.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "diagnostics_test_util.hpp"
#include "minibatch/diagnostics.hpp"
#include "minibatch/models.hpp"

namespace mb = minibatch;
using namespace diagnostics_testing;

namespace {

// max_i |got − want| ≤ atol + rtol·max_i |want|, naming the worst index.
void check_close(const std::vector<double>& got, const std::vector<double>& want, double atol, double rtol) {
  REQUIRE(got.size() == want.size());
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  double worst = 0;
  mb::index_t worst_index = 0;
  for (mb::index_t i = 0; i < got.size(); ++i) {
    if (std::abs(got[i] - want[i]) > worst) {
      worst = std::abs(got[i] - want[i]);
      worst_index = i;
    }
  }
  INFO("worst index " << worst_index << ": got " << got[worst_index] << ", want " << want[worst_index] << ", error "
                      << worst);
  CHECK(worst <= atol + rtol * scale);
}

// m examples with random centres, a random symmetric A (indefinite) in dim dimensions.
Quadratic<double> random_quadratic(mb::index_t dim, mb::index_t m, mb::index_t batch_limit, std::uint64_t seed) {
  Quadratic<double> q{dim, random_symmetric(dim, seed), {}, batch_limit};
  for (mb::index_t i = 0; i < m; ++i) q.c.push_back(random_vector(dim, seed + 100 + i));
  return q;
}

std::vector<double> diagonal_spectrum(double lowest) {
  std::vector<double> eigenvalues{lowest, 0.5};
  for (int i = 0; i < 18; ++i) eigenvalues.push_back(1.0 + 9.0 * i / 17.0);  // 1 … 10
  return eigenvalues;
}

}  // namespace

TEST_CASE("full_loss_and_gradient: the size-weighted mean of chunks equals the mean over the whole set") {
  Quadratic<double> q = random_quadratic(5, 7, 3, 1);  // max_batch 3: chunks of 3, 3, 1
  const std::vector<double> theta_host = random_vector(5, 2);
  mb::Tensor<double> theta(mb::Shape{5}, theta_host), grad(mb::Shape{5}), whole(mb::Shape{5});
  const std::vector<mb::index_t> S{6, 0, 3, 3, 5, 1, 2};  // any order, repeats count twice

  const double chunked = mb::full_loss_and_gradient(q, theta.view(), S, grad.view());
  q.batch_limit = 0;
  const double one_call = mb::full_loss_and_gradient(q, theta.view(), S, whole.view());
  CHECK(chunked == doctest::Approx(one_call).epsilon(1e-14));
  CHECK(one_call == doctest::Approx(q.value(theta_host, S)).epsilon(1e-14));
  check_close(grad.to_vector(), whole.to_vector(), 0, 1e-14);
  check_close(whole.to_vector(), q.gradient(theta_host, S), 0, 1e-14);

  mb::Tensor<double> two(mb::Shape{5});
  CHECK(mb::full_loss_and_gradient(q, theta.view(), S, two.view(), 2) == doctest::Approx(one_call).epsilon(1e-14));
  check_close(two.to_vector(), whole.to_vector(), 0, 1e-14);

  CHECK_THROWS_AS(mb::full_loss_and_gradient(q, theta.view(), std::vector<mb::index_t>{}, grad.view()), mb::value_error);
  mb::Tensor<double> wrong(mb::Shape{4});
  CHECK_THROWS_AS(mb::full_loss_and_gradient(q, theta.view(), S, wrong.view()), mb::shape_error);
  CHECK(mb::all_indices(4) == std::vector<mb::index_t>{0, 1, 2, 3});
}

TEST_CASE("Hessian-vector product of f = ½θᵀAθ equals A·v (double, 1e-6)") {
  const mb::index_t n = 6;
  const std::vector<double> A = random_symmetric(n, 3);
  Quadratic<double> q = single_quadratic<double>(A, n);
  const std::vector<double> theta_host = random_vector(n, 4);
  mb::Tensor<double> theta(mb::Shape{n}, theta_host);
  const std::vector<mb::index_t> S{0};
  mb::HessianProbe<double> probe(n);
  for (std::uint64_t seed : {5, 6, 7}) {
    std::vector<double> v = random_vector(n, seed);
    for (auto& x : v) x *= 3.7;  // not a unit vector: the product scales with ‖v‖
    std::vector<double> Hv(n);
    mb::hessian_vector_product(q, theta.view(), S, v, Hv, probe);
    check_close(Hv, multiply(A, v), 1e-6, 0);
  }
  std::vector<double> zero(n, 0.0), Hzero(n, 1.0);
  mb::hessian_vector_product(q, theta.view(), S, zero, Hzero, probe);
  CHECK(Hzero == zero);
  std::vector<double> short_v(n - 1), Hv(n);
  CHECK_THROWS_AS(mb::hessian_vector_product(q, theta.view(), S, short_v, Hv, probe), mb::shape_error);
  CHECK(probe.step(0.0) == doctest::Approx(std::cbrt(std::numeric_limits<double>::epsilon())));
}

TEST_CASE("Hessian-vector product over several examples in chunks: ∇²f_S = A for every S") {
  const mb::index_t n = 5;
  Quadratic<double> q = random_quadratic(n, 7, 2, 8);
  mb::Tensor<double> theta(mb::Shape{n}, random_vector(n, 9));
  mb::HessianProbe<double> probe(n, {.relative_step = 1e-5});
  const std::vector<double> v = random_vector(n, 10);
  std::vector<double> Hv(n);
  mb::hessian_vector_product(q, theta.view(), mb::all_indices(7), v, Hv, probe);
  check_close(Hv, multiply(q.A, v), 1e-6, 0);
}

TEST_CASE("Hessian-vector product in float: with the ∛ε step the rounding error stays below 1e-4") {
  const mb::index_t n = 6;
  const std::vector<double> A = random_symmetric(n, 11);
  Quadratic<float> q = single_quadratic<float>(A, n);
  const std::vector<double> theta_d = random_vector(n, 12);
  const std::vector<float> theta_f(theta_d.begin(), theta_d.end());
  mb::Tensor<float> theta(mb::Shape{n}, theta_f);
  mb::HessianProbe<float> probe(n);
  const std::vector<double> v = random_vector(n, 13);
  std::vector<double> Hv(n);
  mb::hessian_vector_product(q, theta.view(), std::vector<mb::index_t>{0}, v, Hv, probe);
  check_close(Hv, multiply(A, v), 0, 1e-4);
}

TEST_CASE("gradient_norm is ‖∇f_S(θ)‖") {
  Quadratic<double> q = random_quadratic(4, 6, 4, 14);
  const std::vector<double> theta_host = random_vector(4, 15);
  mb::Tensor<double> theta(mb::Shape{4}, theta_host);
  const std::vector<mb::index_t> S{5, 1, 2, 0, 4};
  const std::vector<double> g = q.gradient(theta_host, S);
  double norm = 0;
  for (double x : g) norm += x * x;
  CHECK(mb::gradient_norm(q, theta.view(), S) == doctest::Approx(std::sqrt(norm)).epsilon(1e-13));
}

TEST_CASE("Lanczos finds the extreme eigenvalues of a quadratic with a known spectrum (k = n = 20)") {
  const mb::index_t n = 20;
  const std::vector<mb::index_t> S{0};
  mb::Tensor<double> theta(mb::Shape{n}, random_vector(n, 16));

  SUBCASE("indefinite: λ_min = −2 → saddle-like") {
    Quadratic<double> q = single_quadratic<double>(with_spectrum(diagonal_spectrum(-2.0), 17), n);
    const mb::LanczosResult r = mb::lanczos_extreme_eigenvalues(q, theta.view(), S, {.iterations = 20, .seed = 3});
    CHECK(r.iterations == 20);
    CHECK(r.ritz_values.size() == 20);
    CHECK(std::is_sorted(r.ritz_values.begin(), r.ritz_values.end()));
    CHECK(std::abs(r.lambda_max - 10.0) <= 1e-6);
    CHECK(std::abs(r.lambda_min + 2.0) <= 1e-6);
    CHECK(r.fraction_positive == doctest::Approx(19.0 / 20.0));
    CHECK(r.verdict == mb::CurvatureVerdict::saddle_like);
    check_close(r.ritz_values, [] { auto e = diagonal_spectrum(-2.0); std::sort(e.begin(), e.end()); return e; }(),
                1e-6, 0);

    const mb::LanczosResult again = mb::lanczos_extreme_eigenvalues(q, theta.view(), S, {.iterations = 20, .seed = 3});
    CHECK(again.ritz_values == r.ritz_values);  // the seed fixes the start
  }
  SUBCASE("positive definite: λ_min = 0.1 → minimum-like") {
    Quadratic<double> q = single_quadratic<double>(with_spectrum(diagonal_spectrum(0.1), 18), n);
    const mb::LanczosResult r = mb::lanczos_extreme_eigenvalues(q, theta.view(), S, {.iterations = 20, .seed = 4});
    CHECK(std::abs(r.lambda_max - 10.0) <= 1e-6);
    CHECK(std::abs(r.lambda_min - 0.1) <= 1e-6);
    CHECK(r.fraction_positive == 1.0);
    CHECK(r.verdict == mb::CurvatureVerdict::minimum_like);
  }
  SUBCASE("k above the dimension is capped at n; fewer steps still bound the spectrum") {
    Quadratic<double> q = single_quadratic<double>(with_spectrum(diagonal_spectrum(-2.0), 19), n);
    const mb::LanczosResult capped = mb::lanczos_extreme_eigenvalues(q, theta.view(), S, {.iterations = 50});
    CHECK(capped.iterations == n);
    const mb::LanczosResult few = mb::lanczos_extreme_eigenvalues(q, theta.view(), S, {.iterations = 8});
    CHECK(few.iterations == 8);
    CHECK(few.lambda_max <= 10.0 + 1e-6);  // Ritz values lie inside the spectrum
    CHECK(few.lambda_min >= -2.0 - 1e-6);
    CHECK(few.lambda_max > 8.0);
  }
}

TEST_CASE("Lanczos on an exact operator stops at an invariant subspace; bad options are named") {
  // diag(3, 3, 3, 1): a start in span(e₁…e₃) ∪ e₄ spans a 2-D Krylov space.
  const std::vector<double> d{3, 3, 3, 1};
  auto apply = [&](std::span<const double> v, std::span<double> Hv) {
    for (mb::index_t i = 0; i < d.size(); ++i) Hv[i] = d[i] * v[i];
  };
  const mb::LanczosResult r = mb::lanczos_extreme_eigenvalues(4, apply, {.iterations = 4});
  CHECK(r.iterations == 2);
  CHECK(r.lambda_max == doctest::Approx(3.0).epsilon(1e-12));
  CHECK(r.lambda_min == doctest::Approx(1.0).epsilon(1e-12));
  CHECK_THROWS_AS(mb::lanczos_extreme_eigenvalues(4, apply, {.iterations = 0}), mb::value_error);
  CHECK_THROWS_AS(mb::lanczos_extreme_eigenvalues(0, apply), mb::value_error);
}

TEST_CASE("The curvature verdict rule") {
  CHECK(mb::curvature_verdict(-0.5, 10.0, 1e-2) == mb::CurvatureVerdict::saddle_like);
  CHECK(mb::curvature_verdict(-0.05, 10.0, 1e-2) == mb::CurvatureVerdict::minimum_like);
  CHECK(mb::curvature_verdict(0.3, 10.0, 1e-2) == mb::CurvatureVerdict::minimum_like);
  CHECK(mb::curvature_verdict(-1.0, -0.1, 1e-2) == mb::CurvatureVerdict::inconclusive);
  CHECK(mb::curvature_verdict(0.0, 0.0, 1e-2) == mb::CurvatureVerdict::inconclusive);
  CHECK(mb::curvature_verdict(std::nan(""), 1.0, 1e-2) == mb::CurvatureVerdict::inconclusive);
  CHECK(mb::to_string(mb::CurvatureVerdict::saddle_like) == "saddle-like");
}

TEST_CASE("Lanczos on a small Mlp (softmax cross-entropy): λ_max agrees with power iteration on the same HVP") {
  const auto data = random_classification(20, 4, 3, 21);
  mb::Mlp<double> net({4, 5, 3}, mb::Activation::tanh, 22);
  mb::ClassificationObjective<double> objective(net, data, 8);  // 20 rows in chunks of 8, 8, 4
  const auto theta = net.params().flat();
  const std::vector<mb::index_t> S = mb::all_indices(data.size());

  const mb::LanczosResult r = mb::lanczos_extreme_eigenvalues(objective, theta, S, {.iterations = 30, .seed = 1});
  CAPTURE(r.lambda_min);
  CAPTURE(r.lambda_max);
  REQUIRE(r.lambda_max > std::abs(r.lambda_min));  // so power iteration converges to λ_max

  mb::HessianProbe<double> probe(theta.size());
  std::vector<double> v = random_vector(theta.size(), 23), Hv(theta.size());
  double rayleigh = 0;
  for (int it = 0; it < 2000; ++it) {
    mb::hessian_vector_product(objective, theta, S, v, Hv, probe);
    double vv = 0, vHv = 0, HvHv = 0;
    for (mb::index_t i = 0; i < v.size(); ++i) {
      vv += v[i] * v[i];
      vHv += v[i] * Hv[i];
      HvHv += Hv[i] * Hv[i];
    }
    rayleigh = vHv / vv;
    for (mb::index_t i = 0; i < v.size(); ++i) v[i] = Hv[i] / std::sqrt(HvHv);
  }
  CAPTURE(rayleigh);
  CHECK(std::abs(r.lambda_max - rayleigh) <= 1e-3 * std::abs(rayleigh));
  CHECK(r.fraction_positive > 0.0);
  CHECK(r.fraction_positive <= 1.0);
}
