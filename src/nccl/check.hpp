#pragma once
// Every NCCL call in src/nccl goes through FASTPP_NCCL_CHECK, so a failure becomes a fastpp::Error that names
// the call as written, the file and line, the result's name and NCCL's message (ncclGetErrorString, and
// ncclGetLastError's text about the failed call where NCCL left one), as src/cuda/check.hpp does for CUDA:
//   FASTPP_NCCL_CHECK(ncclAllReduce(buf, buf, n, ncclFloat, ncclAvg, comm, stream));
#include <nccl.h>

#include <fastpp/core/error.hpp>
#include <string>

namespace fastpp::nccl_check {

// ncclResult_t's enumerator as written in nccl.h (NCCL has no name function, only a message).
inline const char* result_name(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "ncclSuccess";
    case ncclUnhandledCudaError: return "ncclUnhandledCudaError";
    case ncclSystemError: return "ncclSystemError";
    case ncclInternalError: return "ncclInternalError";
    case ncclInvalidArgument: return "ncclInvalidArgument";
    case ncclInvalidUsage: return "ncclInvalidUsage";
    case ncclRemoteError: return "ncclRemoteError";
    case ncclInProgress: return "ncclInProgress";
    default: return "ncclResult_t";
  }
}

[[noreturn]] inline void fail(ncclResult_t r, const char* call, const char* file, int line) {
  std::string message = ncclGetErrorString(r);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0)
  if (const char* last = ncclGetLastError(nullptr); last && *last) message += std::string("; ") + last;
#endif
  throw Error(std::string("NCCL call ") + call + " failed at " + file + ":" + std::to_string(line) + ": " +
              result_name(r) + " " + std::to_string(static_cast<int>(r)) + " (" + message + ")");
}
inline void nccl(ncclResult_t r, const char* call, const char* file, int line) {
  if (r != ncclSuccess) fail(r, call, file, line);
}

}  // namespace fastpp::nccl_check

#define FASTPP_NCCL_CHECK(call) ::fastpp::nccl_check::nccl((call), #call, __FILE__, __LINE__)
