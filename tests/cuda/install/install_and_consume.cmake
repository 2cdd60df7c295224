# Installs minibatch with its cuda component from SOURCE_DIR into a fresh prefix under
# WORK_DIR, then configures, builds and runs the .cu consumer in CONSUMER_DIR against that
# prefix only (find_package(minibatch CONFIG REQUIRED COMPONENTS cuda)). The consumer
# exits 77 when there is no GPU: then building it is the test, unless the environment
# sets MINIBATCH_REQUIRE_GPU=1. CUDA_COMPILER, CUDA_ARCHITECTURES (comma-separated), EIGEN3_DIR and
# ZLIB_ROOT_DIR forward the outer build's choices (e.g. vendored dependencies in .deps/).
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

set(forwarded -DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(CUDA_COMPILER)
  list(APPEND forwarded -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER})
endif()
if(CUDA_ARCHITECTURES)  # through the environment: a list would split the command line
  string(REPLACE "," ";" archs "${CUDA_ARCHITECTURES}")
  set(ENV{CUDAARCHS} "${archs}")
endif()
if(EIGEN3_DIR)
  list(APPEND forwarded -DEigen3_DIR=${EIGEN3_DIR})
endif()
if(ZLIB_ROOT_DIR)
  list(APPEND forwarded -DZLIB_ROOT=${ZLIB_ROOT_DIR})
endif()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(step_rc "${rc}" PARENT_SCOPE)
  set(step_output "${out}" PARENT_SCOPE)
  if(NOT rc EQUAL 0 AND NOT (what STREQUAL "run consumer" AND rc EQUAL 77))
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
endfunction()

run_step("configure minibatch" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build ${forwarded}
  -DMINIBATCH_ENABLE_CUDA=ON -DMINIBATCH_BUILD_TESTS=OFF -DMINIBATCH_BUILD_EXAMPLES=OFF
  -DCMAKE_INSTALL_PREFIX=${prefix})
run_step("install minibatch" ${CMAKE_COMMAND} --install ${WORK_DIR}/build)
foreach(f share/cmake/minibatch/minibatchCudaTargets.cmake share/cmake/minibatch/minibatchCudaComponent.cmake
          include/minibatch/cuda.cuh include/minibatch/backend/cuda/ops.cuh include/minibatch/kernels/cuda/norm.cuh)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()
run_step("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer ${forwarded}
  -DCMAKE_PREFIX_PATH=${prefix})
run_step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run_step("run consumer" ${WORK_DIR}/consumer/consumer)
if(step_rc EQUAL 77)
  if("$ENV{MINIBATCH_REQUIRE_GPU}" STREQUAL "1")
    message(FATAL_ERROR "the consumer found no CUDA device, but MINIBATCH_REQUIRE_GPU=1:\n${step_output}")
  endif()
  message(STATUS "consumer built; no CUDA device to run it on:\n${step_output}")
  return()
endif()
if(NOT step_output MATCHES "theta = 0.486 0.972")
  message(FATAL_ERROR "consumer printed an unexpected result:\n${step_output}")
endif()
message(STATUS "consumer output: ${step_output}")
