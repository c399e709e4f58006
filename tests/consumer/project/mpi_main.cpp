// A user's data-parallel program, built only: fastpp::mpi carries MPI's include folder, its libraries and
// FASTPP_HAVE_MPI, so fastpp/distributed/mpi.hpp compiles and links (it is not run: no mpirun here).
#include <fastpp/distributed/mpi.hpp>
#include <fastpp/fastpp.hpp>

int main(int argc, char** argv) {
  if (argc > 1) {  // never taken by the consumer tests, which only build this program
    fastpp::MpiSession mpi(argc, argv);
    return mpi.rank() == 0 ? 0 : 1;
  }
  return 0;
}
