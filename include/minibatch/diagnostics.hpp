// Public entry: the diagnostics of a solution, on the mean loss over a fixed set of
// examples — gradient norm, Hessian-vector products and Lanczos extreme eigenvalues
// (minimum or saddle?), ε-sharpness (Keskar et al. 2017) and 1-D loss interpolation
// between two solutions. Generic over the backend (vector arithmetic on the host in double).
#pragma once

#include "minibatch/diagnostics/full_gradient.hpp"
#include "minibatch/diagnostics/hessian.hpp"
#include "minibatch/diagnostics/interpolation.hpp"
#include "minibatch/diagnostics/sharpness.hpp"
