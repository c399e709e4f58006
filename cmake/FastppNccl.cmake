# Optional NCCL for data-parallel training on NVIDIA GPUs: defines the target fastpp::nccl, a small compiled
# library (src/nccl/*.cpp) that carries fastpp::cuda, links NCCL and defines FASTPP_WITH_NCCL=1, so a program
# may include fastpp/distributed/nccl.hpp. Nothing else in the library includes NCCL: a program that does not
# link fastpp::nccl needs no NCCL at all, and without it every other target is as before.
#   FASTPP_NCCL = AUTO (default: when fastpp::cuda is built and NCCL is found) | ON (required) | OFF
# Where NCCL is looked for (nccl.h and libnccl, which may exist only as libnccl.so.2, as in the CUDA toolkit's
# lib/ folder or the Python package nvidia-nccl-cu13), first found wins:
#   1. NCCL_ROOT (CMake or environment variable): <root>/include, <root>/lib, <root>/lib64;
#   2. the CUDA toolkit's folders (include/, lib64/, lib/ and targets/<arch>/lib);
#   3. the system's paths.
# The installed package does not offer fastpp::nccl yet (cmake/FastppInstall.cmake exports fastpp::cuda only).
include_guard(GLOBAL)
set(FASTPP_NCCL "AUTO" CACHE STRING "Data-parallel training over NCCL (fastpp::nccl): ON, OFF or AUTO")
set_property(CACHE FASTPP_NCCL PROPERTY STRINGS ON OFF AUTO)
set(FASTPP_HAVE_NCCL OFF)
if(FASTPP_NCCL STREQUAL "OFF")
  return()
endif()
if(NOT TARGET fastpp_cuda)
  if(FASTPP_NCCL STREQUAL "ON")
    message(FATAL_ERROR "FASTPP_NCCL=ON needs the CUDA backend fastpp::cuda, which is not built (FASTPP_CUDA)")
  endif()
  return()
endif()

set(_fastpp_nccl_roots ${NCCL_ROOT} $ENV{NCCL_ROOT})
set(_fastpp_nccl_cuda_libs ${CUDAToolkit_LIBRARY_DIR})
foreach(_d IN ITEMS "${CUDAToolkit_LIBRARY_ROOT}" "${CUDAToolkit_TARGET_DIR}")
  if(_d)
    list(APPEND _fastpp_nccl_cuda_libs "${_d}/lib64" "${_d}/lib")
  endif()
endforeach()
if(_fastpp_nccl_roots)
  find_path(NCCL_INCLUDE_DIR nccl.h PATHS ${_fastpp_nccl_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 PATHS ${_fastpp_nccl_roots} PATH_SUFFIXES lib lib64
               NO_DEFAULT_PATH)
endif()
find_path(NCCL_INCLUDE_DIR nccl.h PATHS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 PATHS ${_fastpp_nccl_cuda_libs} NO_DEFAULT_PATH)
find_path(NCCL_INCLUDE_DIR nccl.h)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2)

set(NCCL_VERSION "")
if(NCCL_INCLUDE_DIR)
  file(STRINGS "${NCCL_INCLUDE_DIR}/nccl.h" _fastpp_nccl_v REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) +[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define NCCL_${_part} +([0-9]+).*" "\\1" _fastpp_nccl_${_part} "${_fastpp_nccl_v}")
  endforeach()
  set(NCCL_VERSION "${_fastpp_nccl_MAJOR}.${_fastpp_nccl_MINOR}.${_fastpp_nccl_PATCH}")
endif()
# ncclAvg (the gradients' average) arrived in NCCL 2.10.
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY OR NCCL_VERSION VERSION_LESS 2.10)
  set(_fastpp_nccl_why "looked for nccl.h and libnccl (nccl, libnccl.so.2) in NCCL_ROOT, the CUDA toolkit "
                       "(${CUDAToolkit_INCLUDE_DIRS}; ${_fastpp_nccl_cuda_libs}) and the system's paths; found "
                       "include: ${NCCL_INCLUDE_DIR}, library: ${NCCL_LIBRARY}, version: ${NCCL_VERSION} (2.10 or "
                       "later needed)")
  if(FASTPP_NCCL STREQUAL "ON")
    message(FATAL_ERROR "FASTPP_NCCL=ON but no usable NCCL was found: ${_fastpp_nccl_why}. Install NCCL for CUDA "
                        "${CUDAToolkit_VERSION_MAJOR} or pass -DNCCL_ROOT=<its prefix>")
  endif()
  message(STATUS "fastpp: NCCL not found, fastpp::nccl is not built (${_fastpp_nccl_why})")
  return()
endif()

if(NOT TARGET NCCL::nccl)
  add_library(NCCL::nccl UNKNOWN IMPORTED)
  set_target_properties(NCCL::nccl PROPERTIES IMPORTED_LOCATION "${NCCL_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}")
endif()
file(GLOB FASTPP_NCCL_SOURCES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/nccl/*.cpp")
add_library(fastpp_nccl STATIC ${FASTPP_NCCL_SOURCES})
add_library(fastpp::nccl ALIAS fastpp_nccl)
set_target_properties(fastpp_nccl PROPERTIES EXPORT_NAME nccl POSITION_INDEPENDENT_CODE ON)
# src/ for src/cuda/check.hpp and src/cuda/stream.hpp (the learner's stream as a cudaStream_t). NCCL's folder
# is the target's own, so it comes before the CUDA toolkit's (from fastpp_cuda's CUDA::cudart): a toolkit that
# ships an nccl.h of another version than NCCL_ROOT's library must not hide the library's own header.
target_include_directories(fastpp_nccl PRIVATE "${PROJECT_SOURCE_DIR}/src")
target_include_directories(fastpp_nccl SYSTEM BEFORE PRIVATE "${NCCL_INCLUDE_DIR}")
target_link_libraries(fastpp_nccl PUBLIC fastpp_cuda PRIVATE NCCL::nccl CUDA::cudart)
target_compile_definitions(fastpp_nccl PUBLIC FASTPP_WITH_NCCL=1)
target_compile_options(fastpp_nccl PRIVATE -Wall -Wextra $<$<BOOL:${FASTPP_WERROR}>:-Werror>)
set(FASTPP_HAVE_NCCL ON)
message(STATUS "fastpp: data-parallel training over NCCL ${NCCL_VERSION} via fastpp::nccl (${NCCL_LIBRARY})")
