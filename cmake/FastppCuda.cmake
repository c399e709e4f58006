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
# fastpp_cuda states its own dialect (CUDA_STANDARD 20 below) and lets CMake pass the flag. Passing
# -std=c++20 by hand and leaving CUDA_STANDARD unset broke consumers: a CUDA target without CUDA_STANDARD
# takes the CXX_STANDARD and CXX_STANDARD_REQUIRED that a project's CMAKE_CXX_STANDARD(_REQUIRED) gives
# every target, and CMake 3.25 has no C++20 flag for nvcc, so configuring failed ("Target fastpp_cuda
# requires the language dialect CUDA20"; tests/consumer). nvcc has had -std=c++20 since 12.0 and has no
# GNU dialects (CMake's own table uses -std=c++17 for both); where CMake's table stops short, it is told so
# here, in fastpp's directory only, where fastpp_cuda is defined.
if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION AND CMAKE_CUDA_COMPILER_ID STREQUAL "NVIDIA"
   AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()
find_package(CUDAToolkit REQUIRED)
# cuDNN (cmake/FindCUDNN.cmake) runs the convolutions (src/cuda/conv.cu): the CUDA backend needs it. Missing,
# FASTPP_CUDA=ON stops with what to install; AUTO builds without the CUDA backend, as without nvcc.
find_package(CUDNN QUIET)
if(NOT CUDNN_FOUND)
  if(FASTPP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FASTPP_CUDA=ON but cuDNN was not found (looked for cudnn.h and libcudnn in CUDNN_ROOT, "
                        "beside the CUDA toolkit in ${CUDAToolkit_INCLUDE_DIRS} and ${CUDAToolkit_LIBRARY_DIR}, and "
                        "the system's paths): install cuDNN 8 or 9 for CUDA ${CUDAToolkit_VERSION_MAJOR} (Debian/"
                        "Ubuntu: cudnn9-cuda-${CUDAToolkit_VERSION_MAJOR}) or pass -DCUDNN_ROOT=<its prefix>")
  endif()
  message(STATUS "fastpp: nvcc found but cuDNN not, the CUDA backend is not built (set CUDNN_ROOT to its prefix)")
  return()
endif()
# Ampere (A100) and Hopper (H100/H200) by default; override with -DFASTPP_CUDA_ARCHITECTURES=...
set(FASTPP_CUDA_ARCHITECTURES "80;90" CACHE STRING "GPU architectures fastpp::cuda is compiled for")

file(GLOB FASTPP_CUDA_SOURCES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/cuda/*.cu")
add_library(fastpp_cuda STATIC ${FASTPP_CUDA_SOURCES})
add_library(fastpp::cuda ALIAS fastpp_cuda)
set_target_properties(fastpp_cuda PROPERTIES EXPORT_NAME cuda POSITION_INDEPENDENT_CODE ON
                      CUDA_ARCHITECTURES "${FASTPP_CUDA_ARCHITECTURES}"
                      CUDA_SEPARABLE_COMPILATION OFF
                      CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON CUDA_EXTENSIONS OFF)
target_link_libraries(fastpp_cuda PUBLIC fastpp CUDA::cudart CUDA::cublas CUDNN::cudnn)
# CUDA 13 moved CCCL (cub, thrust, libcu++) to include/cccl. nvcc finds it by itself (its nvcc.profile adds
# -isystem include/cccl), but CMake 3.25's CUDAToolkit does not list it, so another CUDA compiler would not:
# named here for fastpp's own .cu files. Public headers include no CUDA header, so consumers need nothing.
foreach(_fastpp_cuda_inc IN LISTS CUDAToolkit_INCLUDE_DIRS)
  if(IS_DIRECTORY "${_fastpp_cuda_inc}/cccl" AND NOT "${_fastpp_cuda_inc}/cccl" IN_LIST CUDAToolkit_INCLUDE_DIRS)
    target_include_directories(fastpp_cuda SYSTEM PRIVATE "${_fastpp_cuda_inc}/cccl")
  endif()
endforeach()
target_compile_definitions(fastpp_cuda PUBLIC FASTPP_WITH_CUDA=1)
target_compile_options(fastpp_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Werror=all-warnings>)
set(FASTPP_HAVE_CUDA ON)
message(STATUS "fastpp: CUDA backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuDNN ${CUDNN_VERSION}, "
               "archs ${FASTPP_CUDA_ARCHITECTURES})")
