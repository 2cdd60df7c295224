// Curvature at a point: is it a minimum or a saddle? (The lecture: when the loss stalls,
// check the gradient norm — it is usually not small; at a real critical point the
// Hessian's eigenvalues tell a saddle from a minimum.) All on f_S, the mean loss over a
// fixed set S of examples (full_gradient.hpp).
//
//   gradient_norm(objective, θ, S)                    ‖∇f_S(θ)‖₂
//   hessian_vector_product(objective, θ, S, v, Hv, probe)
//       Hv ≈ ∇²f_S(θ)·v = [∇f_S(θ + h·v̂) − ∇f_S(θ − h·v̂)]·‖v‖/(2h),   v̂ = v/‖v‖
//   lanczos_extreme_eigenvalues(objective, θ, S, options)
//       k steps of Lanczos on v ↦ Hv: Ritz values, λ_max, λ_min, fraction positive, verdict
//
// Step h (central differences of gradients): h = relative_step·(1 + ‖θ‖₂), so the
// perturbation is relative to the size of the parameters (and absolute near θ = 0). The
// error is O(h²·‖∇³f‖) from truncation plus O(ε_T·‖∇f‖/h) from rounding the gradients;
// h ∝ ∛ε_T balances the two, so relative_step = 0 (the default) means ∛ε_T: about 6e-6
// for double, 5e-3 for float. The differences and the scaling are computed in double on
// the host. Prefer double (copy trained float weights into an Mlp<double>): on a small
// tanh MLP the float HVP differed from the double one by about 1e-4 (relative norm).
// Smooth activations only: on a ReLU network the gradient jumps where a pre-activation
// changes sign, and each kink the ±h step crosses adds jump/(2h) to the quotient. The
// number of kinks crossed grows like h, so this does not vanish as h → 0: ReLU HVPs are
// noisy and can show spurious negative curvature (on a 20-32-32-5 ReLU MLP, λ_min moved
// from −0.8 to −1.3 between double and float while λ_max agreed to 1%). Use tanh or
// sigmoid networks when the question is "minimum or saddle".
//
// Lanczos: q₁ ~ N(0, I) from Rng(seed), normalised; for j = 1…k: w = H·q_j,
// α_j = q_jᵀw, w ← w − Σ_{i≤j} (q_iᵀw)·q_i (full reorthogonalisation, two Gram–Schmidt
// passes), β_j = ‖w‖, q_{j+1} = w/β_j. The eigenvalues of the k×k tridiagonal matrix
// (α on the diagonal, β beside it; Eigen's SelfAdjointEigenSolver) are the Ritz values.
// The extreme ones converge first, to the extreme eigenvalues of H; the interior ones are
// not eigenvalues, so fraction_positive (Ritz values > 0 among the k) is a coarse picture
// of the spectrum. k is capped at the number of parameters, and Lanczos stops early when
// β_j ≤ 1e-10·max(|α|, β) (an invariant subspace: the Ritz values are exact eigenvalues).
// Memory: k host vectors of n doubles. Cost: 2 gradients over S per iteration.
//
// Verdict (about curvature only — check gradient_norm too: a point with a large gradient
// is not a critical point whatever its Hessian), with tol = options.saddle_tolerance:
//   inconclusive   λ_max ≤ 0 or a Ritz value is not finite (no positive curvature found:
//                  flat, or maximum-like, which is neither a minimum nor a saddle)
//   saddle_like    λ_min < −tol·λ_max (a clearly negative direction beside positive ones)
//   minimum_like   otherwise (no negative curvature beyond tol of the top eigenvalue)
// The default tol = 1e-2 allows for the small negative eigenvalues that finite-difference
// noise and the near-zero bulk of a network's spectrum produce.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Eigenvalues>

#include "minibatch/core/rng.hpp"
#include "minibatch/diagnostics/full_gradient.hpp"

namespace minibatch {

struct HvpOptions {
  double relative_step = 0;  // h = relative_step·(1 + ‖θ‖₂); 0 → ∛ε of T
  index_t chunk = 0;         // examples per loss_and_gradient call; 0 → max_batch() or |S|
};

// The scratch of hessian_vector_product, allocated once for n parameters and reused by
// every product (Lanczos makes one per call).
template <class T, Backend B = cpu>
class HessianProbe {
 public:
  using value_type = T;
  using backend_type = B;

  explicit HessianProbe(index_t parameters, HvpOptions options = {})
      : options_(options),
        point_(Shape{parameters}),
        grad_(Shape{parameters}),
        scratch_(Shape{parameters}),
        theta_(parameters),
        plus_(parameters),
        minus_(parameters),
        staging_(parameters) {
    require<value_error>(parameters > 0, "HessianProbe: no parameters");
    require<value_error>(options.relative_step >= 0 && std::isfinite(options.relative_step),
                         "HessianProbe: relative_step must be finite and ≥ 0, got ", options.relative_step);
  }

  index_t size() const noexcept { return point_.size(); }
  const HvpOptions& options() const noexcept { return options_; }

  // The finite-difference step h at a point of norm ‖θ‖₂.
  double step(double theta_norm) const noexcept {
    const double relative = options_.relative_step > 0 ? options_.relative_step
                                                       : std::cbrt(static_cast<double>(std::numeric_limits<T>::epsilon()));
    return relative * (1 + theta_norm);
  }

  // Hv ← ∇²f_S(θ)·v by central differences of gradients (the formula on top).
  template <SeparableObjective<T, B> O>
  void apply(O& objective, TensorView<const T, B> theta, std::span<const index_t> indices, std::span<const double> v,
             std::span<double> Hv) {
    require<shape_error>(theta.size() == size() && v.size() == size() && Hv.size() == size(),
                         "hessian_vector_product: the probe holds ", size(), " parameters; θ has ", theta.size(),
                         ", v ", v.size(), ", Hv ", Hv.size());
    const double v_norm = diagnostics_detail::norm(v);
    if (v_norm == 0) {
      std::fill(Hv.begin(), Hv.end(), 0.0);
      return;
    }
    diagnostics_detail::copy_to_host(theta, staging_, theta_);
    const double h = step(diagnostics_detail::norm(theta_));
    gradient_at(objective, indices, v, h / v_norm, plus_);
    gradient_at(objective, indices, v, -h / v_norm, minus_);
    const double scale = v_norm / (2 * h);
    for (index_t i = 0; i < size(); ++i) Hv[i] = (plus_[i] - minus_[i]) * scale;
  }

 private:
  // out ← ∇f_S(θ + s·v) with θ in theta_.
  template <class O>
  void gradient_at(O& objective, std::span<const index_t> indices, std::span<const double> v, double s,
                   std::vector<double>& out) {
    for (index_t i = 0; i < size(); ++i) out[i] = theta_[i] + s * v[i];
    diagnostics_detail::copy_from_host(std::span<const double>(out), staging_, point_.view());
    full_loss_and_gradient(objective, std::as_const(point_).view(), indices, grad_.view(), options_.chunk,
                           scratch_.view());
    diagnostics_detail::copy_to_host(std::as_const(grad_).view(), staging_, out);
  }

  HvpOptions options_;
  Tensor<T, B> point_, grad_, scratch_;
  std::vector<double> theta_, plus_, minus_;
  std::vector<T> staging_;
};

// Hv ← ∇²f_S(θ)·v, with v and Hv host vectors of doubles and the scratch in `probe`.
template <class O, class T, Backend B>
  requires SeparableObjective<O, std::remove_const_t<T>, B>
void hessian_vector_product(O& objective, TensorView<T, B> theta, std::span<const index_t> indices,
                            std::span<const double> v, std::span<double> Hv,
                            HessianProbe<std::remove_const_t<T>, B>& probe) {
  probe.apply(objective, TensorView<const std::remove_const_t<T>, B>(theta), indices, v, Hv);
}

// ‖∇f_S(θ)‖₂ (allocates one gradient buffer, two when S needs several chunks).
template <class O, class T, Backend B>
  requires SeparableObjective<O, std::remove_const_t<T>, B>
double gradient_norm(O& objective, TensorView<T, B> theta, std::span<const index_t> indices, index_t chunk = 0) {
  using V = std::remove_const_t<T>;
  Tensor<V, B> grad(Shape{theta.size()});
  full_loss_and_gradient(objective, theta, indices, grad.view(), chunk);
  return ops<B>::l2_norm(std::as_const(grad).view());
}

enum class CurvatureVerdict { minimum_like, saddle_like, inconclusive };

constexpr std::string_view to_string(CurvatureVerdict v) noexcept {
  switch (v) {
    case CurvatureVerdict::minimum_like: return "minimum-like";
    case CurvatureVerdict::saddle_like: return "saddle-like";
    case CurvatureVerdict::inconclusive: return "inconclusive";
  }
  return "?";
}

struct LanczosOptions {
  index_t iterations = 30;          // k (capped at the number of parameters)
  std::uint64_t seed = 0;           // the random start q₁
  double saddle_tolerance = 1e-2;   // tol of the verdict rule
  HvpOptions hvp = {};              // the Hessian-vector product's step and chunk
};

struct LanczosResult {
  std::vector<double> ritz_values;  // ascending
  double lambda_max = std::numeric_limits<double>::quiet_NaN();
  double lambda_min = std::numeric_limits<double>::quiet_NaN();
  double fraction_positive = 0;     // share of Ritz values > 0
  index_t iterations = 0;           // Lanczos steps run (fewer than k after a breakdown)
  CurvatureVerdict verdict = CurvatureVerdict::inconclusive;
};

// The verdict rule stated on top.
inline CurvatureVerdict curvature_verdict(double lambda_min, double lambda_max, double tolerance) {
  if (!std::isfinite(lambda_min) || !std::isfinite(lambda_max) || lambda_max <= 0) return CurvatureVerdict::inconclusive;
  return lambda_min < -tolerance * lambda_max ? CurvatureVerdict::saddle_like : CurvatureVerdict::minimum_like;
}

// Lanczos on any symmetric operator of dimension n: apply(v, Hv) writes Hv ← H·v.
template <class Operator>
  requires std::invocable<Operator&, std::span<const double>, std::span<double>>
LanczosResult lanczos_extreme_eigenvalues(index_t n, Operator&& apply, const LanczosOptions& options = {}) {
  require<value_error>(n > 0, "lanczos_extreme_eigenvalues: dimension 0");
  require<value_error>(options.iterations > 0, "lanczos_extreme_eigenvalues: 0 iterations requested");
  require<value_error>(options.saddle_tolerance >= 0, "lanczos_extreme_eigenvalues: saddle_tolerance must be ≥ 0, got ",
                       options.saddle_tolerance);
  const index_t k = std::min(options.iterations, n);
  using diagnostics_detail::dot;
  using diagnostics_detail::norm;

  std::vector<std::vector<double>> basis;
  basis.reserve(k);
  std::vector<double> alpha, beta, w(n);
  std::vector<double> q(n);
  Rng rng(options.seed);
  for (auto& x : q) x = rng.normal();
  const double q_norm = norm(q);
  for (auto& x : q) x /= q_norm;

  double largest = 0;  // max |α|, β seen: the scale of the breakdown test
  for (index_t j = 0; j < k; ++j) {
    basis.push_back(q);
    apply(std::span<const double>(basis.back()), std::span<double>(w));
    const double a = dot(basis.back(), w);
    alpha.push_back(a);
    largest = std::max(largest, std::abs(a));
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& b : basis) {
        const double c = dot(b, w);
        for (index_t i = 0; i < n; ++i) w[i] -= c * b[i];
      }
    }
    if (j + 1 == k) break;
    const double b = norm(w);
    if (!(b > 1e-10 * largest)) break;  // also stops on NaN
    largest = std::max(largest, b);
    beta.push_back(b);
    for (index_t i = 0; i < n; ++i) q[i] = w[i] / b;
  }

  const auto m = static_cast<Eigen::Index>(alpha.size());
  Eigen::VectorXd diagonal = Eigen::Map<const Eigen::VectorXd>(alpha.data(), m);
  Eigen::VectorXd off_diagonal = m > 1 ? Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(beta.data(), m - 1))
                                       : Eigen::VectorXd();
  LanczosResult result;
  result.iterations = alpha.size();
  bool finite = std::all_of(alpha.begin(), alpha.end(), [](double x) { return std::isfinite(x); });
  if (finite) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver;
    solver.computeFromTridiagonal(diagonal, off_diagonal, Eigen::EigenvaluesOnly);
    const Eigen::VectorXd& values = solver.eigenvalues();  // ascending
    result.ritz_values.assign(values.data(), values.data() + values.size());
  } else {
    result.ritz_values.assign(alpha.size(), std::numeric_limits<double>::quiet_NaN());
  }
  result.lambda_min = result.ritz_values.front();
  result.lambda_max = result.ritz_values.back();
  result.fraction_positive =
      static_cast<double>(std::count_if(result.ritz_values.begin(), result.ritz_values.end(), [](double x) { return x > 0; })) /
      static_cast<double>(result.ritz_values.size());
  result.verdict = curvature_verdict(result.lambda_min, result.lambda_max, options.saddle_tolerance);
  return result;
}

// Lanczos on the Hessian of f_S at θ (one HessianProbe for all k products).
template <class O, class T, Backend B>
  requires SeparableObjective<O, std::remove_const_t<T>, B>
LanczosResult lanczos_extreme_eigenvalues(O& objective, TensorView<T, B> theta, std::span<const index_t> indices,
                                          const LanczosOptions& options = {}) {
  using V = std::remove_const_t<T>;
  HessianProbe<V, B> probe(theta.size(), options.hvp);
  const TensorView<const V, B> point(theta);
  return lanczos_extreme_eigenvalues(
      theta.size(), [&](std::span<const double> v, std::span<double> Hv) { probe.apply(objective, point, indices, v, Hv); },
      options);
}

}  // namespace minibatch
