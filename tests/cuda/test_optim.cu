// The generic optimizers and the SGD loop, unchanged, on Tensor<float, cuda>: the same
// iterates as on the cpu, zero device allocations in steady state, and updates over more
// than 2³¹ elements.
#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test.hpp"
#include "minibatch/cuda.cuh"

namespace mb = minibatch;
using gpu_test::check_close;
using gpu_test::random_values;

namespace {

template <class B>
mb::Tensor<float, B> tensor(mb::Shape shape, const std::vector<float>& values) {
  return mb::Tensor<float, B>(shape, std::span<const float>(values));
}

template <class B>
mb::TensorView<const float, B> cview(mb::TensorView<float, B> v) {
  return v;
}

// Runs `steps` updates with random gradients on backend B; returns θ and the rule's state.
template <class B, class Rule>
std::vector<float> run_rule(Rule rule, std::size_t n, int steps) {
  auto theta = tensor<B>(mb::Shape{n}, random_values<float>(n, 1));
  for (int s = 0; s < steps; ++s) {
    const auto grad = tensor<B>(mb::Shape{n}, random_values<float>(n, 100 + s));
    rule.step(theta, grad);
  }
  return theta.to_vector();
}

// Runs `steps` updates with random gradients on a ParamBuffer of four slices (two weight
// matrices, two biases) on backend B; returns the parameters.
template <class B, class Rule>
std::vector<float> run_on_param_buffer(Rule rule, int steps) {
  const mb::ParamLayout layout{{"W1", mb::Shape{37, 13}}, {"b1", mb::Shape{13}}, {"W2", mb::Shape{13, 3}},
                               {"b2", mb::Shape{3}}};
  mb::ParamBuffer<float, B> params(layout), grads(layout);
  const auto init = random_values<float>(layout.total_size(), 1);
  mb::memory<B>::from_host(params.flat().data(), init.data(), init.size());
  for (int s = 0; s < steps; ++s) {
    const auto g = random_values<float>(layout.total_size(), 100 + s);
    mb::memory<B>::from_host(grads.flat().data(), g.data(), g.size());
    rule.step(params, grads);
  }
  return params.flat().to_vector();
}

// Least squares fᵢ(θ) = ½(xᵢ·θ − yᵢ)² on backend B, written once against ops<B>: the batch
// is gathered on the backend, the loss stays there until read. Its buffers are sized for
// the largest batch up front, so a step allocates nothing.
template <class B>
struct LeastSquares {
  using ops = mb::ops<B>;
  mb::Tensor<float, B> x, y, xb, yb, pred, dpred, loss;

  LeastSquares(std::size_t n, std::size_t d, std::size_t max_batch)
      : x(tensor<B>(mb::Shape{n, d}, random_values<float>(n * d, 7))),
        y(tensor<B>(mb::Shape{n, 1}, random_values<float>(n, 8))),
        xb(mb::Shape{max_batch, d}),
        yb(mb::Shape{max_batch, 1}),
        pred(mb::Shape{max_batch, 1}),
        dpred(mb::Shape{max_batch, 1}),
        loss(mb::Shape{1}) {}

  std::size_t size() const { return x.shape()[0]; }

  double loss_and_gradient(mb::TensorView<const float, B> theta, std::span<const std::size_t> batch,
                           mb::TensorView<float, B> grad) {
    const std::size_t m = batch.size(), d = x.shape()[1];
    const auto xv = xb.view().rows(0, m), yv = yb.view().rows(0, m);
    const auto pv = pred.view().rows(0, m), dv = dpred.view().rows(0, m);
    ops::gather_rows(std::as_const(x).view(), batch, xv);
    ops::gather_rows(std::as_const(y).view(), batch, yv);
    ops::gemm(cview(xv), false, theta.reshaped(mb::Shape{d, 1}), false, pv);
    ops::mse(cview(pv), cview(yv), dv, loss.view());
    ops::gemm(cview(xv), true, cview(dv), false, grad.reshaped(mb::Shape{d, 1}));
    return ops::read(std::as_const(loss).view());
  }
};

}  // namespace

TEST_CASE("GradientDescent<float, cuda> and Momentum<float, cuda> give the cpu iterates") {
  const std::size_t n = 100003;
  const gpu_test::Tolerance tol{1e-6, 1e-5};
  check_close(run_rule<mb::cuda>(mb::GradientDescent<float, mb::cuda>({.lr = 0.1f}), n, 5),
              run_rule<mb::cpu>(mb::GradientDescent<float, mb::cpu>({.lr = 0.1f}), n, 5), tol, "GradientDescent 5 steps");
  for (bool nesterov : {false, true}) {
    const mb::MomentumOptions<float> lecture{.lr = 0.1f, .momentum = 0.9f, .nesterov = nesterov};
    check_close(run_rule<mb::cuda>(mb::Momentum<float, mb::cuda>(lecture), n, 5),
                run_rule<mb::cpu>(mb::Momentum<float, mb::cpu>(lecture), n, 5), tol,
                std::string("Momentum lecture nesterov=") + (nesterov ? "1" : "0") + " 5 steps");
    mb::MomentumOptions<float> torch = lecture;
    torch.form = mb::MomentumForm::pytorch;
    torch.dampening = nesterov ? 0.0f : 0.1f;
    check_close(run_rule<mb::cuda>(mb::Momentum<float, mb::cuda>(torch), n, 5),
                run_rule<mb::cpu>(mb::Momentum<float, mb::cpu>(torch), n, 5), tol,
                std::string("Momentum pytorch nesterov=") + (nesterov ? "1" : "0") + " 5 steps");
  }
}

TEST_CASE("Adam, AdamW, Adagrad, RMSProp, LARS and LAMB on cuda give the cpu iterates, per-slice masks included") {
  const gpu_test::Tolerance tol{1e-6, 1e-4};
  const auto no_bias_decay = mb::SliceMask::min_rank(2);
  // make(backend tag) builds the same rule on either backend.
  auto compare = [&](const std::string& name, auto make) {
    check_close(run_on_param_buffer<mb::cuda>(make(mb::cuda{}), 5), run_on_param_buffer<mb::cpu>(make(mb::cpu{}), 5),
                tol, name + " 5 steps");
  };
  compare("Adam", [&]<class B>(B) {
    return mb::Adam<float, B>({.lr = 1e-2f, .weight_decay = 0.01f, .weight_decay_mask = no_bias_decay});
  });
  compare("AdamW", [&]<class B>(B) { return mb::AdamW<float, B>({.lr = 1e-2f, .weight_decay_mask = no_bias_decay}); });
  compare("Adagrad", [&]<class B>(B) {
    return mb::Adagrad<float, B>(
        {.lr = 0.1f, .lr_decay = 0.01f, .weight_decay = 0.01f, .initial_accumulator_value = 0.1f});
  });
  compare("RMSProp centered, momentum", [&]<class B>(B) {
    return mb::RMSProp<float, B>({.lr = 1e-2f, .weight_decay = 0.01f, .momentum = 0.9f, .centered = true});
  });
  compare("LARS", [&]<class B>(B) {
    return mb::LARS<float, B>(
        {.lr = 1.0f, .weight_decay = 1e-4f, .weight_decay_mask = no_bias_decay, .trust_ratio_mask = no_bias_decay});
  });
  compare("LAMB", [&]<class B>(B) {
    return mb::LAMB<float, B>({.lr = 1e-2f, .weight_decay_mask = no_bias_decay, .trust_ratio_mask = no_bias_decay});
  });
}

TEST_CASE("Momentum<float, cuda>: the lecture's three heavy-ball steps, on a ParamBuffer") {
  mb::ParamLayout layout{{"w", mb::Shape{1}}, {"b", mb::Shape{1}}};
  mb::ParamBuffer<float, mb::cuda> params(layout), grads(layout);
  mb::memory<mb::cuda>::from_host(params.flat().data(), std::vector<float>{1.0f, 2.0f}.data(), 2);
  mb::Momentum<float, mb::cuda> opt({.lr = 0.1f, .momentum = 0.9f});
  for (int step = 0; step < 3; ++step) {
    mb::memory<mb::cuda>::copy(grads.flat().data(), params.flat().data(), 2);  // f(θ) = ½‖θ‖²
    opt.step(params, grads);
  }
  const auto theta = params.flat().to_vector();
  CHECK(theta[0] == doctest::Approx(0.486f));
  CHECK(theta[1] == doctest::Approx(0.972f));
  CHECK(opt.velocity().to_vector()[0] == doctest::Approx(-0.234f));
}

TEST_CASE("the steady-state update performs zero device allocations") {
  const std::size_t n = 1 << 20;
  auto theta = tensor<mb::cuda>(mb::Shape{n}, random_values<float>(n, 1));
  const auto grad = tensor<mb::cuda>(mb::Shape{n}, random_values<float>(n, 2));
  mb::Momentum<float, mb::cuda> momentum({.lr = 0.01f, .momentum = 0.9f});
  mb::GradientDescent<float, mb::cuda> gd({.lr = 0.01f});
  momentum.step(theta, grad);  // allocates the velocity
  const auto before = mb::cuda_backend::allocation_count();
  for (int step = 0; step < 100; ++step) {
    momentum.step(theta, grad);
    gd.step(theta, grad);
    (void)mb::ops<mb::cuda>::l2_norm(cview(theta.view()));
  }
  CHECK(mb::cuda_backend::allocation_count() == before);
}

TEST_CASE("SGD with Momentum runs unchanged on cuda: the cpu's losses, and no allocation after the first run") {
  const std::size_t n = 1000, d = 13, batch = 64;
  auto make_sgd = [&]<class B>(B) {
    return mb::SGD(mb::Momentum<float, B>({.lr = 0.05f, .momentum = 0.9f}),
                   mb::ShuffledSampler({.batch_size = batch, .seed = 42, .drop_last = false}));
  };
  LeastSquares<mb::cpu> cpu_problem(n, d, batch);
  LeastSquares<mb::cuda> gpu_problem(n, d, batch);
  mb::Tensor<float, mb::cpu> cpu_theta(mb::Shape{d});
  mb::Tensor<float, mb::cuda> gpu_theta(mb::Shape{d});
  auto cpu_sgd = make_sgd(mb::cpu{});
  auto gpu_sgd = make_sgd(mb::cuda{});
  const auto cpu_history = cpu_sgd.run(cpu_problem, cpu_theta.view(), {.epochs = 3});
  const auto gpu_history = gpu_sgd.run(gpu_problem, gpu_theta.view(), {.epochs = 3});
  check_close(gpu_history.loss, cpu_history.loss, {1e-5, 1e-4}, "SGD loss per step");
  check_close(gpu_history.grad_norm, cpu_history.grad_norm, {1e-5, 1e-4}, "SGD gradient norm per step");
  check_close(gpu_theta.to_vector(), cpu_theta.to_vector(), {1e-5, 1e-4}, "SGD final theta");

  const auto before = mb::cuda_backend::allocation_count();
  const auto again = gpu_sgd.run(gpu_problem, gpu_theta.view(), {.epochs = 2, .first_epoch = 3});
  CHECK(again.steps == 2 * 16);
  CHECK(mb::cuda_backend::allocation_count() == before);
}

TEST_CASE("updates, norms and gathers over more than 2^31 elements") {
  const std::size_t cols = 1024, rows = (std::size_t{1} << 21) + 1;  // 2^31 + 1024 floats, 8 GiB
  std::size_t free_bytes = 0, total_bytes = 0;
  MINIBATCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < (std::size_t{20} << 30)) {
    MESSAGE("skipped: needs 20 GiB of free device memory, ", free_bytes >> 30, " GiB free");
    return;
  }
  {
    mb::Tensor<float, mb::cuda> theta(mb::Shape{rows, cols}), grad(mb::Shape{rows, cols});
    // g = 0x3f3f3f3f = 0.7470588 everywhere, except a marked last row.
    MINIBATCH_CUDA_CHECK(cudaMemsetAsync(grad.data(), 0x3f, grad.size() * sizeof(float),
                                         mb::cuda_backend::context().stream()));
    std::vector<float> marked(cols);
    for (std::size_t c = 0; c < cols; ++c) marked[c] = static_cast<float>(c);
    mb::memory<mb::cuda>::from_host(grad.data() + (rows - 1) * cols, marked.data(), cols);
    mb::GradientDescent<float, mb::cuda> gd({.lr = 1.0f});
    gd.step(theta, grad);  // θ = −g
    const float g = mb::ops<mb::cuda>::read(cview(grad.view()), 0);
    CHECK(mb::ops<mb::cuda>::read(cview(theta.view()), 0) == -g);
    CHECK(mb::ops<mb::cuda>::read(cview(theta.view()), rows * cols - 2) == -static_cast<float>(cols - 2));
    CHECK(mb::ops<mb::cuda>::read(cview(theta.view()), (rows - 1) * cols - 1) == -g);
    double marked_squares = 0;
    for (float v : marked) marked_squares += static_cast<double>(v) * v;
    const double expected = std::sqrt(static_cast<double>(g) * g * static_cast<double>((rows - 1) * cols) + marked_squares);
    check_close(mb::ops<mb::cuda>::l2_norm(cview(theta.view())), expected, {0, 1e-12}, "l2_norm over 2^31+1024");
    mb::Tensor<float, mb::cuda> two(mb::Shape{2, cols});
    const std::vector<mb::index_t> idx{rows - 1, 0};
    mb::ops<mb::cuda>::gather_rows(cview(theta.view()), idx, two.view());
    const auto got = two.to_vector();
    CHECK(got[cols - 1] == -static_cast<float>(cols - 1));
    CHECK(got[cols] == -g);
  }
  mb::cuda_backend::context().release_cached_memory();
}
