# `cmake --install` puts the headers and a package config in place, so a consumer can
# find_package(fastpp CONFIG REQUIRED) and link fastpp::fastpp (and fastpp::cuda when it was built,
# fastpp::turbojpeg where libjpeg-turbo is found, fastpp::mpi where MPI is).
#
# Installing right after configuring (the README's sequence) must work: fastpp::fastpp is header-only and
# needs nothing built. fastpp::cuda is the one compiled library; where nvcc is found its target exists at
# configure time, but its archive only after `cmake --build <build> --target fastpp_cuda`. So it is
# installed OPTIONAL, in an export set of its own, and the package config offers fastpp::cuda only when its
# archive was installed (tests/consumer: "configure + install + find_package" checks the sequence).
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/fastpp" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS fastpp EXPORT fastppTargets)
set(FASTPP_EXPORTED_CUDA OFF)
set(FASTPP_CUDA_ARCHIVE "${CMAKE_STATIC_LIBRARY_PREFIX}fastpp_cuda${CMAKE_STATIC_LIBRARY_SUFFIX}")
if(TARGET fastpp_cuda)
  install(CODE "if(NOT EXISTS \"$<TARGET_FILE:fastpp_cuda>\")
  message(STATUS \"fastpp: fastpp::cuda was not built, so it is not installed (the headers and fastpp::fastpp \"
                 \"are); to install it too: cmake --build <build> --target fastpp_cuda, then install again\")
endif()")
  install(TARGETS fastpp_cuda EXPORT fastppCudaTargets ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" OPTIONAL)
  install(EXPORT fastppCudaTargets NAMESPACE fastpp:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
  # fastpp::cuda links CUDNN::cudnn: the package config finds cuDNN again with this module.
  install(FILES "${PROJECT_SOURCE_DIR}/cmake/FindCUDNN.cmake" DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
  set(FASTPP_EXPORTED_CUDA ON)
endif()
# fastpp::turbojpeg (header-only too, linking libjpeg-turbo) in an export set of its own, so the package
# offers it only where the consumer's machine has the library (cmake/FastppTurbojpeg.cmake finds it again).
set(FASTPP_EXPORTED_TURBOJPEG OFF)
if(TARGET fastpp_turbojpeg)
  install(TARGETS fastpp_turbojpeg EXPORT fastppTurbojpegTargets)
  install(EXPORT fastppTurbojpegTargets NAMESPACE fastpp:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
  set(FASTPP_EXPORTED_TURBOJPEG ON)
endif()
install(FILES "${PROJECT_SOURCE_DIR}/cmake/FastppTurbojpeg.cmake" DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
# fastpp::mpi likewise, offered where the consumer's machine has MPI (cmake/FastppMpi.cmake finds it again).
set(FASTPP_EXPORTED_MPI OFF)
if(TARGET fastpp_mpi)
  install(TARGETS fastpp_mpi EXPORT fastppMpiTargets)
  install(EXPORT fastppMpiTargets NAMESPACE fastpp:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
  set(FASTPP_EXPORTED_MPI ON)
endif()
install(FILES "${PROJECT_SOURCE_DIR}/cmake/FastppMpi.cmake" DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
install(EXPORT fastppTargets NAMESPACE fastpp:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
install(FILES "${PROJECT_SOURCE_DIR}/cmake/FastppDependencies.cmake" DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/fastppConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/fastppConfig.cmake" INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp"
  PATH_VARS CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/fastppConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/fastppConfig.cmake" "${PROJECT_BINARY_DIR}/fastppConfigVersion.cmake"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
