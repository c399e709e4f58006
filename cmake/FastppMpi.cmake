# Optional MPI for data-parallel training on CPUs (Debian's openmpi-bin and libopenmpi-dev): defines the
# target fastpp::mpi, which carries fastpp::fastpp, links MPI::MPI_CXX (found by CMake's FindMPI) and
# defines FASTPP_HAVE_MPI=1, so a program may include fastpp/distributed/mpi.hpp. Nothing else in the
# library includes MPI: a program that does not link fastpp::mpi needs no MPI at all.
#   FASTPP_MPI = AUTO (default: use it if found) | ON (required) | OFF
# This file is also installed and included by the installed fastppConfig.cmake: there it finds MPI again on
# the consumer's machine (MPI::MPI_CXX, which the exported fastpp::mpi links), and the package offers
# fastpp::mpi (component "mpi") only where MPI is found.
include_guard(GLOBAL)
if(NOT TARGET fastpp OR NOT PROJECT_NAME STREQUAL "fastpp")  # installed: fastppMpiTargets.cmake comes next
  set(_fastpp_mpi_installed ON)
endif()
if(NOT DEFINED FASTPP_MPI)
  set(FASTPP_MPI AUTO CACHE STRING "Data-parallel training over MPI (fastpp::mpi): ON, OFF or AUTO")
  set_property(CACHE FASTPP_MPI PROPERTY STRINGS ON OFF AUTO)
endif()
set(FASTPP_HAVE_MPI OFF)
if(FASTPP_MPI STREQUAL "OFF" AND NOT _fastpp_mpi_installed)
  return()
endif()
find_package(MPI COMPONENTS CXX QUIET)
if(NOT MPI_CXX_FOUND)
  if(FASTPP_MPI STREQUAL "ON" AND NOT _fastpp_mpi_installed)
    message(FATAL_ERROR "FASTPP_MPI=ON but MPI was not found: install Debian's openmpi-bin and libopenmpi-dev")
  endif()
  message(STATUS "fastpp: MPI not found (Debian: openmpi-bin libopenmpi-dev); fastpp::mpi is not built")
  return()
endif()
set(FASTPP_HAVE_MPI ON)
if(_fastpp_mpi_installed)
  return()  # the exported targets file defines fastpp::mpi itself
endif()
add_library(fastpp_mpi INTERFACE)
add_library(fastpp::mpi ALIAS fastpp_mpi)
set_target_properties(fastpp_mpi PROPERTIES EXPORT_NAME mpi)
target_link_libraries(fastpp_mpi INTERFACE fastpp MPI::MPI_CXX)
target_compile_definitions(fastpp_mpi INTERFACE FASTPP_HAVE_MPI=1)
message(STATUS "fastpp: data-parallel training over MPI ${MPI_CXX_VERSION} via fastpp::mpi (${MPIEXEC_EXECUTABLE})")
