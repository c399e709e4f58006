#pragma once
// Reading and writing .safetensors files (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header {"name": {"dtype", "shape", "data_offsets"}, "__metadata__":
// {...}}, then the tensors' bytes. Every length and offset is checked against the file before it is used:
// a truncated or malformed file is a FormatError naming the problem, never a read past the end.
// Supported dtypes: F64, F32, F16, BF16, I64 (BatchNorm's num_batches_tracked).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/half.hpp"
#include "../core/regular_file.hpp"
#include "../core/tensor.hpp"

namespace fastpp::io {

enum class StDtype { F64, F32, F16, BF16, I64 };

inline std::string_view st_dtype_name(StDtype d) {
  switch (d) {
    case StDtype::F64: return "F64";
    case StDtype::F32: return "F32";
    case StDtype::F16: return "F16";
    case StDtype::BF16: return "BF16";
    case StDtype::I64: return "I64";
  }
  return "?";
}
inline std::size_t st_dtype_size(StDtype d) {
  return d == StDtype::F64 || d == StDtype::I64 ? 8 : d == StDtype::F32 ? 4 : 2;
}

// One tensor as stored: dtype, shape (rank 0 for a scalar) and little-endian bytes.
struct StTensor {
  StDtype dtype = StDtype::F32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  std::string shape_str() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) { if (i) s += ", "; s += std::to_string(shape[i]); }
    return s + "]";
  }
  // Element i converted to double (any dtype).
  double at(std::int64_t i) const {
    const std::uint8_t* p = bytes.data() + static_cast<std::size_t>(i) * st_dtype_size(dtype);
    switch (dtype) {
      case StDtype::F64: { double v; std::memcpy(&v, p, 8); return v; }
      case StDtype::F32: { float v; std::memcpy(&v, p, 4); return v; }
      case StDtype::F16: { std::uint16_t b; std::memcpy(&b, p, 2); return static_cast<float>(half::from_bits(b)); }
      case StDtype::BF16: { std::uint16_t b; std::memcpy(&b, p, 2); return static_cast<float>(bfloat16::from_bits(b)); }
      case StDtype::I64: { std::int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    }
    return 0;
  }
  std::vector<double> to_doubles() const {
    std::vector<double> v(static_cast<std::size_t>(numel()));
    for (std::int64_t i = 0; i < numel(); ++i) v[static_cast<std::size_t>(i)] = at(i);
    return v;
  }
  // As a float tensor of the same shape (a scalar becomes shape {1}).
  Tensor<float> to_float() const {
    Shape s = shape.empty() ? Shape{1} : Shape(shape.begin(), shape.end());
    auto t = Tensor<float>::empty(s);
    for (std::int64_t i = 0; i < numel(); ++i) t.data()[i] = static_cast<float>(at(i));
    return t;
  }

  static StTensor from_floats(const float* data, std::vector<std::int64_t> shape, StDtype dtype = StDtype::F32) {
    StTensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    const auto n = static_cast<std::size_t>(t.numel());
    t.bytes.resize(n * st_dtype_size(dtype));
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t* p = t.bytes.data() + i * st_dtype_size(dtype);
      switch (dtype) {
        case StDtype::F64: { const double v = data[i]; std::memcpy(p, &v, 8); break; }
        case StDtype::F32: std::memcpy(p, &data[i], 4); break;
        case StDtype::F16: { const std::uint16_t b = half(data[i]).bits; std::memcpy(p, &b, 2); break; }
        case StDtype::BF16: { const std::uint16_t b = bfloat16(data[i]).bits; std::memcpy(p, &b, 2); break; }
        case StDtype::I64: { const auto v = static_cast<std::int64_t>(data[i]); std::memcpy(p, &v, 8); break; }
      }
    }
    return t;
  }
  static StTensor from_tensor(const Tensor<float>& x, StDtype dtype = StDtype::F32) {
    std::vector<std::int64_t> shape;
    for (int i = 0; i < x.rank(); ++i) shape.push_back(x.shape()[i]);
    return from_floats(x.data(), std::move(shape), dtype);
  }
  static StTensor scalar_i64(std::int64_t v) {
    StTensor t;
    t.dtype = StDtype::I64;
    t.bytes.resize(8);
    std::memcpy(t.bytes.data(), &v, 8);
    return t;
  }
};

// A whole file: tensors by name (sorted) and the optional string metadata.
struct SafeTensors {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

namespace detail {

// A strict JSON reader for the header: objects, arrays, strings, non-negative integers; nesting limited.
class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& origin) : s_(s), origin_(origin) {}

  SafeTensors parse(std::uint64_t data_size) {
    SafeTensors out;
    skip_ws();
    expect('{', "the header must be a JSON object");
    skip_ws();
    std::set<std::string> seen;
    if (!try_eat('}')) {
      for (;;) {
        skip_ws();
        std::string key = parse_string();
        if (!seen.insert(key).second) fail("duplicate key \"" + key + "\"");
        skip_ws();
        expect(':', "expected ':' after a key");
        skip_ws();
        if (key == "__metadata__") {
          parse_metadata(out.metadata);
        } else {
          auto [t, span] = parse_tensor_info(key, data_size);
          out.tensors.emplace(key, std::move(t));
          offsets_.push_back({span, key});
        }
        skip_ws();
        if (try_eat(',')) continue;
        expect('}', "expected ',' or '}' in the header object");
        break;
      }
    }
    skip_ws_and_padding();
    if (pos_ != s_.size()) fail("unexpected bytes after the header's JSON object");
    // The data must be covered exactly, without overlaps or holes (as the reference implementation requires).
    std::sort(offsets_.begin(), offsets_.end());
    std::uint64_t expected = 0;
    for (const auto& [span, name] : offsets_) {
      if (span.first < expected) fail("tensor \"" + name + "\" overlaps the tensor before it (offset " +
                                      std::to_string(span.first) + " < " + std::to_string(expected) + ")");
      if (span.first > expected) fail("a hole of unused bytes lies before tensor \"" + name + "\" (offset " +
                                      std::to_string(span.first) + ", expected " + std::to_string(expected) + ")");
      expected = span.second;
    }
    if (expected != data_size)
      fail("the tensors cover " + std::to_string(expected) + " data bytes but the file holds " +
           std::to_string(data_size));
    return out;
  }

  std::vector<std::pair<std::pair<std::uint64_t, std::uint64_t>, std::string>> offsets_;

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(origin_, "safetensors header: " + what + " (at byte " + std::to_string(pos_) + " of the header)");
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  void skip_ws_and_padding() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t' ||
                                s_[pos_] == '\0'))
      ++pos_;
  }
  bool try_eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* what) {
    if (!try_eat(c)) fail(what);
  }
  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::uint32_t hex4() {
    if (s_.size() - pos_ < 4) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else fail("bad hex digit in a \\u escape");
    }
    return v;
  }
  std::string parse_string() {
    expect('"', "expected a string");
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (!(try_eat('\\') && try_eat('u'))) fail("unpaired surrogate in a \\u escape");
            const std::uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("bad low surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired low surrogate in a \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail(std::string("unknown escape \\") + e);
      }
    }
  }
  std::uint64_t parse_uint() {
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') fail("expected a non-negative integer");
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9')
      fail("integer with a leading zero");
    std::uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const auto d = static_cast<std::uint64_t>(s_[pos_++] - '0');
      if (v > (UINT64_MAX - d) / 10) fail("integer too large");
      v = v * 10 + d;
    }
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) fail("expected an integer, got a fraction");
    return v;
  }
  std::vector<std::uint64_t> parse_uint_array(std::size_t max_len, const std::string& what) {
    std::vector<std::uint64_t> v;
    expect('[', ("expected an array for " + what).c_str());
    skip_ws();
    if (try_eat(']')) return v;
    for (;;) {
      skip_ws();
      if (v.size() >= max_len) fail(what + " has more than " + std::to_string(max_len) + " entries");
      v.push_back(parse_uint());
      skip_ws();
      if (try_eat(',')) continue;
      expect(']', ("expected ',' or ']' in " + what).c_str());
      return v;
    }
  }
  void parse_metadata(std::map<std::string, std::string>& meta) {
    expect('{', "__metadata__ must be an object of strings");
    skip_ws();
    if (try_eat('}')) return;
    for (;;) {
      skip_ws();
      std::string k = parse_string();
      skip_ws();
      expect(':', "expected ':' in __metadata__");
      skip_ws();
      std::string v = parse_string();
      if (!meta.emplace(std::move(k), std::move(v)).second) fail("duplicate key in __metadata__");
      skip_ws();
      if (try_eat(',')) continue;
      expect('}', "expected ',' or '}' in __metadata__");
      return;
    }
  }
  std::pair<StTensor, std::pair<std::uint64_t, std::uint64_t>> parse_tensor_info(const std::string& name,
                                                                                std::uint64_t data_size) {
    StTensor t;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::vector<std::uint64_t> shape, offs;
    expect('{', ("tensor \"" + name + "\" must be described by an object").c_str());
    skip_ws();
    if (!try_eat('}')) {
      for (;;) {
        skip_ws();
        const std::string k = parse_string();
        skip_ws();
        expect(':', "expected ':'");
        skip_ws();
        if (k == "dtype" && !has_dtype) {
          const std::string d = parse_string();
          has_dtype = true;
          if (d == "F64") t.dtype = StDtype::F64;
          else if (d == "F32") t.dtype = StDtype::F32;
          else if (d == "F16") t.dtype = StDtype::F16;
          else if (d == "BF16") t.dtype = StDtype::BF16;
          else if (d == "I64") t.dtype = StDtype::I64;
          else fail("tensor \"" + name + "\" has dtype \"" + d + "\"; fastpp reads F64, F32, F16, BF16 and I64");
        } else if (k == "shape" && !has_shape) {
          shape = parse_uint_array(8, "the shape of \"" + name + "\"");
          has_shape = true;
        } else if (k == "data_offsets" && !has_offsets) {
          offs = parse_uint_array(2, "the data_offsets of \"" + name + "\"");
          has_offsets = true;
        } else {
          fail("tensor \"" + name + "\" has an unexpected or repeated field \"" + k + "\"");
        }
        skip_ws();
        if (try_eat(',')) continue;
        expect('}', "expected ',' or '}' in a tensor description");
        break;
      }
    }
    if (!has_dtype || !has_shape || !has_offsets)
      fail("tensor \"" + name + "\" lacks one of dtype, shape, data_offsets");
    if (offs.size() != 2) fail("data_offsets of \"" + name + "\" must hold two numbers");
    std::uint64_t n = 1;
    for (auto d : shape) {
      if (d > (std::uint64_t{1} << 40) || (d != 0 && n > (std::uint64_t{1} << 40) / d))
        fail("the shape of \"" + name + "\" is too large");
      n *= d;
      t.shape.push_back(static_cast<std::int64_t>(d));
    }
    const std::uint64_t nbytes = n * st_dtype_size(t.dtype);
    if (offs[0] > offs[1] || offs[1] > data_size)
      fail("data_offsets [" + std::to_string(offs[0]) + ", " + std::to_string(offs[1]) + "] of \"" + name +
           "\" lie outside the " + std::to_string(data_size) + " data bytes of the file");
    if (offs[1] - offs[0] != nbytes)
      fail("tensor \"" + name + "\" of shape " + t.shape_str() + " and dtype " + std::string(st_dtype_name(t.dtype)) +
           " needs " + std::to_string(nbytes) + " bytes but its data_offsets span " + std::to_string(offs[1] - offs[0]));
    return {std::move(t), {offs[0], offs[1]}};
  }

  std::string_view s_;
  const std::string& origin_;
  std::size_t pos_ = 0;
};

inline void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace detail

// Parses a whole file held in memory; `origin` names it in errors.
inline SafeTensors parse_safetensors(const std::uint8_t* data, std::size_t size, const std::string& origin = "<memory>") {
  if (size < 8) throw FormatError(origin, "safetensors: the file has " + std::to_string(size) +
                                              " bytes, fewer than the 8-byte header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > size - 8)
    throw FormatError(origin, "safetensors: the header claims " + std::to_string(n) + " bytes but only " +
                                  std::to_string(size - 8) + " follow the length (truncated file?)");
  if (n > 100'000'000) throw FormatError(origin, "safetensors: header of " + std::to_string(n) + " bytes is too large");
  const std::string_view header(reinterpret_cast<const char*>(data + 8), static_cast<std::size_t>(n));
  const std::uint64_t data_size = size - 8 - n;
  detail::HeaderParser parser(header, origin);
  SafeTensors st = parser.parse(data_size);
  const std::uint8_t* base = data + 8 + n;
  for (const auto& [span, name] : parser.offsets_) {
    auto& t = st.tensors.at(name);
    t.bytes.assign(base + span.first, base + span.second);
  }
  return st;
}
inline SafeTensors parse_safetensors(const std::vector<std::uint8_t>& bytes, const std::string& origin = "<memory>") {
  return parse_safetensors(bytes.data(), bytes.size(), origin);
}

// A folder, a FIFO or anything else that is not a regular file is an IoError naming the path (a FIFO is
// refused at once, never waited on).
inline SafeTensors read_safetensors(const std::filesystem::path& path) {
  return parse_safetensors(read_regular_file(path, "safetensors file"), path.string());
}

// The file's bytes: header keys in name order, data contiguous in the same order, header padded with
// spaces to a multiple of 8 bytes so the data is aligned.
// The parts may come from elsewhere than a SafeTensors (a checkpoint), so nothing is copied first.
inline std::vector<std::uint8_t> serialize_safetensors(const std::map<std::string, std::string>& metadata,
                                                       const std::map<std::string, StTensor>& tensors) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool f2 = true;
    for (const auto& [k, v] : metadata) {
      if (!f2) h += ',';
      f2 = false;
      detail::append_json_string(h, k);
      h += ':';
      detail::append_json_string(h, v);
    }
    h += '}';
    first = false;
  }
  std::uint64_t off = 0;
  for (const auto& [name, t] : tensors) {
    check<ValueError>(name != "__metadata__", "safetensors: a tensor cannot be named __metadata__");
    check<ValueError>(static_cast<std::int64_t>(t.bytes.size()) == t.numel() * static_cast<std::int64_t>(st_dtype_size(t.dtype)),
                      "safetensors: tensor \"", name, "\" holds ", t.bytes.size(), " bytes, not the ",
                      t.numel() * static_cast<std::int64_t>(st_dtype_size(t.dtype)), " its shape ", t.shape_str(), " needs");
    if (!first) h += ',';
    first = false;
    detail::append_json_string(h, name);
    h += ":{\"dtype\":\"" + std::string(st_dtype_name(t.dtype)) + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) { if (i) h += ","; h += std::to_string(t.shape[i]); }
    h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.bytes.size()) + "]}";
    off += t.bytes.size();
  }
  h += '}';
  while (h.size() % 8 != 0) h += ' ';
  std::vector<std::uint8_t> out(8 + h.size() + off);
  const std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, h.data(), h.size());
  std::size_t at = 8 + h.size();
  for (const auto& [name, t] : tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + at, t.bytes.data(), t.bytes.size());
    at += t.bytes.size();
  }
  return out;
}
inline std::vector<std::uint8_t> serialize_safetensors(const SafeTensors& st) {
  return serialize_safetensors(st.metadata, st.tensors);
}

// Writes to a temporary file beside `path` and renames it, so a crash never leaves half a file.
inline void write_safetensors(const std::filesystem::path& path, const SafeTensors& st) {
  const auto bytes = serialize_safetensors(st);
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(tmp.string(), "cannot open for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw IoError(tmp.string(), "write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw IoError(path.string(), "cannot rename the temporary file into place: " + ec.message());
}

}  // namespace fastpp::io
