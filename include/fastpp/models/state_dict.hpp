#pragma once
// State dicts with PyTorch's names and layouts: every parameter and buffer of a model by its torchvision
// name, convolution weights converted between fastpp's OHWI and PyTorch's OIHW, num_batches_tracked as
// an int64 scalar. Saved and loaded as .safetensors, so weights move between fastpp and PyTorch.
// Works for a model on any device: values travel through host copies.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "../io/safetensors.hpp"
#include "../nn/layer.hpp"

namespace fastpp::models {

using nn::BufferRefOn;
using nn::ParamLayout;
using nn::ParamOn;
using nn::require;

namespace detail {
// [O, H, W, I] <-> [O, I, H, W]
inline void ohwi_to_oihw(const float* src, const Shape& ohwi, float* dst) {
  const std::int64_t o = ohwi[0], h = ohwi[1], w = ohwi[2], in = ohwi[3];
  for (std::int64_t a = 0; a < o; ++a)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        for (std::int64_t c = 0; c < in; ++c) dst[((a * in + c) * h + y) * w + x] = src[((a * h + y) * w + x) * in + c];
}
inline std::vector<std::int64_t> torch_shape(const Shape& s, ParamLayout layout) {
  if (layout == ParamLayout::conv_ohwi) return {s[0], s[3], s[1], s[2]};
  std::vector<std::int64_t> v;
  for (int i = 0; i < s.rank(); ++i) v.push_back(s[i]);
  return v;
}
inline std::string shape_text(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) { if (i) s += ", "; s += std::to_string(v[i]); }
  return s + "]";
}
// f(name, ParamOn<D>* or null, BufferRefOn<D>) for every parameter, then every buffer.
template <class M, class F>
void visit_state(M& model, F&& f) {
  using D = typename M::device_type;
  model.for_each_param([&](const std::string& name, ParamOn<D>& p) { f(name, &p, BufferRefOn<D>{}); });
  nn::visit_buffers(model, [&](const std::string& name, BufferRefOn<D> b) { f(name, nullptr, b); }, std::string{});
}
template <class D>
std::vector<float> host_copy(const Tensor<float, D>& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  copy_bytes<cpu, D>(v.data(), t.data(), t.nbytes());
  return v;
}
}  // namespace detail

// Every parameter and buffer of `model`, by name, in PyTorch's layout (float32, int64 counters).
template <class M>
io::SafeTensors state_dict(M& model, io::StDtype dtype = io::StDtype::F32) {
  io::SafeTensors st;
  using D = typename M::device_type;
  detail::visit_state(model, [&](const std::string& name, ParamOn<D>* p, BufferRefOn<D> b) {
    if (p || b.f32) {
      const Tensor<float, D>& t = p ? p->value : *b.f32;
      const ParamLayout layout = p ? p->layout : ParamLayout::plain;
      std::vector<float> host = detail::host_copy(t);
      if (layout == ParamLayout::conv_ohwi) {
        std::vector<float> tmp(host.size());
        detail::ohwi_to_oihw(host.data(), t.shape(), tmp.data());
        host.swap(tmp);
      }
      st.tensors[name] = io::StTensor::from_floats(host.data(), detail::torch_shape(t.shape(), layout), dtype);
    } else if (b.count) {
      st.tensors[name] = io::StTensor::scalar_i64(*b.count);
    }
  });
  return st;
}

struct LoadOptions {
  bool strict = true;  // every model key must be in the file and every file key in the model
  // Maps a name in the file to a name in the model ("" drops it), e.g. torchvision names to fastai's.
  std::function<std::string(const std::string&)> rename;
  // NaN or infinite values are refused (the error counts them and names their tensors) unless this is set:
  // weights that diverged are almost never what a caller means to load.
  bool allow_non_finite = false;
};

// What load_state_dict matched; in non-strict mode the caller may inspect what was left out.
struct LoadReport {
  std::vector<std::string> loaded, missing, unexpected;
  std::vector<std::string> non_finite{};  // tensors holding NaN or Inf (loaded only with allow_non_finite)
};

namespace detail {
inline bool st_is_float(io::StDtype d) { return d != io::StDtype::I64; }
}  // namespace detail

// Loads values by name, all or nothing: the whole file is checked against the model first (every name,
// shape, dtype and byte count, strict mode's missing and unexpected keys, NaN and Inf), and only then is
// anything copied, so a refused load leaves the model exactly as it was.
//  * a shape mismatch is a ShapeError naming the key and both shapes;
//  * F16, BF16, F64 and F32 convert to float; integer data (I64) for a float parameter or buffer is a
//    ValueError naming the tensor and the dtype (only num_batches_tracked counters take integers);
//  * strict mode: a ValueError listing missing and unexpected keys by name;
//  * NaN or Inf values: a ValueError with their count and tensors, unless opt.allow_non_finite (then
//    LoadReport::non_finite names the tensors).
template <class M>
LoadReport load_state_dict(M& model, const io::SafeTensors& st, const LoadOptions& opt = {}) {
  LoadReport r;
  std::map<std::string, const io::StTensor*> by_name;
  for (const auto& [k, t] : st.tensors) {
    const std::string name = opt.rename ? opt.rename(k) : k;
    if (name.empty()) continue;
    by_name[name] = &t;
  }
  std::set<std::string> used;
  std::vector<std::pair<std::string, std::int64_t>> non_finite;  // tensor, count
  std::int64_t non_finite_total = 0;
  using D = typename M::device_type;

  // 1. Check everything; nothing in the model changes.
  detail::visit_state(model, [&](const std::string& name, ParamOn<D>* p, BufferRefOn<D> b) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      r.missing.push_back(name);
      return;
    }
    used.insert(name);
    const io::StTensor& t = *it->second;
    require<ValueError>(t.numel() >= 0 && t.bytes.size() == static_cast<std::size_t>(t.numel()) * io::st_dtype_size(t.dtype),
                        "load_state_dict: \"", name, "\" holds ", t.bytes.size(), " bytes, but its shape ", t.shape_str(),
                        " and dtype ", io::st_dtype_name(t.dtype), " need ",
                        static_cast<std::size_t>(t.numel()) * io::st_dtype_size(t.dtype));
    std::vector<std::int64_t> want;
    if (p) want = detail::torch_shape(p->value.shape(), p->layout);
    else if (b.f32) want = detail::torch_shape(b.f32->shape(), ParamLayout::plain);
    const bool scalar_ok = b.count && t.numel() == 1 && t.shape.size() <= 1;
    require<ShapeError>(b.count ? scalar_ok : t.shape == want, "load_state_dict: \"", name, "\" has shape ",
                      t.shape_str(), " in the file but ", b.count ? std::string("[]") : detail::shape_text(want),
                      " in the model");
    if (b.count) return;
    require<ValueError>(detail::st_is_float(t.dtype), "load_state_dict: \"", name, "\" holds integer data (",
                        io::st_dtype_name(t.dtype), ") in the file, but it is a float32 ",
                        p ? "parameter" : "buffer", " in the model: refused rather than converted (was the wrong tensor saved under this name?)");
    std::int64_t bad = 0;
    // As float: an F64 value beyond float's range would load as infinity.
    for (std::int64_t i = 0; i < t.numel(); ++i) bad += std::isfinite(static_cast<float>(t.at(i))) ? 0 : 1;
    if (bad) non_finite.emplace_back(name, bad), non_finite_total += bad;
  });
  for (const auto& [name, t] : by_name)
    if (!used.count(name)) r.unexpected.push_back(name);
  if (opt.strict && (!r.missing.empty() || !r.unexpected.empty())) {
    std::string m = "load_state_dict (strict):";
    if (!r.missing.empty()) {
      m += " missing keys:";
      for (const auto& k : r.missing) m.append(" ").append(k);
      m += ";";
    }
    if (!r.unexpected.empty()) {
      m += " unexpected keys:";
      for (const auto& k : r.unexpected) m.append(" ").append(k);
    }
    throw ValueError(m + " (nothing was loaded)");
  }
  std::sort(non_finite.begin(), non_finite.end());
  for (const auto& [name, n] : non_finite) r.non_finite.push_back(name);
  if (!non_finite.empty() && !opt.allow_non_finite) {
    std::string m = "load_state_dict: " + std::to_string(non_finite_total) +
                    (non_finite_total == 1 ? " value is" : " values are") + " NaN or infinite (as float32), in " +
                    std::to_string(non_finite.size()) + (non_finite.size() == 1 ? " tensor: " : " tensors: ");
    for (std::size_t i = 0; i < non_finite.size(); ++i)
      m += (i ? ", " : "") + non_finite[i].first + " (" + std::to_string(non_finite[i].second) + ")";
    throw ValueError(m + "; nothing was loaded (set LoadOptions::allow_non_finite to load them anyway)");
  }

  // 2. Copy: every check passed.
  detail::visit_state(model, [&](const std::string& name, ParamOn<D>* p, BufferRefOn<D> b) {
    auto it = by_name.find(name);
    if (it == by_name.end()) return;
    const io::StTensor& t = *it->second;
    if (b.count) {
      *b.count = static_cast<std::int64_t>(t.at(0));
    } else {
      Tensor<float, D>& dst = p ? p->value : *b.f32;
      std::vector<float> host(static_cast<std::size_t>(dst.numel()));
      if (p && p->layout == ParamLayout::conv_ohwi) {
        const Shape& s = dst.shape();  // O H W I; the file holds O I H W
        for (std::int64_t a = 0; a < s[0]; ++a)
          for (std::int64_t y = 0; y < s[1]; ++y)
            for (std::int64_t x = 0; x < s[2]; ++x)
              for (std::int64_t c = 0; c < s[3]; ++c)
                host[static_cast<std::size_t>(((a * s[1] + y) * s[2] + x) * s[3] + c)] =
                    static_cast<float>(t.at(((a * s[3] + c) * s[1] + y) * s[2] + x));
      } else {
        for (std::int64_t i = 0; i < dst.numel(); ++i) host[static_cast<std::size_t>(i)] = static_cast<float>(t.at(i));
      }
      copy_bytes<D, cpu>(dst.data(), host.data(), dst.nbytes());
    }
    r.loaded.push_back(name);
  });
  return r;
}

template <class M>
void save_safetensors(M& model, const std::filesystem::path& path, std::map<std::string, std::string> metadata = {}) {
  auto st = state_dict(model);
  st.metadata = std::move(metadata);
  io::write_safetensors(path, st);
}
template <class M>
LoadReport load_safetensors(M& model, const std::filesystem::path& path, const LoadOptions& opt = {}) {
  return load_state_dict(model, io::read_safetensors(path), opt);
}

}  // namespace fastpp::models
