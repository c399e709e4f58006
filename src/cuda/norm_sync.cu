// Synchronised batch normalisation (PyTorch's SyncBatchNorm) over x[rows, c] for fastpp::cuda (declared in
// backend/cuda/layers.hpp), with the cpu's contracts (backend/cpu/detail/norm_sync.hpp): the kernels around
// the two sums over processes that nn/norm.hpp makes (ProcessSum::sum_device, so an NCCL run all-reduces the
// sums where they are, on the GPU). The sums are device doubles throughout.
//
// Design: norm.cu's (norm_tiles.hpp). The per-channel sums are the same two-stage reduction, stage 1 over
// chunks of rows with the channels across a warp's lanes, stage 2 adding a channel's partials in a fixed
// order (no atomics: the same sums on every run). Unlike the local forward, the sums of x and x^2 are not
// shifted: every process's sums are added before the mean is known, and a shift would have to be the same on
// every process; in double, E[x^2] - E[x]^2 loses (mean^2 / var) units of 2^-53, nothing in float's terms for
// a BatchNorm's inputs. The per-channel results (invstd, the running update, the affine and dx formulas) are
// backend/batchnorm_channel.hpp's, as the cpu's. Scratch comes from the caching allocator and goes back once
// the kernels are queued (the allocator's next user of the block queues after them on the same stream).
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>
#include <fastpp/backend/batchnorm_channel.hpp>
#include <fastpp/backend/cuda/layers.hpp>

#include "check.hpp"
#include "launch.hpp"
#include "norm_tiles.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

// Stage 2 of the sums: channel j's totals to out[j] and out[c + j]; with count >= 0, out[2c] = count.
// raw sums: (sum x, sum x^2); grad sums: (sum dy, sum dy * xhat), which are also added to dbeta and dgamma
// (when not null). Launched with at least one block, so out[2c] is written when c is 0 too.
__global__ void __launch_bounds__(finish_lanes * finish_rows)
    finish_sums(const double* p1, const double* p2, i64 chunks, i64 c, double count, double* out, float* dgamma,
                float* dbeta) {
  const i64 j = static_cast<i64>(blockIdx.x) * finish_lanes + threadIdx.x;
  double t1, t2;
  channel_totals(p1, p2, chunks, c, j, t1, t2);
  if (threadIdx.y != 0) return;
  if (count >= 0.0 && blockIdx.x == 0 && threadIdx.x == 0) out[2 * c] = count;
  if (j >= c) return;
  out[j] = t1;
  out[c + j] = t2;
  if (dgamma) dgamma[j] += static_cast<float>(t2);
  if (dbeta) dbeta[j] += static_cast<float>(t1);
}

// The global statistics from the summed sums: mean, invstd and the running update (the unbiased variance
// over the global count), per channel.
__global__ void sync_stats(const double* sums, i64 c, float momentum, float eps, float* running_mean,
                           float* running_var, float* mean_out, float* invstd) {
  const double n = sums[2 * c];
  for (i64 j = cuda_launch::first_index(); j < c; j += cuda_launch::grid_step()) {
    const double m = sums[j] / n;
    double var = sums[c + j] / n - m * m;
    var = var > 0.0 ? var : 0.0;  // rounding may leave a constant channel's variance a hair below zero
    mean_out[j] = static_cast<float>(m);
    invstd[j] = backend::batchnorm_invstd(var, eps);
    backend::batchnorm_running_update(m, var, static_cast<std::int64_t>(n), momentum, running_mean[j],
                                      running_var[j]);
  }
}

// dx's coefficients from the global sums over n rows: a = gamma * invstd, mb = sum dy / n, mh = sum dy*xhat / n.
__global__ void sync_grad_coeffs(const double* sums, i64 c, double n, const float* gamma, const float* invstd,
                                 float* a, float* mb, float* mh) {
  for (i64 j = cuda_launch::first_index(); j < c; j += cuda_launch::grid_step()) {
    const backend::BatchNormGradCoeffs k = backend::batchnorm_grad_coeffs(
        sums[j], sums[c + j], static_cast<std::int64_t>(n), gamma[j], invstd[j], false);
    a[j] = k.a;
    mb[j] = k.mb;
    mh[j] = k.mh;
  }
}

unsigned finish_blocks_for(i64 c) {
  const i64 b = (c + finish_lanes - 1) / finish_lanes;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// Stage 1 (S's sums of a, b over rows) and stage 2 into out; count < 0 leaves out[2c] alone. a and b are
// stored as T (float, or half or bfloat16 for mixed_layer_kernels) and read as float.
template <Sums S, class T>
void channel_sums(const T* a, const std::type_identity_t<T>* b, i64 rows, i64 c, double count, double* out,
                  float* dgamma, float* dbeta) {
  const Tile t = tile_for(c);
  const cudaStream_t s = cuda_runtime::stream();
  const Chunks ch = c > 0 ? chunks_for(rows, t) : Chunks{0, 0};
  Scratch scratch(ch.count, c, 0);
  if (ch.count > 0) {
    channel_partials<S><<<dim3(static_cast<unsigned>(t.tiles), static_cast<unsigned>(ch.count)), block_threads, 0,
                          s>>>(a, b, rows, c, t.cw, ch.rows, scratch.p1, scratch.p2);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
  finish_sums<<<finish_blocks_for(c), dim3(finish_lanes, finish_rows), 0, s>>>(
      scratch.p1, scratch.p2, ch.count, c, count, out, dgamma, dbeta);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

// The entries over T = float, or half or bfloat16 (cuda_kernels::mixed): the same double sums and float
// coefficients, activations stored as T.
template <class T>
void batchnorm_sync_sums_impl(const T* x, i64 rows, i64 c, double* sums) {
  check_shape(rows, c, "cuda batchnorm_sync_sums");
  channel_sums<Sums::raw_moments>(x, nullptr, rows, c, static_cast<double>(rows), sums, nullptr, nullptr);
}

template <class T>
void batchnorm_sync_forward_impl(const T* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                                 const float* gamma, const float* beta, float* running_mean, float* running_var, T* y,
                                 T* xhat, float* invstd) {
  check_shape(rows, c, "cuda batchnorm_sync_forward");
  if (c == 0) return;
  const Tile t = tile_for(c);
  const cudaStream_t s = cuda_runtime::stream();
  Scratch scratch(0, c, 1);
  sync_stats<<<cuda_launch::blocks_for(c, cuda_launch::threads), cuda_launch::threads, 0, s>>>(
      sums, c, momentum, eps, running_mean, running_var, scratch.f, invstd);
  FASTPP_CUDA_CHECK(cudaGetLastError());
  if (rows > 0) {
    affine_rows<<<element_grid(rows, t), block_threads, 0, s>>>(x, rows, c, t.cw, scratch.f, invstd, gamma, beta, y,
                                                                xhat);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
}

template <class T>
void batchnorm_sync_grad_sums_impl(const T* xhat, const T* dy, i64 rows, i64 c, double* sums, float* dgamma,
                                   float* dbeta) {
  check_shape(rows, c, "cuda batchnorm_sync_grad_sums");
  if (c == 0) return;
  channel_sums<Sums::grad>(xhat, dy, rows, c, -1.0, sums, dgamma, dbeta);
}

template <class T>
void batchnorm_sync_backward_dx_impl(const T* xhat, const T* dy, i64 rows, i64 c, const float* gamma,
                                     const float* invstd, const double* sums, double n, T* dx) {
  check_shape(rows, c, "cuda batchnorm_sync_backward_dx");
  if (c == 0 || rows == 0) return;
  const Tile t = tile_for(c);
  const cudaStream_t s = cuda_runtime::stream();
  Scratch scratch(0, c, 3);
  float* a = scratch.f;
  float* mb = scratch.f + c;
  float* mh = scratch.f + 2 * c;
  sync_grad_coeffs<<<cuda_launch::blocks_for(c, cuda_launch::threads), cuda_launch::threads, 0, s>>>(
      sums, c, n, gamma, invstd, a, mb, mh);
  FASTPP_CUDA_CHECK(cudaGetLastError());
  dx_rows<<<element_grid(rows, t), block_threads, 0, s>>>(xhat, dy, rows, c, t.cw, a, mb, mh, dx);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void batchnorm_sync_sums(const float* x, i64 rows, i64 c, double* sums) {
  batchnorm_sync_sums_impl(x, rows, c, sums);
}
void batchnorm_sync_forward(const float* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                            const float* gamma, const float* beta, float* running_mean, float* running_var, float* y,
                            float* xhat, float* invstd) {
  batchnorm_sync_forward_impl(x, rows, c, sums, momentum, eps, gamma, beta, running_mean, running_var, y, xhat,
                              invstd);
}
void batchnorm_sync_grad_sums(const float* xhat, const float* dy, i64 rows, i64 c, double* sums, float* dgamma,
                              float* dbeta) {
  batchnorm_sync_grad_sums_impl(xhat, dy, rows, c, sums, dgamma, dbeta);
}
void batchnorm_sync_backward_dx(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma,
                                const float* invstd, const double* sums, double n, float* dx) {
  batchnorm_sync_backward_dx_impl(xhat, dy, rows, c, gamma, invstd, sums, n, dx);
}

namespace mixed {

template <class A>
void batchnorm_sync_sums(const A* x, i64 rows, i64 c, double* sums) {
  batchnorm_sync_sums_impl(x, rows, c, sums);
}
template <class A>
void batchnorm_sync_forward(const A* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                            const float* gamma, const float* beta, float* running_mean, float* running_var, A* y,
                            A* xhat, float* invstd) {
  batchnorm_sync_forward_impl(x, rows, c, sums, momentum, eps, gamma, beta, running_mean, running_var, y, xhat,
                              invstd);
}
template <class A>
void batchnorm_sync_grad_sums(const A* xhat, const A* dy, i64 rows, i64 c, double* sums, float* dgamma,
                              float* dbeta) {
  batchnorm_sync_grad_sums_impl(xhat, dy, rows, c, sums, dgamma, dbeta);
}
template <class A>
void batchnorm_sync_backward_dx(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma,
                                const float* invstd, const double* sums, double n, A* dx) {
  batchnorm_sync_backward_dx_impl(xhat, dy, rows, c, gamma, invstd, sums, n, dx);
}

#define FASTPP_NORM_SYNC_INSTANTIATE(A)                                                                          \
  template void batchnorm_sync_sums(const A*, i64, i64, double*);                                                \
  template void batchnorm_sync_forward(const A*, i64, i64, const double*, float, float, const float*,           \
                                       const float*, float*, float*, A*, A*, float*);                           \
  template void batchnorm_sync_grad_sums(const A*, const A*, i64, i64, double*, float*, float*);                 \
  template void batchnorm_sync_backward_dx(const A*, const A*, i64, i64, const float*, const float*,             \
                                           const double*, double, A*);
FASTPP_NORM_SYNC_INSTANTIATE(half)
FASTPP_NORM_SYNC_INSTANTIATE(bfloat16)
#undef FASTPP_NORM_SYNC_INSTANTIATE

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
