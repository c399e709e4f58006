#pragma once
// Inside fastpp::cuda: the current stream as cudaStream_t, for kernel launches and library calls.
//   kernel<<<blocks, threads, 0, fastpp::cuda_runtime::stream()>>>(...);
#include <cuda_runtime.h>

#include <fastpp/backend/cuda/stream.hpp>

namespace fastpp::cuda_runtime {

inline cudaStream_t to_cuda(StreamHandle* s) { return reinterpret_cast<cudaStream_t>(s); }
inline cudaStream_t stream() { return to_cuda(current_stream()); }

}  // namespace fastpp::cuda_runtime
