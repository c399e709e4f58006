# FindCUDNN: NVIDIA's cuDNN, which fastpp::cuda's convolutions call (src/cuda/conv.cu).
#
# Looks in CUDNN_ROOT (a CMake or environment variable), then beside the CUDA toolkit (CUDAToolkit's
# include and library folders, where NVIDIA's tarballs and the CUDA containers put it), then the system's
# default paths (Debian's libcudnn9-dev-cuda-*). The version comes from cudnn_version.h (cuDNN 8 and later;
# older ones kept it in cudnn.h, which is read as a fallback).
#
# Defines:
#   CUDNN_FOUND, CUDNN_VERSION (e.g. 9.19.0), CUDNN_INCLUDE_DIR, CUDNN_LIBRARY
#   the imported target CUDNN::cudnn (libcudnn with its include folder)
# No include_guard: CUDNN_FOUND and the directory-scoped CUDNN::cudnn must be set again in each directory
# that asks (the cached paths make the second search free).
include(FindPackageHandleStandardArgs)

if(NOT TARGET CUDA::toolkit)
  find_package(CUDAToolkit QUIET)
endif()
set(_cudnn_hints)
foreach(_root IN ITEMS "${CUDNN_ROOT}" "$ENV{CUDNN_ROOT}")
  if(_root)
    list(APPEND _cudnn_hints "${_root}")
  endif()
endforeach()
set(_cudnn_include_hints ${CUDAToolkit_INCLUDE_DIRS})
set(_cudnn_library_hints ${CUDAToolkit_LIBRARY_DIR})
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_include_hints "${CUDAToolkit_LIBRARY_ROOT}/include")
  list(APPEND _cudnn_library_hints "${CUDAToolkit_LIBRARY_ROOT}/lib64" "${CUDAToolkit_LIBRARY_ROOT}/lib")
endif()

find_path(CUDNN_INCLUDE_DIR NAMES cudnn.h
          HINTS ${_cudnn_hints} ${_cudnn_include_hints}
          PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn
             HINTS ${_cudnn_hints} ${_cudnn_library_hints}
             PATH_SUFFIXES lib64 lib lib/x64)

unset(CUDNN_VERSION)
if(CUDNN_INCLUDE_DIR)
  set(_cudnn_version_header "${CUDNN_INCLUDE_DIR}/cudnn_version.h")
  if(NOT EXISTS "${_cudnn_version_header}")
    set(_cudnn_version_header "${CUDNN_INCLUDE_DIR}/cudnn.h")
  endif()
  file(STRINGS "${_cudnn_version_header}" _cudnn_version_lines REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
  foreach(_part MAJOR MINOR PATCHLEVEL)
    set(_cudnn_${_part} "")
    foreach(_line IN LISTS _cudnn_version_lines)
      if(_line MATCHES "^#define CUDNN_${_part} +([0-9]+)")
        set(_cudnn_${_part} "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endforeach()
  if(NOT _cudnn_MAJOR STREQUAL "" AND NOT _cudnn_MINOR STREQUAL "" AND NOT _cudnn_PATCHLEVEL STREQUAL "")
    set(CUDNN_VERSION "${_cudnn_MAJOR}.${_cudnn_MINOR}.${_cudnn_PATCHLEVEL}")
  endif()
endif()

find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR VERSION_VAR CUDNN_VERSION)
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)

if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION "${CUDNN_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
