// flush_subnormal(x): x, or 0 when x is a nonzero number smaller in magnitude than the
// smallest normal number of its type (2⁻¹²⁶ ≈ 1.2e-38 for float, 2⁻¹⁰²² for double).
//
// The optimizers' decaying state — momentum buffers (Momentum, LARS) and Adam's and LAMB's
// moments — goes through it when it is written. A parameter whose gradient stays exactly 0
// (a dead ReLU unit, a feature that never occurs) has its state shrink geometrically, by
// the momentum 0.9 every step, into the subnormal range, where it would stay for about 150
// more steps; on x86 every multiply-add that reads or produces a subnormal float takes a
// microcode assist of about a hundred cycles. Measured on a 784-128-10 MLP at batch 1:
// 0.50 ms per step with subnormal momentum, 0.05 ms with it flushed (benchmarks/RESULTS.md).
// What is lost is below 1.2e-38 in the state; the parameters themselves are never flushed.
// NaN and infinities pass through unchanged. Usable in host and CUDA device code.
#pragma once

#if defined(__CUDACC__)
#define MINIBATCH_HOST_DEVICE __host__ __device__
#else
#define MINIBATCH_HOST_DEVICE
#endif

namespace minibatch::kernels {

template <class T>
MINIBATCH_HOST_DEVICE inline T flush_subnormal(T x) {
  static_assert(sizeof(T) == sizeof(float) || sizeof(T) == sizeof(double), "flush_subnormal: float or double");
  const T smallest_normal = sizeof(T) == sizeof(float) ? T(0x1p-126) : T(0x1p-1022);
  return x < smallest_normal && x > -smallest_normal ? T(0) : x;
}

}  // namespace minibatch::kernels
