// Checkpoint files: exact round trips of every kind of entry, and a clear refusal (naming the file and
// the fault) of every way a file can be missing, truncated, damaged or foreign.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <fastpp/learner/checkpoint_file.hpp>

#include "scratch_dir.hpp"

using namespace fastpp;
namespace fs = std::filesystem;

namespace {

CheckpointFile sample() {
  CheckpointFile f;
  f.meta["architecture"] = "resnet18";
  f.meta["note"] = "quotes \" and \\ and\nnewlines";
  const std::vector<float> w = {1.5f, -2.25f, 3.0e-8f, std::numeric_limits<float>::max(), -0.0f, 7.0f};
  f.tensors["model.weight"] = io::StTensor::from_floats(w.data(), {2, 3});
  f.tensors["model.half"] = io::StTensor::from_floats(w.data(), {6}, io::StDtype::F16);
  put_f64s(f, "recorder.losses",
           {0.1, 1.0 / 3.0, -std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::infinity(),
            std::nan("0x5a5a"), 1e308});
  put_i64s(f, "recorder.iters", {0, -1, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()});
  put_u64s(f, "rng.state", {0xffffffffffffffffull, 0x8000000000000000ull, 12345});
  put_u64(f, "rng.counter", 0xfedcba9876543210ull);
  put_i64(f, "epoch", -7);
  put_f64(f, "scaler.scale", 65536.0 * 3.0 + 0.125);
  put_f64s(f, "empty", {});
  return f;
}

std::vector<std::uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_all(const fs::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The message of the error `load` throws, which must be of type E.
template <class E, class F>
std::string error_of(F&& load) {
  try {
    load();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no error of the expected type was thrown");
  return {};
}

}  // namespace

TEST_CASE("checkpoint files round-trip every kind of entry bit for bit", "[checkpoint]") {
  ScratchDir dir("roundtrip");
  const fs::path path = dir.path() / "ckpt.safetensors";
  const CheckpointFile f = sample();
  save_checkpoint_file(path, f);
  const CheckpointFile g = load_checkpoint_file(path);

  CHECK(g.meta.at("format") == "fastpp-checkpoint");
  CHECK(g.meta.at("version") == "1");
  CHECK(g.meta.at("checksum").size() == 16);
  CHECK(g.meta.at("architecture") == "resnet18");
  CHECK(require_meta(g, path, "note") == f.meta.at("note"));
  REQUIRE(g.tensors.size() == f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    INFO(name);
    const auto& u = g.tensors.at(name);
    CHECK(u.dtype == t.dtype);
    CHECK(u.shape == t.shape);
    CHECK(u.bytes == t.bytes);
  }
  // the typed getters give back the very bits (NaN payload, -denormal, infinities included)
  const auto put = f.tensors.at("recorder.losses").bytes;
  const auto losses = get_f64s(g, path, "recorder.losses");
  REQUIRE(losses.size() == 6);
  CHECK(std::memcmp(losses.data(), put.data(), put.size()) == 0);
  CHECK(std::signbit(losses[2]));
  CHECK(get_i64s(g, path, "recorder.iters") ==
        std::vector<std::int64_t>{0, -1, std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::int64_t>::max()});
  CHECK(get_u64s(g, path, "rng.state") == std::vector<std::uint64_t>{0xffffffffffffffffull, 0x8000000000000000ull, 12345});
  CHECK(get_u64(g, path, "rng.counter") == 0xfedcba9876543210ull);
  CHECK(get_i64(g, path, "epoch") == -7);
  CHECK(get_f64(g, path, "scaler.scale") == 65536.0 * 3.0 + 0.125);
  CHECK(get_f64s(g, path, "empty").empty());
  const auto& w = require_tensor(g, path, "model.weight", io::StDtype::F32, {2, 3});
  CHECK(w.at(3) == static_cast<double>(std::numeric_limits<float>::max()));

  // saving what was loaded gives the same bytes (the reserved entries are recomputed, not duplicated)
  const fs::path again = dir.path() / "again.safetensors";
  save_checkpoint_file(again, g);
  CHECK(read_all(again) == read_all(path));
}

TEST_CASE("require_tensor and require_meta name the file, the key, what was expected and what was found",
          "[checkpoint]") {
  const CheckpointFile f = sample();
  const fs::path origin = "/some/dir/ckpt.safetensors";
  auto msg = error_of<FormatError>([&] { require_tensor(f, origin, "model.weight", io::StDtype::F32, {3, 2}); });
  CHECK_THAT(msg, Catch::Contains("/some/dir/ckpt.safetensors") && Catch::Contains("\"model.weight\"") &&
                      Catch::Contains("is F32 [2, 3], expected F32 [3, 2]"));
  msg = error_of<FormatError>([&] { require_tensor(f, origin, "model.weight", io::StDtype::F16, {2, 3}); });
  CHECK_THAT(msg, Catch::Contains("is F32 [2, 3], expected F16 [2, 3]"));
  msg = error_of<FormatError>([&] { require_tensor(f, origin, "model.bias", io::StDtype::F32, {3}); });
  CHECK_THAT(msg, Catch::Contains("lacks tensor \"model.bias\" (expected F32 [3])") &&
                      Catch::Contains("/some/dir/ckpt.safetensors"));
  msg = error_of<FormatError>([&] { require_meta(f, origin, "optimizer"); });
  CHECK_THAT(msg, Catch::Contains("lacks metadata entry \"optimizer\"") && Catch::Contains("ckpt.safetensors"));
  // typed getters check dtype and rank too
  msg = error_of<FormatError>([&] { get_f64s(f, origin, "recorder.iters"); });
  CHECK_THAT(msg, Catch::Contains("\"recorder.iters\" is I64 [4], expected F64 [n]"));
  msg = error_of<FormatError>([&] { get_u64(f, origin, "rng.state"); });
  CHECK_THAT(msg, Catch::Contains("\"rng.state\" is I64 [3], expected I64 []"));
  msg = error_of<FormatError>([&] { get_i64s(f, origin, "epoch"); });
  CHECK_THAT(msg, Catch::Contains("\"epoch\" is I64 [], expected I64 [n]"));
}

TEST_CASE("a missing file, a directory and a foreign file are refused with the file named", "[checkpoint]") {
  ScratchDir dir("refuse");
  const fs::path missing = dir.path() / "nothing.safetensors";
  auto msg = error_of<IoError>([&] { load_checkpoint_file(missing); });
  CHECK_THAT(msg, Catch::Contains("does not exist") && Catch::Contains(missing.string()));

  msg = error_of<IoError>([&] { load_checkpoint_file(dir.path()); });
  CHECK_THAT(msg, Catch::Contains("directory") && Catch::Contains(dir.path().string()));

  // a PNG is not safetensors
  const fs::path png = dir.path() / "image.png";
  write_all(png, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'});
  msg = error_of<FormatError>([&] { load_checkpoint_file(png); });
  CHECK_THAT(msg, Catch::Contains("not a readable checkpoint") && Catch::Contains(png.string()));

  // a plain safetensors file (PyTorch weights) is not a checkpoint
  const fs::path plain = dir.path() / "weights.safetensors";
  io::SafeTensors st;
  const float one = 1.0f;
  st.tensors["w"] = io::StTensor::from_floats(&one, {1});
  write_all(plain, io::serialize_safetensors(st));
  msg = error_of<FormatError>([&] { load_checkpoint_file(plain); });
  CHECK_THAT(msg, Catch::Contains("not a fastpp checkpoint") && Catch::Contains("no \"format\" entry") &&
                      Catch::Contains(plain.string()));
}

TEST_CASE("wrong format or version markers and a missing checksum are refused", "[checkpoint]") {
  const CheckpointFile f = sample();
  const auto good = serialize_checkpoint(f);
  auto parsed = io::parse_safetensors(good);  // plain safetensors view, to edit the markers

  const auto with = [&](const std::string& key, const std::string* value) {
    auto st = parsed;
    if (value) st.metadata[key] = *value;
    else st.metadata.erase(key);
    return io::serialize_safetensors(st);
  };
  const std::string other_format = "other-tool", v2 = "2";
  auto bytes = with("format", &other_format);
  auto msg = error_of<FormatError>([&] { parse_checkpoint_bytes(bytes, "a.ckpt"); });
  CHECK_THAT(msg, Catch::Contains("\"format\" is \"other-tool\", expected \"fastpp-checkpoint\"") &&
                      Catch::Contains("a.ckpt"));
  bytes = with("version", &v2);
  msg = error_of<FormatError>([&] { parse_checkpoint_bytes(bytes, "b.ckpt"); });
  CHECK_THAT(msg, Catch::Contains("version \"2\"") && Catch::Contains("reads version 1") && Catch::Contains("b.ckpt"));
  bytes = with("version", nullptr);
  msg = error_of<FormatError>([&] { parse_checkpoint_bytes(bytes, "c.ckpt"); });
  CHECK_THAT(msg, Catch::Contains("without a \"version\"") && Catch::Contains("c.ckpt"));
  bytes = with("checksum", nullptr);
  msg = error_of<FormatError>([&] { parse_checkpoint_bytes(bytes, "d.ckpt"); });
  CHECK_THAT(msg, Catch::Contains("without a \"checksum\"") && Catch::Contains("d.ckpt"));
  // an edited metadata value still parses as safetensors, but not as this checkpoint
  const std::string arch = "resnet34";
  bytes = with("architecture", &arch);
  msg = error_of<FormatError>([&] { parse_checkpoint_bytes(bytes, "e.ckpt"); });
  CHECK_THAT(msg, Catch::Contains("does not match its checksum") && Catch::Contains("e.ckpt"));
  // the unedited bytes are fine
  CHECK_NOTHROW(parse_checkpoint_bytes(with("architecture", &f.meta.at("architecture")), "f.ckpt"));
}

TEST_CASE("a truncated checkpoint is refused at every length, naming the file", "[checkpoint]") {
  ScratchDir dir("truncated");
  const fs::path path = dir.path() / "ckpt.safetensors";
  save_checkpoint_file(path, sample());
  const auto bytes = read_all(path);
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | bytes[static_cast<std::size_t>(i)];
  const std::size_t n = bytes.size();
  // inside the length, inside the header, at the header's end, inside the data, one byte short
  const std::vector<std::size_t> lengths = {0, 1, 7, 8, 9, 8 + header / 2, 8 + header - 1, 8 + header,
                                            8 + header + 1, (8 + header + n) / 2, n - 8, n - 1};
  for (const std::size_t len : lengths) {
    INFO("truncated to " << len << " of " << n << " bytes");
    write_all(path, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len)));
    const auto msg = error_of<FormatError>([&] { load_checkpoint_file(path); });
    CHECK_THAT(msg, Catch::Contains("not a readable checkpoint") && Catch::Contains("truncated") &&
                        Catch::Contains(path.string()));
    // the specific fault is there too
    if (len < 8) CHECK_THAT(msg, Catch::Contains("fewer than the 8-byte header length"));
    else if (len < 8 + header) CHECK_THAT(msg, Catch::Contains("only " + std::to_string(len - 8) + " follow"));
    else {
      const std::string left = std::to_string(len - 8 - header);
      CHECK_THAT(msg, Catch::Contains("outside the " + left + " data bytes") || Catch::Contains("file holds " + left));
    }
  }
}

TEST_CASE("every single flipped bit of a checkpoint is refused", "[checkpoint]") {
  // Small enough to flip bits of every byte in turn: length, JSON, markers, checksum and data. The
  // serialized header holds no whitespace but its padding spaces, and a flipped space (0x21 or 0xa0) is
  // no whitespace either, so no flip can pass as harmless.
  CheckpointFile f;
  f.meta["architecture"] = "tiny";
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  f.tensors["w"] = io::StTensor::from_floats(w.data(), {2, 3});
  put_u64(f, "step", 42);
  const auto good = serialize_checkpoint(f);
  REQUIRE_NOTHROW(parse_checkpoint_bytes(good, "good.ckpt"));
  int refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x10}, std::uint8_t{0x80}}) {
      auto bad = good;
      bad[i] = static_cast<std::uint8_t>(bad[i] ^ mask);
      try {
        parse_checkpoint_bytes(bad, "bad.ckpt");
        FAIL_CHECK("flipping bit mask " << int(mask) << " of byte " << i << " went unnoticed");
      } catch (const FormatError& e) {
        if (std::string(e.what()).find("bad.ckpt") == std::string::npos) FAIL_CHECK(e.what());
        ++refused;
      }
    }
  }
  CHECK(refused == static_cast<int>(3 * good.size()));
}

TEST_CASE("the fuzz seeds written by an independent Python writer load or are refused as they should",
          "[checkpoint]") {
  // fuzz/make_corpus_checkpoint.py re-implements the format (safetensors, markers, checksum) from its
  // description: its honest seeds must load here, its damaged ones be refused for their own fault.
  const fs::path dir = fs::path(FASTPP_SOURCE_DIR) / "fuzz" / "corpus" / "checkpoint";
  const CheckpointFile good = load_checkpoint_file(dir / "good.bin");
  CHECK(good.meta.at("architecture") == "resnet18");
  CHECK(get_i64(good, dir, "opt.step") == 17);
  CHECK(get_u64s(good, dir, "rng.state") == std::vector<std::uint64_t>{0xffffffffffffffffull, 42});
  CHECK(std::isnan(get_f64s(good, dir, "recorder.losses")[2]));
  CHECK(require_tensor(good, dir, "model.0.weight", io::StDtype::F32, {2, 3}).at(3) == 3.25);
  CHECK(load_checkpoint_file(dir / "empty.bin").tensors.empty());
  CHECK(load_checkpoint_file(dir / "zero_sized.bin").meta.at("note") == "quote \" and \\u00e9 \xc3\xa9");
  const auto refused = [&](const char* name) { return error_of<FormatError>([&] { load_checkpoint_file(dir / name); }); };
  CHECK_THAT(refused("plain_safetensors.bin"), Catch::Contains("no \"format\" entry"));
  CHECK_THAT(refused("wrong_format.bin"), Catch::Contains("\"format\" is \"other\""));
  CHECK_THAT(refused("version2.bin"), Catch::Contains("version \"2\""));
  CHECK_THAT(refused("bad_checksum.bin"), Catch::Contains("does not match its checksum"));
  CHECK_THAT(refused("truncated.bin"), Catch::Contains("truncated"));
}
