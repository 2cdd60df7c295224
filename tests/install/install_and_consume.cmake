# Installs minibatch from SOURCE_DIR into a fresh prefix under WORK_DIR, then configures,
# builds and runs the consumer project in CONSUMER_DIR against that prefix only.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("configure minibatch" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build
  -DMINIBATCH_BUILD_TESTS=OFF -DMINIBATCH_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${prefix})
run_step("install minibatch" ${CMAKE_COMMAND} --install ${WORK_DIR}/build)
foreach(f share/cmake/minibatch/minibatchConfig.cmake share/cmake/minibatch/minibatchConfigVersion.cmake
          share/pkgconfig/minibatch.pc include/minibatch/momentum.hpp)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()
run_step("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
run_step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run_step("run consumer" ${WORK_DIR}/consumer/consumer)
if(NOT step_output MATCHES "theta = 0.486 0.972")
  message(FATAL_ERROR "consumer printed an unexpected result:\n${step_output}")
endif()
message(STATUS "consumer output: ${step_output}")
