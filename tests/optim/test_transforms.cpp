#include <doctest/doctest.h>

#include "minibatch/adagrad.hpp"
#include "minibatch/adam.hpp"
#include "minibatch/lamb.hpp"
#include "minibatch/lars.hpp"
#include "minibatch/optim/clip.hpp"
#include "minibatch/optim/reference_chains.hpp"
#include "minibatch/optim/update_rule.hpp"
#include "minibatch/rmsprop.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

static_assert(mb::UpdateRule<mb::Adagrad<float>>);
static_assert(mb::UpdateRule<mb::RMSProp<float>>);
static_assert(mb::UpdateRule<mb::Adam<float>>);
static_assert(mb::UpdateRule<mb::AdamW<double>>);
static_assert(mb::UpdateRule<mb::LARS<float>>);
static_assert(mb::UpdateRule<mb::LAMB<float>>);

namespace {

// Runs one transform on u with parameters θ and a one-slice layout.
template <class X>
std::vector<double> run(X& x, std::vector<double> u, std::vector<double> theta, const mb::ParamLayout* layout = nullptr) {
  mb::ParamLayout whole;
  if (!layout) whole.add("", mb::Shape{u.size()});
  x.update(mb::TensorView<double>(u.data(), mb::Shape{u.size()}),
           mb::TensorView<const double>(theta.data(), mb::Shape{theta.size()}), layout ? *layout : whole);
  return u;
}

// The fused optimizer and compose(reference_chain(options)) from the same start, on the
// same random gradients for 20 steps, on the three-slice layout.
template <template <class, class> class Fused, class T, class Options>
double fused_vs_composed(const Options& options, std::uint64_t seed) {
  mb::Rng rng(seed);
  mb::ParamBuffer<T> fused_params(optim_test::three_slices()), composed_params(optim_test::three_slices()),
      grads(optim_test::three_slices());
  optim_test::fill_normal(fused_params.flat(), rng);
  composed_params.storage() = fused_params.storage();
  Fused<T, mb::cpu> fused(options);
  auto composed = mb::compose<T>(mb::reference_chain(options));
  for (int s = 0; s < 20; ++s) {
    optim_test::fill_normal(grads.flat(), rng, 0.5);
    fused.step(fused_params, grads);
    composed.step(composed_params, grads);
  }
  return optim_test::max_rel_diff(fused_params.flat(), composed_params.flat());
}

}  // namespace

TEST_CASE("trace: momentum as a transform, by hand") {
  // μ = 0.5, u = 1 twice: t = 1, then t = 0.5·1 + 1 = 1.5 (u ← t)
  // nesterov: u ← u + μ·t: 1 + 0.5·1 = 1.5, then 1 + 0.5·1.5 = 1.75
  auto plain = mb::trace(0.5);
  auto nesterov = mb::trace(0.5, true);
  CHECK(run(plain, {1.0}, {0.0})[0] == 1.0);
  CHECK(run(plain, {1.0}, {0.0})[0] == 1.5);
  CHECK(run(nesterov, {1.0}, {0.0})[0] == 1.5);
  CHECK(run(nesterov, {1.0}, {0.0})[0] == 1.75);
}

TEST_CASE("scale_by_learning_rate flips the sign; apply_updates adds") {
  auto lr = mb::scale_by_learning_rate(0.1);
  CHECK(run(lr, {2.0, -1.0}, {0.0, 0.0}) == std::vector<double>{-0.2, 0.1});
}

TEST_CASE("scale_by_adagrad / scale_by_adam by hand") {
  // Adagrad, S⁰ = 0: u = 3 → S = 9, u = 3/3 = 1; u = 4 → S = 25, u = 4/5 = 0.8
  auto adagrad = mb::scale_by_adagrad(0.0, 1e-300);
  CHECK(run(adagrad, {3.0}, {0.0})[0] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(run(adagrad, {4.0}, {0.0})[0] == doctest::Approx(0.8).epsilon(1e-15));
  // Adam: the first bias-corrected step is sign(u) (m̂ = u, v̂ = u²)
  auto adam = mb::scale_by_adam(0.9, 0.999, 1e-300);
  CHECK(run(adam, {-7.0}, {0.0})[0] == doctest::Approx(-1.0).epsilon(1e-12));
}

TEST_CASE("add_decayed_weights: u ← u + λ·θ on the slices of its mask") {
  // λ = 0.1, θ = (1, 2 | 3): all slices → (0.1, 0.2, 0.3); excluding "b" → (0.1, 0.2, 0)
  const mb::ParamLayout layout{{"w", mb::Shape{2}}, {"b", mb::Shape{1}}};
  auto all = mb::add_decayed_weights(0.1);
  auto masked = mb::add_decayed_weights(0.1, mb::SliceMask::excluding({"b"}));
  const auto u_all = run(all, {0, 0, 0}, {1, 2, 3}, &layout);
  const auto u_masked = run(masked, {0, 0, 0}, {1, 2, 3}, &layout);
  CHECK(u_all[2] == doctest::Approx(0.3).epsilon(1e-15));
  CHECK(u_masked[0] == doctest::Approx(0.1).epsilon(1e-15));
  CHECK(u_masked[1] == doctest::Approx(0.2).epsilon(1e-15));
  CHECK(u_masked[2] == 0.0);
}

TEST_CASE("Trust ratios as transforms by hand") {
  // LAMB: θ = (3, 4), u = (0, 2): r = 5/2, u = (0, 5)
  auto lamb = mb::scale_by_trust_ratio<double>();
  CHECK(run(lamb, {0.0, 2.0}, {3.0, 4.0}) == std::vector<double>{0.0, 5.0});
  // LARS: θ = (3, 4), u = g = (0.6, 0.8), η = 0.01, β = 0.1: λ = 0.05/1.5, u = λ·(0.9, 1.2) = (0.03, 0.04)
  auto lars = mb::scale_by_lars_trust_ratio(0.01, 0.1);
  const auto u = run(lars, {0.6, 0.8}, {3.0, 4.0});
  CHECK(u[0] == doctest::Approx(0.03).epsilon(1e-14));
  CHECK(u[1] == doctest::Approx(0.04).epsilon(1e-14));
  // a zero norm gives ratio 1
  CHECK(run(lamb, {1.0, 1.0}, {0.0, 0.0}) == std::vector<double>{1.0, 1.0});
}

TEST_CASE("Global-norm clipping: g ← g·min(1, c/‖g‖)") {
  // g = (3, 4), ‖g‖ = 5: c = 1 → (0.6, 0.8); c = 10 → unchanged
  auto clip = mb::clip_by_global_norm(1.0);
  const auto u = run(clip, {3.0, 4.0}, {0.0, 0.0});
  CHECK(u[0] == doctest::Approx(0.6).epsilon(1e-15));
  CHECK(u[1] == doctest::Approx(0.8).epsilon(1e-15));
  mb::Tensor<float> g{3.0f, 4.0f};
  CHECK(mb::clip_grad_norm(g, 10.0) == doctest::Approx(5.0));
  CHECK(g[0] == 3.0f);
  CHECK(mb::clip_grad_norm(g, 1.0) == doctest::Approx(5.0));
  CHECK(g[0] == doctest::Approx(0.6f));
  CHECK(g[1] == doctest::Approx(0.8f));
  CHECK(contains(message_of([&] { mb::clip_grad_norm(g, 0.0); }), "max_norm = 0"));
}

TEST_CASE("Fused ≡ composed reference of transforms, 20 random steps on three slices") {
  const double tol = 1e-12;
  const auto no_bias = mb::SliceMask::excluding({"b1"});
  const auto matrices = mb::SliceMask::min_rank(2);
  CHECK(fused_vs_composed<mb::Adagrad, double>(mb::AdagradOptions<double>{.lr = 0.1}, 1) < tol);
  CHECK(fused_vs_composed<mb::Adagrad, double>(
            mb::AdagradOptions<double>{.lr = 0.1, .lr_decay = 0.05, .weight_decay = 0.01,
                                       .initial_accumulator_value = 0.1, .weight_decay_mask = no_bias},
            2) < tol);
  CHECK(fused_vs_composed<mb::RMSProp, double>(mb::RMSPropOptions<double>{.lr = 0.01}, 3) < tol);
  CHECK(fused_vs_composed<mb::RMSProp, double>(
            mb::RMSPropOptions<double>{
                .lr = 0.01, .alpha = 0.9, .weight_decay = 0.1, .momentum = 0.8, .centered = true, .weight_decay_mask = matrices},
            4) < tol);
  CHECK(fused_vs_composed<mb::Adam, double>(mb::AdamOptions<double>{.lr = 0.01}, 5) < tol);
  CHECK(fused_vs_composed<mb::Adam, double>(
            mb::AdamOptions<double>{.lr = 0.01, .beta1 = 0.8, .weight_decay = 0.1, .weight_decay_mask = no_bias}, 6) < tol);
  CHECK(fused_vs_composed<mb::AdamW, double>(mb::AdamWOptions<double>{.lr = 0.01}, 7) < tol);
  CHECK(fused_vs_composed<mb::AdamW, double>(
            mb::AdamWOptions<double>{.lr = 0.01, .weight_decay = 0.3, .weight_decay_mask = matrices}, 8) < tol);
  CHECK(fused_vs_composed<mb::LARS, double>(mb::LARSOptions<double>{.lr = 1.0}, 9) < tol);
  CHECK(fused_vs_composed<mb::LARS, double>(mb::LARSOptions<double>{.lr = 2.0,
                                                                    .momentum = 0.5,
                                                                    .weight_decay = 0.01,
                                                                    .trust_coefficient = 0.02,
                                                                    .weight_decay_mask = no_bias,
                                                                    .trust_ratio_mask = matrices},
                                            10) < tol);
  CHECK(fused_vs_composed<mb::LAMB, double>(mb::LAMBOptions<double>{.lr = 0.01}, 11) < tol);
  CHECK(fused_vs_composed<mb::LAMB, double>(
            mb::LAMBOptions<double>{
                .lr = 0.01, .weight_decay = 0.1, .weight_decay_mask = matrices, .trust_ratio_mask = no_bias},
            12) < tol);
  // float: the same code paths, float rounding
  CHECK(fused_vs_composed<mb::Adam, float>(mb::AdamOptions<float>{.lr = 0.01f, .weight_decay = 0.1f}, 13) < 1e-5);
  CHECK(fused_vs_composed<mb::LAMB, float>(mb::LAMBOptions<float>{.lr = 0.01f}, 14) < 1e-5);
  CHECK(fused_vs_composed<mb::LARS, float>(mb::LARSOptions<float>{.lr = 1.0f, .weight_decay = 0.01f}, 15) < 1e-5);
}

TEST_CASE("A weight-decay mask leaves the excluded slices alone") {
  // Zero gradients: only the decay moves anything. b1 is excluded and must not move at all;
  // W1 and W2 must shrink.
  auto check = [](auto opt) {
    mb::Rng rng(40);
    mb::ParamBuffer<double> p(optim_test::three_slices()), g(optim_test::three_slices());
    optim_test::fill_normal(p.flat(), rng);
    const mb::ParamBuffer<double> start = p;
    for (int s = 0; s < 5; ++s) opt.step(p, g);
    for (mb::index_t i = 0; i < 4; ++i) CHECK(p["b1"][i] == start["b1"][i]);
    CHECK(std::abs(p["W1"][0]) < std::abs(start["W1"][0]));
    CHECK(std::abs(p["W2"][0]) < std::abs(start["W2"][0]));
  };
  const auto no_bias = mb::SliceMask::excluding({"b1"});
  check(mb::Adagrad<double>({.lr = 0.1, .weight_decay = 0.1, .weight_decay_mask = no_bias}));
  check(mb::RMSProp<double>({.lr = 0.01, .weight_decay = 0.1, .weight_decay_mask = no_bias}));
  check(mb::Adam<double>({.lr = 0.01, .weight_decay = 0.1, .weight_decay_mask = no_bias}));
  check(mb::AdamW<double>({.lr = 0.01, .weight_decay = 0.1, .weight_decay_mask = no_bias}));
  check(mb::LARS<double>({.lr = 1.0, .weight_decay = 0.1, .weight_decay_mask = no_bias}));
  check(mb::LAMB<double>({.lr = 0.01, .weight_decay = 0.1, .weight_decay_mask = mb::SliceMask::min_rank(2)}));
}

TEST_CASE("Masks: unknown names are errors; the TensorView overload is one slice") {
  mb::ParamBuffer<double> p(optim_test::three_slices()), g(optim_test::three_slices());
  mb::AdamW<double> typo({.weight_decay_mask = mb::SliceMask::excluding({"bias"})});
  CHECK(contains(message_of([&] { typo.step(p, g); }), "excludes 'bias'"));
  mb::LARS<double> view({.trust_ratio_mask = mb::SliceMask::excluding({"b1"})});
  CHECK(contains(message_of([&] { view.step(p.flat(), g.flat()); }), "TensorView overload"));
  // The explicit-layout overload is the ParamBuffer overload.
  mb::Rng rng(41);
  optim_test::fill_normal(p.flat(), rng);
  optim_test::fill_normal(g.flat(), rng);
  mb::ParamBuffer<double> q = p;
  mb::LAMB<double> a({.weight_decay_mask = mb::SliceMask::min_rank(2)}), b({.weight_decay_mask = mb::SliceMask::min_rank(2)});
  a.step(p, g);
  b.step(q.flat(), g.flat(), q.layout());
  CHECK(optim_test::max_rel_diff(p.flat(), q.flat()) == 0.0);
  CHECK(a.trust_ratios().size() == 3);
  // A bias-corrected centered RMS is not defined.
  CHECK(contains(message_of<mb::value_error>([] { mb::scale_by_rms(0.9, 1e-8, true, true); }), "bias_correction"));
}
