// Rank 1 throws in the middle of an epoch while rank 0 waits in the gradient all-reduce: the job must end
// with rank 1's error shown, not hang (tests/mpi/CMakeLists.txt runs it under mpirun with a timeout).
//   failing_rank            the exception leaves main: MpiSession's terminate handler aborts the job
//   failing_rank caught     run_distributed() catches it, prints it and aborts the job
//   failing_rank hang       rank 1 sleeps instead: rank 0's collective times out (FASTPP_MPI_TIMEOUT)
#include <fastpp/distributed/mpi.hpp>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "../learner/helpers.hpp"
#include "work_dir.hpp"

using namespace fastpp;

namespace {
using PlainNet = nn::Sequential<nn::Conv2d<3, 4, nn::ConvOpts{.kernel = 3, .stride = 2, .padding = 1}>, nn::ReLU,
                                nn::AdaptiveAvgPool2d<1>, nn::Flatten, nn::Linear<4, nn::dyn>>;

int train(const MpiSession& mpi, bool hang) {
  test::WorkDir dir("failing_rank");  // each rank its own copy of the data: nothing shared needed
  test::write_colour_dataset(dir / "data", 8, 2);
  auto learn = make_learner(test::colour_dls(dir / "data", 2), PlainNet(nn::Build{Rng(0), 3}), {},
                            test::quiet_in(dir.path()));
  distributed(learn, mpi);
  auto fail = std::make_shared<test::LambdaCallback>();
  fail->on_before_batch = [&](LearnerBase& l) {
    if (mpi.rank() == 1 && l.state.training && l.state.iter == 3) {
      if (hang) std::this_thread::sleep_for(std::chrono::seconds(600));
      throw ValueError(detail::msg("injected failure at batch ", l.state.iter));
    }
  };
  learn.add_cb(fail);
  learn.fit(2, 1e-2);
  std::cout << "rank " << mpi.rank() << ": all ranks finished" << std::endl;
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "caught") return run_distributed([&] { return train(mpi, false); });
  return train(mpi, mode == "hang");
}
