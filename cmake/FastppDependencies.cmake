# Finds what the header-only library needs and defines fastpp_link_dependencies(<target>).
# Used both by the build tree and (through fastppConfig.cmake) by installed consumers.
include_guard(GLOBAL)
find_package(Threads REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)

# stb_image is header-only; Debian installs it as /usr/include/stb/stb_image.h.
find_path(FASTPP_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
if(NOT FASTPP_STB_INCLUDE_DIR)
  message(FATAL_ERROR "fastpp needs stb_image.h: install Debian's libstb-dev (scripts/deps.sh does)")
endif()

if(NOT DEFINED FASTPP_BLAS)
  set(FASTPP_BLAS AUTO)
endif()
set(FASTPP_HAVE_OPENBLAS OFF)
if(NOT FASTPP_BLAS STREQUAL "OFF")
  find_library(FASTPP_OPENBLAS_LIBRARY NAMES openblas)
  if(FASTPP_OPENBLAS_LIBRARY)
    set(FASTPP_HAVE_OPENBLAS ON)
  elseif(FASTPP_BLAS STREQUAL "ON")
    message(FATAL_ERROR "FASTPP_BLAS=ON but OpenBLAS was not found: install Debian's libopenblas-dev")
  endif()
endif()

function(fastpp_link_dependencies target)
  target_link_libraries(${target} INTERFACE Threads::Threads Eigen3::Eigen)
  target_include_directories(${target} SYSTEM INTERFACE ${FASTPP_STB_INCLUDE_DIR})
  if(FASTPP_HAVE_OPENBLAS)
    # Eigen's float/double GEMM goes to OpenBLAS (about 1.8x Eigen's own on this machine).
    target_compile_definitions(${target} INTERFACE EIGEN_USE_BLAS FASTPP_HAVE_OPENBLAS=1)
    target_link_libraries(${target} INTERFACE ${FASTPP_OPENBLAS_LIBRARY})
  endif()
endfunction()
