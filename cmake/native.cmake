# minibatch_compile_for_this_machine(target): compile target's C++ sources for the CPU that
# builds them (-march=native), when the compiler takes the flag and the build is not a cross
# build. The library's CPU kernels take their packet width from the instruction set they are
# compiled for: without this flag x86-64 gets SSE2 (4 floats), on an AVX-512 machine the same
# code runs 16 floats per instruction. Only our own programs get the flag (benchmarks, the
# native test builds, the examples that time steps); it is never pushed onto users of the
# library. CUDA sources of the target are left alone (nvcc takes no -march=native).
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-march=native MINIBATCH_HAS_MARCH_NATIVE)

function(minibatch_compile_for_this_machine target)
  if(NOT MINIBATCH_HAS_MARCH_NATIVE OR CMAKE_CROSSCOMPILING)
    return()
  endif()
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  # GCC 12 flags the _mm512_undefined_* in Eigen's own AVX-512 packing code as "may be used
  # uninitialized" (GCC bug 105593, fixed in GCC 13).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized -Wno-uninitialized>)
  endif()
endfunction()
