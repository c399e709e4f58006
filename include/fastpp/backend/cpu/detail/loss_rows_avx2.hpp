#pragma once
// loss_rows.hpp's row operations for float rows on AVX2 + FMA hosts: the same formulas, 8 values per
// instruction (the portable backwards are 4x slower at 1000 classes). Built with __attribute__((target)),
// so a binary for baseline x86-64 carries them; loss_blocks.hpp calls them only where the CPU has AVX2
// and FMA. A row of n >= 8 is walked in whole vectors, the last one starting at n - 8 and overlapping the
// one before: maxima and stores do not mind, sums leave the overlapping lanes out, and the in-place
// `affine` computes that last vector before the others overwrite its first lanes. Rows shorter than 8
// take the portable code (loss_blocks.hpp's with_row_ops).
#if defined(__x86_64__) || defined(__i386__)
#define FASTPP_LOSS_AVX2 1
#include <immintrin.h>

#include "loss_rows.hpp"

namespace fastpp::backend::cpu_detail {

// exp.hpp's exp takes GCC/Clang vectors (__m256 is one, with an attribute a template argument drops).
typedef float v8f __attribute__((vector_size(32)));

#define FASTPP_AVX2 __attribute__((target("avx2,fma"), always_inline)) inline

namespace avx2 {
// Lanes of the last, overlapping vector of a row that the vector before already covered.
FASTPP_AVX2 __m256 overlap_mask(std::int64_t n) {
  const int skip = n % 8 == 0 ? 0 : 8 - static_cast<int>(n % 8);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(skip), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}
FASTPP_AVX2 float hmax(__m256 v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}
// Pairwise, in a fixed order: the same bits on every run.
FASTPP_AVX2 float hsum(__m256 v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}
// d = x[j..j+8) - m; exp(d) stored to e (when not null) and added to s, d added to sd (when asked),
// both without the lanes in `dup`.
FASTPP_AVX2 void exp_step(const float* x, std::int64_t j, __m256 vm, float* e, __m256& s, bool want_shifted,
                          __m256& sd, __m256 dup) {
  const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), vm);
  v8f v = d;
  exp_nonpos(v);
  if (e) _mm256_storeu_ps(e + j, v);
  s = _mm256_add_ps(s, _mm256_andnot_ps(dup, v));
  if (want_shifted) sd = _mm256_add_ps(sd, _mm256_andnot_ps(dup, d));
}
// One vector of a backward's row sum added to acc: dy * y (softmax, fused) or dy (log_softmax).
template <bool Log>
FASTPP_AVX2 __m256 backward_add(const float* y, const float* dy, std::int64_t j, __m256 acc) {
  if constexpr (Log) return _mm256_add_ps(acc, _mm256_loadu_ps(dy + j));
  else return _mm256_fmadd_ps(_mm256_loadu_ps(dy + j), _mm256_loadu_ps(y + j), acc);
}
// dx[j..j+8) from the row sum s: y (dy - s), or dy - exp(y) s for log_softmax.
template <bool Log>
FASTPP_AVX2 void backward_step(const float* y, const float* dy, std::int64_t j, __m256 s, float* dx) {
  if constexpr (Log) {
    v8f p = _mm256_loadu_ps(y + j);
    exp_nonpos(p);
    _mm256_storeu_ps(dx + j, _mm256_fnmadd_ps(p, s, _mm256_loadu_ps(dy + j)));
  } else {
    _mm256_storeu_ps(dx + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), _mm256_sub_ps(_mm256_loadu_ps(dy + j), s)));
  }
}
}  // namespace avx2

// log_softmax's (x - m) - log_s is Portable's: the compiler vectorizes that loop itself, to the same bits.
struct Avx2 : Portable {
  __attribute__((target("avx2,fma"))) static float row_max(const float* x, std::int64_t n) {
    // four independent maxima hide the instruction's latency on long rows
    __m256 m0 = _mm256_loadu_ps(x), m1 = m0, m2 = m0, m3 = m0;
    std::int64_t j = 8;
    for (; j + 32 <= n; j += 32) {
      m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
      m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + j + 8));
      m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + j + 16));
      m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + j + 24));
    }
    for (; j + 8 <= n; j += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + n - 8));
    return avx2::hmax(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  }

  __attribute__((target("avx2,fma"))) static void exp_sums(const float* x, std::int64_t n, float* e,
                                                           bool want_shifted, RowStats<float>& st) {
    const __m256 vm = _mm256_set1_ps(st.max), none = _mm256_setzero_ps();
    __m256 s0 = none, s1 = none, sd = none;  // two sums: consecutive vectors do not wait for each other
    std::int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
      avx2::exp_step(x, j, vm, e, s0, want_shifted, sd, none);
      avx2::exp_step(x, j + 8, vm, e, s1, want_shifted, sd, none);
    }
    for (; j + 8 <= n; j += 8) avx2::exp_step(x, j, vm, e, s0, want_shifted, sd, none);
    if (j < n) avx2::exp_step(x, n - 8, vm, e, s1, want_shifted, sd, avx2::overlap_mask(n));
    st.sum_exp = avx2::hsum(_mm256_add_ps(s0, s1));
    st.sum_shifted = want_shifted ? avx2::hsum(sd) : 0.0f;
  }

  __attribute__((target("avx2,fma"))) static void affine(float* y, std::int64_t n, float scale, float offset) {
    const __m256 a = _mm256_set1_ps(scale), b = _mm256_set1_ps(offset);
    const __m256 last = _mm256_fmadd_ps(_mm256_loadu_ps(y + n - 8), a, b);  // before the loop changes its lanes
    for (std::int64_t j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(_mm256_loadu_ps(y + j), a, b));
    _mm256_storeu_ps(y + n - 8, last);
  }

  // Portable::backward's two formulas: the row sum in four vectors (one would wait on the instruction
  // before it at every vector), then dx.
  template <bool Log>
  __attribute__((target("avx2,fma"))) static void backward(const float* y, const float* dy, std::int64_t n, float* dx) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    std::int64_t j = 0;
    for (; j + 32 <= n; j += 32)
      for (int k = 0; k < 4; ++k) acc[k] = avx2::backward_add<Log>(y, dy, j + 8 * k, acc[k]);
    for (; j + 8 <= n; j += 8) acc[0] = avx2::backward_add<Log>(y, dy, j, acc[0]);
    if (j < n) {
      __m256 last = _mm256_loadu_ps(dy + n - 8);
      if constexpr (!Log) last = _mm256_mul_ps(last, _mm256_loadu_ps(y + n - 8));
      acc[0] = _mm256_add_ps(acc[0], _mm256_andnot_ps(avx2::overlap_mask(n), last));
    }
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    const __m256 s = _mm256_set1_ps(avx2::hsum(sum));
    for (j = 0; j + 8 <= n; j += 8) avx2::backward_step<Log>(y, dy, j, s, dx);
    avx2::backward_step<Log>(y, dy, n - 8, s, dx);
  }
};

#undef FASTPP_AVX2

}  // namespace fastpp::backend::cpu_detail
#endif
