# The CUDA backend, included by the top-level CMakeLists.txt when MINIBATCH_ENABLE_CUDA is
# ON (after the cpu target and its installation are set up). It defines
#
#   minibatch::cuda   INTERFACE target: minibatch::minibatch + the CUDA runtime + cuBLAS,
#                     C++20 for CUDA sources, nvcc's --expt-relaxed-constexpr (Eigen 3.4's
#                     constexpr host functions are called from its host-device code)
#
# and installs it as a component: find_package(minibatch CONFIG REQUIRED COMPONENTS cuda)
# (cmake/minibatchCudaComponent.cmake). CMAKE_CUDA_ARCHITECTURES defaults to sm_90 machine
# code (H100, H200) plus compute_90 PTX, which later GPUs JIT-compile; set it (or the
# CUDAARCHS environment variable) to build for other GPUs.
if(NOT DEFINED MINIBATCH_CMAKE_DIR)
  message(FATAL_ERROR "cmake/cuda.cmake: include it after MINIBATCH_CMAKE_DIR is set (the install section)")
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
  set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING
      "CUDA architectures to build for (default: sm_90 code for H100/H200 plus compute_90 PTX)")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

add_library(minibatch_cuda INTERFACE)
add_library(minibatch::cuda ALIAS minibatch_cuda)
set_target_properties(minibatch_cuda PROPERTIES EXPORT_NAME cuda)
target_link_libraries(minibatch_cuda INTERFACE minibatch::minibatch CUDA::cudart CUDA::cublas)
# CMake < 3.26 does not know nvcc's C++20 flag as a compile feature.
if("cuda_std_20" IN_LIST CMAKE_CUDA_COMPILE_FEATURES)
  target_compile_features(minibatch_cuda INTERFACE cuda_std_20)
else()
  target_compile_options(minibatch_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
endif()
target_compile_options(minibatch_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)

# Warnings as errors for our own CUDA targets (tests, benchmarks, examples): the host
# compiler's and nvcc's own. Not exported: consumers choose their own flags.
add_library(minibatch_cuda_warnings INTERFACE)
target_compile_options(minibatch_cuda_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Werror --Werror=all-warnings>)

install(TARGETS minibatch_cuda EXPORT minibatchCudaTargets)
install(EXPORT minibatchCudaTargets NAMESPACE minibatch:: DESTINATION ${MINIBATCH_CMAKE_DIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/minibatchCudaComponent.cmake DESTINATION ${MINIBATCH_CMAKE_DIR})

add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/../benchmarks/gpu ${CMAKE_BINARY_DIR}/benchmarks/gpu)
