#pragma once
// The MPI session of the test program (main.cpp), for the test cases that make distributed learners.
#include <fastpp/distributed/mpi.hpp>

namespace fastpp::test {
inline fastpp::MpiSession* mpi_session = nullptr;
}  // namespace fastpp::test
