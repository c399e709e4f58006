# `cmake --install` puts the headers and a package config in place, so a consumer can
# find_package(fastpp CONFIG REQUIRED) and link fastpp::fastpp (and fastpp::cuda when it was built).
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/fastpp" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS fastpp EXPORT fastppTargets)
set(FASTPP_EXPORTED_CUDA OFF)
if(TARGET fastpp_cuda)
  install(TARGETS fastpp_cuda EXPORT fastppTargets ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  set(FASTPP_EXPORTED_CUDA ON)
endif()
install(EXPORT fastppTargets NAMESPACE fastpp:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
install(FILES "${PROJECT_SOURCE_DIR}/cmake/FastppDependencies.cmake" DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/fastppConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/fastppConfig.cmake" INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/fastppConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/fastppConfig.cmake" "${PROJECT_BINARY_DIR}/fastppConfigVersion.cmake"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
