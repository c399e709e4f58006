#pragma once
// FASTPP_KERNEL marks the cpu backend's kernels: plain inline functions that are never inlined into
// their callers. With fifty layer types in a ResNet, inlining the GEMM and loop bodies into every
// caller multiplied a model's compile time; one out-of-line copy per kernel costs nothing at run time.
// Internal to the cpu backend.
#include <cstdint>

#define FASTPP_KERNEL [[gnu::noinline]] inline

namespace fastpp::backend::cpu_detail {
using i64 = std::int64_t;
}
