// ε-sharpness of a solution (Keskar et al. 2017, "On large-batch training for deep
// learning: generalization gap and sharp minima", metric 2.1), in the full parameter space:
//
//   C_ε = {z : |zᵢ| ≤ ε·(|θᵢ| + 1)}                  (a box around θ, relative per coordinate)
//   φ(θ, ε) = (max_{z∈C_ε} f(θ + z) − f(θ)) / (1 + f(θ)) × 100
//
// with f = f_S, the mean loss over a fixed set S of examples (full_gradient.hpp). Large
// batches tend to end in sharp minima (large φ), small batches in flat ones.
//
// The inner maximum is found by K steps of projected gradient ascent in the box, starting
// from z⁰ = 0 or from z⁰ uniform in the box (Rng(seed)); with wᵢ = ε(|θᵢ| + 1), g = ∇f(θ + z):
//
//   sign (default):  zᵢ ← clamp(zᵢ + η·wᵢ·sign(gᵢ), −wᵢ, wᵢ)
//                    (steepest ascent for the box's own ∞-norm geometry, as in PGD)
//   gradient:        zᵢ ← clamp(zᵢ + η·wᵢ·(wᵢgᵢ)/max_j |w_j g_j|, −wᵢ, wᵢ)
//                    (the gradient in unit-box coordinates z/w; the largest move is η·wᵢ)
//
// η (step_size) is a fraction of each coordinate's half-width, so the step scales with the
// box. The best f seen (f(θ) included, z = 0 is in the box) is the maximum reported; the
// ascent stops early when a step no longer moves z (a fixed point: every coordinate pinned
// at the face its gradient pushes against, or g = 0). Keskar et al. maximise with
// L-BFGS-B; any ascent finds a point of the box, so φ here is a lower bound of the true
// φ. It is exact when ∇f keeps its signs over the box: f is then monotone in each
// coordinate there, and the maximum is the corner those signs point to. Cost: K + 1 gradients over S (K + 2 with a
// random start, which needs f(θ) separately). Vector arithmetic is on the host in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/diagnostics/full_gradient.hpp"

namespace minibatch {

enum class AscentStep { sign, gradient };

struct SharpnessOptions {
  double epsilon = 1e-3;                  // box half-widths ε·(|θᵢ| + 1)
  index_t steps = 20;                     // K, the most ascent steps
  double step_size = 0.25;                // η, a fraction of each half-width
  AscentStep direction = AscentStep::sign;
  bool random_start = false;              // z⁰ uniform in the box, else z⁰ = 0
  std::uint64_t seed = 0;                 // the random start's Rng
  index_t chunk = 0;                      // examples per loss_and_gradient call (0: max_batch() or |S|)
};

struct SharpnessResult {
  double sharpness = 0;  // φ(θ, ε), in percent
  double loss = 0;       // f(θ)
  double max_loss = 0;   // the largest f(θ + z) found in the box
  index_t steps = 0;     // ascent steps that moved z (≤ K)
};

template <class O, class T, Backend B>
  requires SeparableObjective<O, std::remove_const_t<T>, B>
SharpnessResult epsilon_sharpness(O& objective, TensorView<T, B> theta, std::span<const index_t> indices,
                                  const SharpnessOptions& options = {}) {
  using V = std::remove_const_t<T>;
  using diagnostics_detail::copy_from_host;
  using diagnostics_detail::copy_to_host;
  require<value_error>(options.epsilon >= 0 && std::isfinite(options.epsilon),
                       "epsilon_sharpness: epsilon must be finite and ≥ 0, got ", options.epsilon);
  require<value_error>(options.step_size > 0 && std::isfinite(options.step_size),
                       "epsilon_sharpness: step_size must be finite and > 0, got ", options.step_size);
  require<value_error>(!theta.empty(), "epsilon_sharpness: no parameters");
  const index_t n = theta.size();

  Tensor<V, B> point(Shape{n}), grad(Shape{n}), scratch(Shape{n});
  std::vector<V> staging;
  std::vector<double> center, g, half_width(n), z(n, 0.0), next(n), shifted(n);
  copy_to_host(TensorView<const V, B>(theta), staging, center);
  for (index_t i = 0; i < n; ++i) half_width[i] = options.epsilon * (std::abs(center[i]) + 1);

  // f(θ + z) and g ← ∇f(θ + z).
  auto loss_and_gradient_at = [&](const std::vector<double>& offset) {
    for (index_t i = 0; i < n; ++i) shifted[i] = center[i] + offset[i];
    copy_from_host(std::span<const double>(shifted), staging, point.view());
    const double f = full_loss_and_gradient(objective, std::as_const(point).view(), indices, grad.view(), options.chunk,
                                            scratch.view());
    copy_to_host(std::as_const(grad).view(), staging, g);
    return f;
  };

  SharpnessResult result;
  if (options.random_start) {
    Rng rng(options.seed);
    for (index_t i = 0; i < n; ++i) z[i] = (2 * rng.uniform() - 1) * half_width[i];
    result.loss = full_loss_and_gradient(objective, theta, indices, grad.view(), options.chunk, scratch.view());
  }
  double best = 0;
  for (index_t step = 0;; ++step) {
    const double f = loss_and_gradient_at(z);
    if (step == 0 && !options.random_start) result.loss = f;
    if (step == 0) best = result.loss;
    if (f > best) best = f;
    if (step == options.steps) break;

    double scale = 1;
    if (options.direction == AscentStep::gradient) {
      double top = 0;
      for (index_t i = 0; i < n; ++i) top = std::max(top, std::abs(half_width[i] * g[i]));
      scale = top > 0 ? 1 / top : 0;
    }
    for (index_t i = 0; i < n; ++i) {
      const double direction = options.direction == AscentStep::sign
                                   ? static_cast<double>((g[i] > 0) - (g[i] < 0))
                                   : half_width[i] * g[i] * scale;
      next[i] = std::clamp(z[i] + options.step_size * half_width[i] * direction, -half_width[i], half_width[i]);
    }
    if (next == z) break;
    z.swap(next);
    result.steps = step + 1;
  }
  result.max_loss = best;
  result.sharpness = (best - result.loss) / (1 + result.loss) * 100;
  return result;
}

}  // namespace minibatch
