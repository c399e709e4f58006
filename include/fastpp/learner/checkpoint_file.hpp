#pragma once
// The checkpoint file: a .safetensors file (io/safetensors.hpp) whose `__metadata__` marks it as a fastpp
// checkpoint and carries a checksum, written atomically (io/atomic_file.hpp). This header knows nothing of
// learners: it stores named tensors and string entries, and refuses, with an error naming the file and
// the fault, anything that is not a complete, undamaged checkpoint of a version it reads. What goes in
// (weights, optimizer state, counters, RNG state, recorder) is the Learner's business.
//
// Reserved metadata entries, set by save_checkpoint_file (a caller's own values for them are replaced):
//   "format"   = "fastpp-checkpoint"
//   "version"  = "1"
//   "checksum" = 16 hex digits of checkpoint_checksum() over every other entry and every tensor's name,
//                dtype, shape and bytes. Safetensors' own checks catch truncation and most header damage;
//                the checksum catches what they cannot: flipped bits in the data, and header edits that
//                still parse (a metadata value, a digit of a shape that keeps the byte count).
//
// Exact numbers: put_f64s / put_i64s / put_u64 ... store doubles as F64 and integers as I64 (an uint64 as
// its bit pattern), so every value comes back bit for bit.
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/safetensors.hpp"

namespace fastpp {

// The same containers as io::SafeTensors (std::map: sorted keys, so a file's bytes depend only on its
// content).
struct CheckpointFile {
  std::map<std::string, std::string> meta;
  std::map<std::string, io::StTensor> tensors;
};

inline constexpr std::string_view checkpoint_format = "fastpp-checkpoint";
inline constexpr std::string_view checkpoint_version = "1";

namespace detail {

static_assert(std::endian::native == std::endian::little,
              "fastpp's file formats (safetensors, checkpoints) are little-endian and read by memcpy: a "
              "big-endian machine would need byte swaps here");

// 64-bit FNV-1a over 8-byte words, finished with MurmurHash3's fmix64. Each step h = (h ^ w) * p is a
// bijection of h for a fixed w and injective in w for a fixed h, so any single changed word always changes
// the result; the word-wise form runs at several GB/s (one multiply per 8 bytes).
class CheckpointHasher {
 public:
  void word(std::uint64_t w) { h_ = (h_ ^ w) * 0x100000001b3ull; }
  void bytes(const std::uint8_t* p, std::size_t n) {
    word(n);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      word(w);
    }
    if (i < n) {
      std::uint64_t w = 0;
      std::memcpy(&w, p + i, n - i);
      word(w);
    }
  }
  void text(std::string_view s) { bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
  std::uint64_t finish() const {
    std::uint64_t h = h_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

inline std::string hex16(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
  return s;
}

inline std::string st_describe(io::StDtype dtype, const std::vector<std::int64_t>& shape) {
  io::StTensor t;
  t.shape = shape;
  return std::string(io::st_dtype_name(dtype)) + " " + t.shape_str();
}

// parse_safetensors' FormatError ends with " [file: <origin>]"; the checkpoint error adds its own.
inline std::string without_file_suffix(const std::string& what, const std::string& origin) {
  const std::string suffix = " [file: " + origin + "]";
  if (what.size() >= suffix.size() && what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0)
    return what.substr(0, what.size() - suffix.size());
  return what;
}

}  // namespace detail

// The checksum stored in meta["checksum"]: over every metadata entry but "checksum" and every tensor
// (name, dtype, shape, bytes), in key order.
inline std::uint64_t checkpoint_checksum(const std::map<std::string, std::string>& meta,
                                         const std::map<std::string, io::StTensor>& tensors) {
  detail::CheckpointHasher h;
  for (const auto& [k, v] : meta) {
    if (k == "checksum") continue;
    h.text(k);
    h.text(v);
  }
  h.word(0x74656e736f7273ull);  // "tensors": separates the metadata from the tensors
  for (const auto& [name, t] : tensors) {
    h.text(name);
    h.word(static_cast<std::uint64_t>(t.dtype));
    h.word(t.shape.size());
    for (const auto d : t.shape) h.word(static_cast<std::uint64_t>(d));
    h.bytes(t.bytes.data(), t.bytes.size());
  }
  return h.finish();
}
inline std::uint64_t checkpoint_checksum(const CheckpointFile& f) { return checkpoint_checksum(f.meta, f.tensors); }

// The file's bytes, with the reserved entries set (the tensors are not copied on the way).
inline std::vector<std::uint8_t> serialize_checkpoint(const CheckpointFile& f) {
  std::map<std::string, std::string> meta = f.meta;
  meta["format"] = std::string(checkpoint_format);
  meta["version"] = std::string(checkpoint_version);
  meta["checksum"] = detail::hex16(checkpoint_checksum(meta, f.tensors));
  return io::serialize_safetensors(meta, f.tensors);
}

// Writes the checkpoint atomically: after a crash at any moment `path` holds the previous checkpoint or
// this one, complete. A killed writer may leave a temporary `.<name>.<pid>.<n>.tmp` beside it (see
// io/atomic_file.hpp); it is never read as the checkpoint.
inline void save_checkpoint_file(const std::filesystem::path& path, const CheckpointFile& f) {
  io::write_file_atomic(path, serialize_checkpoint(f));
}

// Parses a checkpoint held in memory, refusing (FormatError naming `origin` and the fault) bytes that are
// not safetensors, are truncated, lack or mismatch the format and version markers, or fail the checksum.
inline CheckpointFile parse_checkpoint_bytes(const std::uint8_t* data, std::size_t size,
                                             const std::filesystem::path& origin) {
  const std::string where = origin.string();
  io::SafeTensors st;
  try {
    st = io::parse_safetensors(data, size, where);
  } catch (const FormatError& e) {
    throw FormatError(where, "not a readable checkpoint (the file is truncated, damaged or not a safetensors "
                             "file): " + detail::without_file_suffix(e.what(), where));
  }
  const auto entry = [&](const char* key) -> const std::string* {
    const auto it = st.metadata.find(key);
    return it == st.metadata.end() ? nullptr : &it->second;
  };
  const std::string* format = entry("format");
  if (format == nullptr)
    throw FormatError(where, "not a fastpp checkpoint: its safetensors metadata has no \"format\" entry (a plain "
                             "safetensors file, such as weights saved by PyTorch, is not a checkpoint)");
  if (*format != checkpoint_format)
    throw FormatError(where, "not a fastpp checkpoint: metadata \"format\" is \"" + *format + "\", expected \"" +
                                 std::string(checkpoint_format) + "\"");
  const std::string* version = entry("version");
  if (version == nullptr) throw FormatError(where, "checkpoint without a \"version\" metadata entry");
  if (*version != checkpoint_version)
    throw FormatError(where, "checkpoint of version \"" + *version + "\"; this build of fastpp reads version " +
                                 std::string(checkpoint_version));
  const std::string* stored = entry("checksum");
  if (stored == nullptr) throw FormatError(where, "checkpoint without a \"checksum\" metadata entry");
  const std::string computed = detail::hex16(checkpoint_checksum(st.metadata, st.tensors));
  if (*stored != computed)
    throw FormatError(where, "checkpoint damaged: its content does not match its checksum (stored " + *stored +
                                 ", computed " + computed + ")");
  return CheckpointFile{std::move(st.metadata), std::move(st.tensors)};
}
inline CheckpointFile parse_checkpoint_bytes(const std::vector<std::uint8_t>& bytes,
                                             const std::filesystem::path& origin) {
  return parse_checkpoint_bytes(bytes.data(), bytes.size(), origin);
}

// Reads and checks a checkpoint file (see parse_checkpoint_bytes); a missing or unreadable file is an
// IoError naming it.
inline CheckpointFile load_checkpoint_file(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::status(path, ec).type() == fs::file_type::not_found)
    throw IoError(path.string(), "no checkpoint here: the file does not exist");
  // One read of the whole size; a folder, a FIFO (refused at once, never waited on) or any other file that
  // is not a regular file is an IoError naming the path.
  return parse_checkpoint_bytes(read_regular_file(path, "checkpoint"), path);
}

// The tensor `key`, checked to have the given dtype and shape; otherwise a FormatError naming the file,
// the key, what was expected and what was found.
inline const io::StTensor& require_tensor(const CheckpointFile& f, const std::filesystem::path& origin,
                                          const std::string& key, io::StDtype dtype,
                                          const std::vector<std::int64_t>& shape) {
  const auto it = f.tensors.find(key);
  if (it == f.tensors.end())
    throw FormatError(origin.string(), "checkpoint lacks tensor \"" + key + "\" (expected " +
                                           detail::st_describe(dtype, shape) + ")");
  const io::StTensor& t = it->second;
  if (t.dtype != dtype || t.shape != shape)
    throw FormatError(origin.string(), "checkpoint tensor \"" + key + "\" is " + detail::st_describe(t.dtype, t.shape) +
                                           ", expected " + detail::st_describe(dtype, shape));
  return t;
}

// The metadata entry `key`; otherwise a FormatError naming the file and the key.
inline const std::string& require_meta(const CheckpointFile& f, const std::filesystem::path& origin,
                                       const std::string& key) {
  const auto it = f.meta.find(key);
  if (it == f.meta.end()) throw FormatError(origin.string(), "checkpoint lacks metadata entry \"" + key + "\"");
  return it->second;
}

// ---- exact numbers -------------------------------------------------------------------------------------

namespace detail {

template <class T>
io::StTensor st_from_words(io::StDtype dtype, std::vector<std::int64_t> shape, const T* values, std::size_t n) {
  static_assert(sizeof(T) == 8, "checkpoint numbers are stored as 8-byte words (F64 or I64)");
  io::StTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.resize(n * 8);
  if (n) std::memcpy(t.bytes.data(), values, n * 8);
  return t;
}

// A rank-1 tensor of any length with the given dtype.
inline const io::StTensor& require_vector(const CheckpointFile& f, const std::filesystem::path& origin,
                                          const std::string& key, io::StDtype dtype) {
  const auto it = f.tensors.find(key);
  if (it == f.tensors.end())
    throw FormatError(origin.string(), "checkpoint lacks tensor \"" + key + "\" (expected " +
                                           std::string(io::st_dtype_name(dtype)) + " [n])");
  const io::StTensor& t = it->second;
  if (t.dtype != dtype || t.shape.size() != 1)
    throw FormatError(origin.string(), "checkpoint tensor \"" + key + "\" is " + st_describe(t.dtype, t.shape) +
                                           ", expected " + std::string(io::st_dtype_name(dtype)) + " [n]");
  return t;
}

template <class T>
std::vector<T> words_of(const io::StTensor& t) {
  std::vector<T> v(t.bytes.size() / 8);
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), v.size() * 8);
  return v;
}

}  // namespace detail

// Doubles as an F64 vector [n].
inline void put_f64s(CheckpointFile& f, const std::string& key, const std::vector<double>& v) {
  f.tensors.insert_or_assign(key, detail::st_from_words(io::StDtype::F64, {static_cast<std::int64_t>(v.size())},
                                                        v.data(), v.size()));
}
inline std::vector<double> get_f64s(const CheckpointFile& f, const std::filesystem::path& origin,
                                    const std::string& key) {
  return detail::words_of<double>(detail::require_vector(f, origin, key, io::StDtype::F64));
}

// Signed integers as an I64 vector [n].
inline void put_i64s(CheckpointFile& f, const std::string& key, const std::vector<std::int64_t>& v) {
  f.tensors.insert_or_assign(key, detail::st_from_words(io::StDtype::I64, {static_cast<std::int64_t>(v.size())},
                                                        v.data(), v.size()));
}
inline std::vector<std::int64_t> get_i64s(const CheckpointFile& f, const std::filesystem::path& origin,
                                          const std::string& key) {
  return detail::words_of<std::int64_t>(detail::require_vector(f, origin, key, io::StDtype::I64));
}

// Unsigned 64-bit words (RNG keys and counters) as the bit patterns of an I64 vector [n].
inline void put_u64s(CheckpointFile& f, const std::string& key, const std::vector<std::uint64_t>& v) {
  f.tensors.insert_or_assign(key, detail::st_from_words(io::StDtype::I64, {static_cast<std::int64_t>(v.size())},
                                                        v.data(), v.size()));
}
inline std::vector<std::uint64_t> get_u64s(const CheckpointFile& f, const std::filesystem::path& origin,
                                           const std::string& key) {
  return detail::words_of<std::uint64_t>(detail::require_vector(f, origin, key, io::StDtype::I64));
}

// Scalars (rank 0): a double as F64, an int64 and an uint64 (bit pattern) as I64.
inline void put_f64(CheckpointFile& f, const std::string& key, double v) {
  f.tensors.insert_or_assign(key, detail::st_from_words(io::StDtype::F64, {}, &v, 1));
}
inline double get_f64(const CheckpointFile& f, const std::filesystem::path& origin, const std::string& key) {
  return detail::words_of<double>(require_tensor(f, origin, key, io::StDtype::F64, {}))[0];
}
inline void put_i64(CheckpointFile& f, const std::string& key, std::int64_t v) {
  f.tensors.insert_or_assign(key, detail::st_from_words(io::StDtype::I64, {}, &v, 1));
}
inline std::int64_t get_i64(const CheckpointFile& f, const std::filesystem::path& origin, const std::string& key) {
  return detail::words_of<std::int64_t>(require_tensor(f, origin, key, io::StDtype::I64, {}))[0];
}
inline void put_u64(CheckpointFile& f, const std::string& key, std::uint64_t v) {
  f.tensors.insert_or_assign(key, detail::st_from_words(io::StDtype::I64, {}, &v, 1));
}
inline std::uint64_t get_u64(const CheckpointFile& f, const std::filesystem::path& origin, const std::string& key) {
  return detail::words_of<std::uint64_t>(require_tensor(f, origin, key, io::StDtype::I64, {}))[0];
}

}  // namespace fastpp
