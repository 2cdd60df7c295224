# The `cuda` component of an installed minibatch, included by minibatchConfig.cmake when
# a project asks find_package(minibatch COMPONENTS cuda); installed only by a build with
# MINIBATCH_ENABLE_CUDA=ON (without it, minibatch_cuda_FOUND stays unset and
# check_required_components reports the component missing). Defines minibatch::cuda once
# the CUDA toolkit is found. The project must enable the CUDA language itself.
include(CMakeFindDependencyMacro)
find_dependency(CUDAToolkit)
include("${CMAKE_CURRENT_LIST_DIR}/minibatchCudaTargets.cmake")
set(minibatch_cuda_FOUND TRUE)
