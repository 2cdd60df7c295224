// cuda_error: what a failing CUDA runtime or cuBLAS call becomes. Every call into either
// library goes through MINIBATCH_CUDA_CHECK(call) (overloaded on cudaError_t and
// cublasStatus_t), which throws a cuda_error whose message names the call as written, the
// file and line, and the error's name and description; code() keeps the numeric status. Kernel launches are checked with
// MINIBATCH_CUDA_CHECK_LAUNCH("kernel name") right after the <<<...>>>. Nothing here
// exits, aborts or prints.
#pragma once

#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "minibatch/core/error.hpp"

namespace minibatch {

class cuda_error : public error {
 public:
  cuda_error(const std::string& message, int code) : error(message), code_(code) {}
  // The cudaError_t or cublasStatus_t value the call returned.
  int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace cuda_backend {

inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  // The runtime also keeps the error as its "last error"; clear it so that the next launch
  // check does not report it again (sticky errors, which break the context, stay).
  cudaGetLastError();
  throw cuda_error(detail::concat("CUDA call ", call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status),
                                  " (", cudaGetErrorString(status), ")"),
                   static_cast<int>(status));
}

inline void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw cuda_error(detail::concat("cuBLAS call ", call, " failed at ", file, ":", line, ": ",
                                  cublasGetStatusName(status), " (", cublasGetStatusString(status), ")"),
                   static_cast<int>(status));
}

// After a launch: a bad configuration shows up in cudaGetLastError (execution errors
// surface at the next synchronising call, which is checked too).
inline void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess) return;
  throw cuda_error(detail::concat("CUDA kernel launch ", kernel, " failed at ", file, ":", line, ": ",
                                  cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"),
                   static_cast<int>(status));
}

}  // namespace cuda_backend
}  // namespace minibatch

#define MINIBATCH_CUDA_CHECK(call) ::minibatch::cuda_backend::check((call), #call, __FILE__, __LINE__)
#define MINIBATCH_CUDA_CHECK_LAUNCH(kernel) ::minibatch::cuda_backend::check_launch((kernel), __FILE__, __LINE__)
