#include <doctest/doctest.h>

#include "minibatch/adam.hpp"
#include "minibatch/lamb.hpp"
#include "optim/optim_test_util.hpp"

namespace mb = minibatch;
using optim_test::contains;
using optim_test::message_of;

TEST_CASE("LAMB: two steps by hand") {
  // η = 0.1, λ = 0.1, β = (0.9, 0.999), eps = 1e-12; w = (3, 4), g = (0.6, 0.8) twice.
  // step 1: m̂ = g, v̂ = g², Adam direction = (1, 1); u = (1, 1) + 0.1·(3, 4) = (1.3, 1.4)
  //         ‖w‖ = 5, ‖u‖ = √3.65 = 1.910497317, r = 2.617119613
  //         w = (3, 4) − 0.1·r·(1.3, 1.4) = (2.659774450, 3.633603254)
  // step 2: Adam direction still (1, 1); u = (1.265977445, 1.363360325), ‖w‖ = 4.503051492,
  //         ‖u‖ = 1.860497317, r = 2.420348285, w = (2.353363817, 3.303622572)
  mb::Tensor<double> w{3.0, 4.0}, g{0.6, 0.8};
  mb::LAMB<double> opt({.lr = 0.1, .eps = 1e-12, .weight_decay = 0.1});
  opt.step(w, g);
  CHECK(opt.trust_ratios()[0] == doctest::Approx(2.6171196129538767).epsilon(1e-10));
  CHECK(w[0] == doctest::Approx(2.6597744503164322).epsilon(1e-10));
  CHECK(w[1] == doctest::Approx(3.6336032541867844).epsilon(1e-10));
  opt.step(w, g);
  CHECK(opt.trust_ratios()[0] == doctest::Approx(2.4203482849945694).epsilon(1e-10));
  CHECK(w[0] == doctest::Approx(2.353363816524423).epsilon(1e-10));
  CHECK(w[1] == doctest::Approx(3.303622571641415).epsilon(1e-10));
}

TEST_CASE("LAMB with trust ratio forced to 1 ≡ AdamW") {
  mb::Rng rng(31);
  mb::ParamBuffer<double> a(optim_test::three_slices()), b(optim_test::three_slices()), g(optim_test::three_slices());
  optim_test::fill_normal(a.flat(), rng);
  b.storage() = a.storage();
  mb::LAMB<double> lamb({.lr = 0.01, .eps = 1e-8, .weight_decay = 0.05, .trust_ratio_mask = mb::SliceMask::none()});
  mb::AdamW<double> adamw({.lr = 0.01, .eps = 1e-8, .weight_decay = 0.05});
  for (int s = 0; s < 20; ++s) {
    optim_test::fill_normal(g.flat(), rng);
    lamb.step(a, g);
    adamw.step(b, g);
  }
  for (double r : lamb.trust_ratios()) CHECK(r == 1.0);
  CHECK(optim_test::max_rel_diff(a.flat(), b.flat()) < 1e-13);
}

TEST_CASE("LAMB: each slice moves by lr·‖w_s‖ per step, whatever its gradient scale") {
  // r_s·‖u_s‖ = ‖w_s‖, so ‖Δw_s‖ = η·‖w_s‖ exactly for every trusted slice.
  mb::Rng rng(32);
  mb::ParamBuffer<double> p(optim_test::three_slices()), g(optim_test::three_slices());
  optim_test::fill_normal(p.flat(), rng);
  optim_test::fill_normal(g.flat(), rng);
  for (mb::index_t i = 0; i < 12; ++i) g.flat()[i] *= 1000.0;  // W1's gradient is huge
  mb::ParamBuffer<double> before = p;
  mb::LAMB<double> opt({.lr = 0.01});
  opt.step(p, g);
  for (mb::index_t s = 0; s < 3; ++s) {
    double dw = 0, w = 0;
    for (mb::index_t i = 0; i < p.slice(s).size(); ++i) {
      dw += (p.slice(s)[i] - before.slice(s)[i]) * (p.slice(s)[i] - before.slice(s)[i]);
      w += before.slice(s)[i] * before.slice(s)[i];
    }
    CHECK(std::sqrt(dw) == doctest::Approx(0.01 * std::sqrt(w)).epsilon(1e-12));
  }
}

TEST_CASE("LAMB refuses bad hyper-parameters and names the value") {
  CHECK(contains(message_of([] { mb::LAMB<float>({.lr = -1.0f}); }), "LAMB: learning rate"));
  CHECK(contains(message_of([] { mb::LAMB<float>({.beta1 = 1.0f}); }), "beta1 = 1"));
  CHECK(contains(message_of([] { mb::LAMB<float>({.beta2 = 2.0f}); }), "beta2 = 2"));
  CHECK(contains(message_of([] { mb::LAMB<float>({.eps = 0.0f}); }), "eps = 0"));
  CHECK(contains(message_of([] { mb::LAMB<float>({.weight_decay = -1.0f}); }), "weight_decay = -1"));
}
