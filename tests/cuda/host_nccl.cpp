// fastpp::nccl's glue that needs no GPU: FASTPP_NCCL_CHECK (src/nccl/check.hpp) names the failed call as
// written, this file and line, the result's name and NCCL's message; NcclGroup refuses a rank outside its world
// before touching a device. ncclCommCount on a null communicator fails the same way with or without a GPU.
#include <catch2/catch.hpp>
#include <fastpp/distributed/nccl.hpp>
#include <string>

#include "nccl/check.hpp"

namespace {
std::string nccl_failure_of(void (*f)()) {
  try {
    f();
  } catch (const fastpp::Error& e) {
    return e.what();
  }
  return "no error";
}
int null_comm_line = 0;
}  // namespace

TEST_CASE("a failed NCCL call names the call, file, line and result", "[nccl_host]") {
  const std::string what = nccl_failure_of([] {
    int count = -1;
    null_comm_line = __LINE__ + 1;
    FASTPP_NCCL_CHECK(ncclCommCount(nullptr, &count));
  });
  INFO(what);
  CHECK_THAT(what, Catch::StartsWith("NCCL call ncclCommCount(nullptr, &count) failed at "));
  CHECK_THAT(what, Catch::Contains("host_nccl.cpp:" + std::to_string(null_comm_line) + ": ncclInvalidArgument " +
                                   std::to_string(static_cast<int>(ncclInvalidArgument)) + " (" +
                                   ncclGetErrorString(ncclInvalidArgument)));
}

TEST_CASE("a successful NCCL call passes quietly", "[nccl_host]") {
  CHECK_NOTHROW(FASTPP_NCCL_CHECK(ncclSuccess));
  int version = 0;
  REQUIRE_NOTHROW(FASTPP_NCCL_CHECK(ncclGetVersion(&version)));
  CHECK(version == NCCL_VERSION_CODE);  // the library loaded is the header's
}

TEST_CASE("NCCL results are named as nccl.h writes them", "[nccl_host]") {
  using fastpp::nccl_check::result_name;
  CHECK(std::string(result_name(ncclUnhandledCudaError)) == "ncclUnhandledCudaError");
  CHECK(std::string(result_name(ncclSystemError)) == "ncclSystemError");
  CHECK(std::string(result_name(ncclInternalError)) == "ncclInternalError");
  CHECK(std::string(result_name(ncclInvalidArgument)) == "ncclInvalidArgument");
  CHECK(std::string(result_name(ncclInvalidUsage)) == "ncclInvalidUsage");
  CHECK(std::string(result_name(ncclRemoteError)) == "ncclRemoteError");
  CHECK(std::string(result_name(ncclInProgress)) == "ncclInProgress");
  CHECK_THAT(nccl_failure_of([] { FASTPP_NCCL_CHECK(ncclSystemError); }),
             Catch::Contains(": ncclSystemError 2 ("));
}

TEST_CASE("an NcclGroup refuses ranks outside its world before any device call", "[nccl_host]") {
  const fastpp::NcclId id;
  CHECK_THROWS_WITH(fastpp::NcclGroup(id, 2, 2), Catch::Contains("rank 2 is outside 0..1"));
  CHECK_THROWS_WITH(fastpp::NcclGroup(id, -1, 2), Catch::Contains("rank -1 is outside 0..1"));
  CHECK_THROWS_WITH(fastpp::NcclGroup(id, 0, 0), Catch::Contains("must be 1 or more, got 0"));
  CHECK_THROWS_WITH(fastpp::NcclGroup(id, 0, 1, -2), Catch::Contains("device must be a GPU's index or -1"));
}
