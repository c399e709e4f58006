# fastpp::cuda: the CUDA kernels, compiled once by nvcc into a static library (a header-only library
# cannot make every user translation unit a CUDA one). Linking it defines FASTPP_WITH_CUDA, which turns
# on the cuda allocator and the kernel declarations in the headers.
include_guard(GLOBAL)
set(FASTPP_HAVE_CUDA OFF)
if(FASTPP_CUDA STREQUAL "OFF")
  return()
endif()
include(CheckLanguage)
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(FASTPP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FASTPP_CUDA=ON but no CUDA compiler was found (looked for nvcc on PATH and in /usr/local/cuda)")
  endif()
  message(STATUS "fastpp: no nvcc found, the CUDA backend is not built")
  return()
endif()
enable_language(CUDA)
# CMake 3.25 does not know nvcc 13's dialect flags, so CUDA_STANDARD cannot be used: -std=c++20 is
# passed directly below.
find_package(CUDAToolkit REQUIRED)
# Ampere (A100) and Hopper (H100/H200) by default; override with -DFASTPP_CUDA_ARCHITECTURES=...
set(FASTPP_CUDA_ARCHITECTURES "80;90" CACHE STRING "GPU architectures fastpp::cuda is compiled for")

file(GLOB FASTPP_CUDA_SOURCES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/cuda/*.cu")
add_library(fastpp_cuda STATIC ${FASTPP_CUDA_SOURCES})
add_library(fastpp::cuda ALIAS fastpp_cuda)
set_target_properties(fastpp_cuda PROPERTIES EXPORT_NAME cuda POSITION_INDEPENDENT_CODE ON
                      CUDA_ARCHITECTURES "${FASTPP_CUDA_ARCHITECTURES}"
                      CUDA_SEPARABLE_COMPILATION OFF)
target_link_libraries(fastpp_cuda PUBLIC fastpp CUDA::cudart CUDA::cublas)
target_compile_definitions(fastpp_cuda PUBLIC FASTPP_WITH_CUDA=1)
target_compile_options(fastpp_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --expt-relaxed-constexpr -Werror=all-warnings>)
set(FASTPP_HAVE_CUDA ON)
message(STATUS "fastpp: CUDA backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${FASTPP_CUDA_ARCHITECTURES})")
