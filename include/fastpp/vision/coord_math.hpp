#pragma once
// The per-pixel math of the batch augmentation, written once for the CPU loop and a CUDA kernel (FASTPP_HD):
// 3x3 matrices in fastai's normalised coordinates, the perspective warp and the lighting formula in logit
// space. grid_sample's padding and sampling (align_corners=True) live with the sampler that runs them
// (backend/cpu/image_kernels.hpp) and are named here too.
//
// Conventions (as PyTorch's affine_grid/grid_sample with align_corners=True, which fastai uses):
//  * a point is (x, y) = (column, row); normalised coordinates run from -1 (first pixel centre) to +1
//    (last pixel centre): pixel p of an axis of n pixels is at -1 + 2p / (n - 1);
//  * a sampling map sends an OUTPUT position to the INPUT position whose value it takes.
#include <cmath>

#include "../backend/cpu/image_kernels.hpp"
#include "../core/host_device.hpp"
#include "types.hpp"

namespace fastpp {

// A 3x3 matrix acting on homogeneous points (x, y, 1). Row-major.
struct Mat3 {
  double m[3][3];
};

FASTPP_HD_INLINE constexpr Mat3 mat3_identity() { return Mat3{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}; }

FASTPP_HD_INLINE constexpr Mat3 mat3_affine(double a, double b, double c, double d, double e, double f) {
  return Mat3{{{a, b, c}, {d, e, f}, {0, 0, 1}}};
}

FASTPP_HD_INLINE constexpr Mat3 operator*(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r.m[i][j] = a.m[i][0] * b.m[0][j] + a.m[i][1] * b.m[1][j] + a.m[i][2] * b.m[2][j];
  return r;
}

// Applies a projective map to (x, y); `ok` is false where the homogeneous coordinate is exactly 0.
FASTPP_HD_INLINE void mat3_apply(const Mat3& p, double x, double y, double& ox, double& oy, bool& ok) {
  const double X = p.m[0][0] * x + p.m[0][1] * y + p.m[0][2];
  const double Y = p.m[1][0] * x + p.m[1][1] * y + p.m[1][2];
  const double W = p.m[2][0] * x + p.m[2][1] * y + p.m[2][2];
  ok = W != 0.0;
  ox = ok ? X / W : X;
  oy = ok ? Y / W : Y;
}

// ---- fastai's matrix generators, one image's draw each ----------------------------------------------
// Horizontal flip: s = -1 flips, +1 keeps.
FASTPP_HD_INLINE constexpr Mat3 flip_matrix(double s) { return mat3_affine(s, 0, 0, 0, 1, 0); }

// One of the 8 symmetries of the square (fastai's dihedral_mat, k in 0..7; 0 is the identity).
FASTPP_HD_INLINE constexpr Mat3 dihedral_matrix(int k) {
  constexpr double xs[8] = {1, -1, 1, -1, -1, 1, 1, -1};
  constexpr double ys[8] = {1, 1, -1, 1, -1, -1, 1, -1};
  constexpr double m0[8] = {1, 1, 1, 0, 1, 0, 0, 0};
  constexpr double m1[8] = {0, 0, 0, 1, 0, 1, 1, 1};
  return mat3_affine(xs[k] * m0[k], xs[k] * m1[k], 0, ys[k] * m1[k], ys[k] * m0[k], 0);
}

// Rotation by `degrees` (fastai's rotate_mat: [[cos, sin], [-sin, cos]]).
FASTPP_HD_INLINE Mat3 rotate_matrix(double degrees) {
  const double t = degrees * 3.14159265358979323846 / 180.0;
  const double c = std::cos(t), s = std::sin(t);
  return mat3_affine(c, s, 0, -s, c, 0);
}

// Zoom by `zoom` (> 1 magnifies) around the centre fractions (cx, cy) in [0, 1] (fastai's zoom_mat).
FASTPP_HD_INLINE constexpr Mat3 zoom_matrix(double zoom, double cx, double cy) {
  const double s = 1.0 / zoom;
  return mat3_affine(s, 0, (1 - s) * (2 * cx - 1), 0, s, (1 - s) * (2 * cy - 1));
}

// fastai's aspect correction of the composed affine matrix, for an input of h x w pixels (_prepare_mat).
FASTPP_HD_INLINE constexpr Mat3 aspect_corrected(Mat3 m, double h, double w) {
  m.m[0][1] *= h / w;
  m.m[1][0] *= w / h;
  return m;
}

// The perspective warp of fastai's Warp: the homography H with H(target_i) = corner_i, where the corners
// (-1,-1), (-1,1), (1,-1), (1,1) move to (-1-yt, -1-xt), (-1+yt, 1+xt), (1+yt, -1+xt), (1-yt, 1-xt)
// (fastai's find_coeffs(orig, targ), solved here by Gaussian elimination with partial pivoting in double).
// `ok` is false when the system is singular (it is not for |xt|, |yt| < 1).
FASTPP_HD_INLINE Mat3 warp_homography(double xt, double yt, bool& ok) {
  const double orig[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
  const double targ[4][2] = {{-1 - yt, -1 - xt}, {-1 + yt, 1 + xt}, {1 + yt, -1 + xt}, {1 - yt, 1 - xt}};
  double a[8][9] = {};
  for (int i = 0; i < 4; ++i) {
    const double px = targ[i][0], py = targ[i][1], qx = orig[i][0], qy = orig[i][1];
    double* r0 = a[2 * i];
    double* r1 = a[2 * i + 1];
    r0[0] = px, r0[1] = py, r0[2] = 1, r0[6] = -qx * px, r0[7] = -qx * py, r0[8] = qx;
    r1[3] = px, r1[4] = py, r1[5] = 1, r1[6] = -qy * px, r1[7] = -qy * py, r1[8] = qy;
  }
  ok = true;
  for (int c = 0; c < 8; ++c) {
    int piv = c;
    for (int r = c + 1; r < 8; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
    if (std::fabs(a[piv][c]) < 1e-12) {
      ok = false;
      return mat3_identity();
    }
    if (piv != c)
      for (int k = 0; k < 9; ++k) {
        const double t = a[c][k];
        a[c][k] = a[piv][k];
        a[piv][k] = t;
      }
    for (int r = 0; r < 8; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      if (f == 0.0) continue;
      for (int k = c; k < 9; ++k) a[r][k] -= f * a[c][k];
    }
  }
  double h[8];
  for (int i = 0; i < 8; ++i) h[i] = a[i][8] / a[i][i];
  return Mat3{{{h[0], h[1], h[2]}, {h[3], h[4], h[5]}, {h[6], h[7], 1.0}}};
}

// Normalised coordinate <-> pixel index along an axis of n pixels (align_corners=True). An axis of one pixel
// maps everything to pixel 0 (PyTorch's linspace(-1, 1, 1) is [0]).
FASTPP_HD_INLINE constexpr Mat3 pixel_to_normalised(double h, double w) {
  const double sx = w > 1 ? 2.0 / (w - 1) : 0.0, sy = h > 1 ? 2.0 / (h - 1) : 0.0;
  return mat3_affine(sx, 0, w > 1 ? -1.0 : 0.0, 0, sy, h > 1 ? -1.0 : 0.0);
}
FASTPP_HD_INLINE constexpr Mat3 normalised_to_pixel(double h, double w) {
  return mat3_affine((w - 1) / 2, 0, (w - 1) / 2, 0, (h - 1) / 2, (h - 1) / 2);
}

// The sampling map and grid_sample's padding and bilinear/nearest sampling in pixel coordinates
// (align_corners=True) are the sampler's own: backend/cpu/image_kernels.hpp.
using CoordMap = backend::CoordMap;
using backend::clip_coordinate;
using backend::coord_map_apply;
using backend::pad_coordinate;
using backend::reflect_coordinate;
using backend::sample_hwc;

// The lighting formula in logit space (fastai's Brightness and Contrast, composed) is the backend's
// per-value map (backend/cpu/image_kernels.hpp).
using backend::lighting_pixel;
using backend::lighting_sigmoid;
using backend::logit_clamped;

}  // namespace fastpp
