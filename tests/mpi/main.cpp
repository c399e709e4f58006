// Catch2's runner inside one MPI session: every rank runs every test case in the same order, so their
// collectives match. The job fails when a check failed on any rank.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fastpp/distributed/mpi.hpp>

#include "mpi_session.hpp"

int main(int argc, char** argv) {
  fastpp::MpiSession session(argc, argv);
  fastpp::test::mpi_session = &session;
  const int failed = Catch::Session().run(argc, argv);
  int any = failed;
  MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any > 0 ? 1 : 0;
}
