// MD5 and SHA-256 against published test vectors, and fastai's archive check (size + MD5 of the first MiB).
#include <catch2/catch.hpp>

#include <fastpp/io/download/check.hpp>
#include <fastpp/io/download/md5.hpp>
#include <fastpp/io/download/sha256.hpp>

#include "helpers.hpp"

using namespace fastpp;

TEST_CASE("md5 matches the RFC 1321 test suite") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
        "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("sha256 matches the FIPS 180-4 examples") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                   "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("hashing in uneven pieces gives the one-shot digest") {
  const std::string data = test::pattern_bytes(10007);
  for (std::size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 1000u}) {
    Md5 m;
    Sha256 s;
    for (std::size_t i = 0; i < data.size(); i += piece) {
      const auto n = std::min(piece, data.size() - i);
      m.update(data.data() + i, n);
      s.update(data.data() + i, n);
    }
    INFO("piece " << piece);
    CHECK(m.hexdigest() == md5_hex(data));
    CHECK(s.hexdigest() == sha256_hex(data));
  }
}

// Reference digests from Python's hashlib over the same bytes:
//   b = bytes(((i*2654435761) % 2**32 >> 13) & 0xff for i in range(3*2**19))
//   hashlib.md5(b[:2**20]).hexdigest(), hashlib.sha256(b).hexdigest()
TEST_CASE("path_stats and check_failure follow fastai's check") {
  test::TempDir dir;
  const auto file = dir / "archive.tgz";
  test::write_file(file, test::pattern_bytes(3 << 19));
  const PathStats stats = path_stats(file);
  CHECK(stats.size == 1572864);
  CHECK(stats.md5_first_mib == "8f82ce4cfc5debdf2cec8e770944240d");
  CHECK(sha256_file(file) == "a8aa9c73fdf9d0de7d50ae043f99d68dea1a48ed39578d5a46ddfe102ac3be5b");

  CHECK(check_failure(file, {}).empty());
  CHECK(passes_check(file, {.size = 1572864, .md5_first_mib = "8F82CE4CFC5DEBDF2CEC8E770944240D", .sha256 = {}}));
  CHECK(passes_check(
      file,
      {.size = {}, .md5_first_mib = {}, .sha256 = "a8aa9c73fdf9d0de7d50ae043f99d68dea1a48ed39578d5a46ddfe102ac3be5b"}));
  CHECK_THAT(check_failure(file, {.size = 1572865, .md5_first_mib = {}, .sha256 = {}}),
             Catch::Contains("size is 1572864 bytes, expected 1572865"));
  CHECK_THAT(check_failure(file, {.size = {}, .md5_first_mib = "00000000000000000000000000000000", .sha256 = {}}),
             Catch::Contains("MD5 of the first MiB is 8f82ce4cfc5debdf2cec8e770944240d"));
  CHECK_THAT(check_failure(file, {.size = {}, .md5_first_mib = {}, .sha256 = std::string(64, '0')}),
             Catch::Contains("SHA-256 is a8aa9c73"));
  CHECK_THROWS_WITH(check_failure(file, {.size = {}, .md5_first_mib = "abc", .sha256 = {}}),
                    Catch::Contains("must have 32 hex digits"));
  CHECK_THROWS_AS(path_stats(dir / "missing.tgz"), IoError);

  // A file under 1 MiB: the MD5 covers the whole file, as hashlib.md5(f.read(2**20)) does.
  test::write_file(dir / "small", "abc");
  CHECK(path_stats(dir / "small").md5_first_mib == "900150983cd24fb0d6963f7d28e17f72");
}
