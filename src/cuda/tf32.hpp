#pragma once
// Inside fastpp::cuda: whether float matrix products and convolutions may use TF32 tensor cores (inputs
// rounded to 10 mantissa bits, sums in float; about 1e-3 relative error against float's 1e-7).
//
// fastpp follows PyTorch's defaults: matrix products (Linear, through cuBLAS) in full float
// (torch.backends.cuda.matmul.allow_tf32 = False), convolutions (cuDNN) with TF32 allowed
// (torch.backends.cudnn.allow_tf32 = True); TF32 needs Ampere or later, elsewhere both are plain float.
// FASTPP_CUDA_TF32 overrides both: 1 (or true/yes/on) allows TF32 everywhere, 0 (false/no/off) nowhere.
// Read at every call (getenv is cheap beside a GEMM); a convolution plan made under the other setting is
// remade (conv.cu).
#include <fastpp/core/env.hpp>

namespace fastpp::cuda_runtime {

inline bool matmul_tf32() { return detail::env_switch("FASTPP_CUDA_TF32").value_or(false); }
inline bool conv_tf32() { return detail::env_switch("FASTPP_CUDA_TF32").value_or(true); }

}  // namespace fastpp::cuda_runtime
