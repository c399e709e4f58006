// Pure helpers: the dataset registry, file names from URLs, archive stems, entry-name checks, Content-Range
// parsing and the progress line.
#include <catch2/catch.hpp>

#include <fastpp/io/download.hpp>

#include <set>

using namespace fastpp;

TEST_CASE("urls match fastai's URLs and registered checks") {
  CHECK(urls::pets == "https://s3.amazonaws.com/fast-ai-imageclas/oxford-iiit-pet.tgz");
  CHECK(urls::mnist_sample == "https://s3.amazonaws.com/fast-ai-sample/mnist_sample.tgz");
  CHECK(urls::imagenette_160 == "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz");
  const auto pets = urls::find_by_url(urls::pets);
  REQUIRE(pets);
  CHECK(pets->name == "pets");
  CHECK(pets->size == 811706944);
  CHECK(pets->md5_first_mib == "e4db5c768afd933bb91f5f594d7417a4");
  const auto mnist = urls::find_by_name("mnist_sample");
  REQUIRE(mnist);
  CHECK(mnist->url == urls::mnist_sample);
  CHECK(mnist->size == 3214948);
  CHECK_FALSE(urls::find_by_name("no_such_dataset"));
  CHECK_FALSE(urls::find_by_url("https://example.invalid/x.tgz"));
  static_assert(urls::find_by_name("imagenette_160")->size == 99003388, "the registry is usable at compile time");

  std::set<std::string_view> names, links;
  for (const auto& d : urls::known_datasets) {
    INFO(d.name);
    CHECK(names.insert(d.name).second);
    CHECK(links.insert(d.url).second);
    CHECK(d.url.starts_with("https://s3.amazonaws.com/fast-ai-"));
    CHECK(d.md5_first_mib.size() == 32);
    CHECK(d.md5_first_mib.find_first_not_of("0123456789abcdef") == std::string_view::npos);
    CHECK(d.size > 0);
  }
}

TEST_CASE("the archive and folder names come from the URL as in fastai") {
  CHECK(url_file_name(urls::pets) == "oxford-iiit-pet.tgz");
  CHECK(url_file_name("http://127.0.0.1:80/a/b/data.tar.gz?x=1#frag") == "data.tar.gz");
  CHECK_THROWS_WITH(url_file_name("https://example.com/"), Catch::Contains("cannot tell the archive's file name"));
  CHECK_THROWS_AS(url_file_name("nothing"), ValueError);
  CHECK(archive_stem("oxford-iiit-pet.tgz") == "oxford-iiit-pet");
  CHECK(archive_stem("imagenette2-160.tgz") == "imagenette2-160");
  CHECK(archive_stem("x.tar.gz") == "x");
  CHECK(archive_stem("y.zip") == "y");
  CHECK(archive_stem("z.tar") == "z");
  CHECK(archive_stem("plain") == "plain");
}

TEST_CASE("fastpp_home honours FASTPP_HOME, then HOME") {
  setenv("FASTPP_HOME", "/somewhere/cache", 1);
  CHECK(fastpp_home() == "/somewhere/cache");
  unsetenv("FASTPP_HOME");
  setenv("HOME", "/home/someone", 1);
  CHECK(fastpp_home() == "/home/someone/.fastpp");
}

TEST_CASE("entry names: dots are dropped, absolute paths and '..' are refused") {
  std::string why;
  auto parts = detail::entry_components("./a//b/./c/", why);
  REQUIRE(parts);
  CHECK(*parts == std::vector<std::string>{"a", "b", "c"});
  CHECK(detail::entry_components("./", why)->empty());
  CHECK_FALSE(detail::entry_components("/etc/passwd", why));
  CHECK(why == "has an absolute path");
  CHECK_FALSE(detail::entry_components("a/../../b", why));
  CHECK(why == "climbs out of the destination with '..'");
  CHECK_FALSE(detail::entry_components("a/..", why));  // even one that would stay inside
  CHECK_FALSE(detail::entry_components("", why));
  CHECK(detail::entry_components("a..b/..c", why));  // dots inside a name are fine

  const std::vector<std::string> link{"d", "link"};
  CHECK(detail::symlink_target_inside(link, "../x", why));       // d/../x = x
  CHECK(detail::symlink_target_inside(link, "e/../../y", why));  // y
  CHECK_FALSE(detail::symlink_target_inside(link, "../../x", why));
  CHECK(why == "is a symbolic link pointing outside the destination");
  CHECK_FALSE(detail::symlink_target_inside(link, "../e/../../..", why));
  CHECK_FALSE(detail::symlink_target_inside(link, "/etc", why));
  CHECK_FALSE(detail::symlink_target_inside(link, "", why));
  CHECK(detail::quoted("a\nb'") == "'a\\x0ab\\x27'");
}

TEST_CASE("Content-Range parsing") {
  std::uint64_t start = 0;
  std::optional<std::uint64_t> total;
  CHECK(detail::parse_content_range(" bytes 100-199/1000\r\n", start, total));
  CHECK(start == 100);
  CHECK(total == 1000u);
  CHECK(detail::parse_content_range("bytes 0-0/*", start, total));
  CHECK_FALSE(total);
  CHECK_FALSE(detail::parse_content_range("bytes */1000", start, total));
  CHECK_FALSE(detail::parse_content_range("bytes 5-4/10", start, total));
  CHECK_FALSE(detail::parse_content_range("items 0-1/2", start, total));
  CHECK_FALSE(detail::parse_content_range("bytes 99999999999999999999-1/2", start, total));
}

TEST_CASE("the progress line shows the bar, percent, size and rate") {
  CHECK(detail::human_bytes(512) == "512 B");
  CHECK(detail::human_bytes(1536) == "1.5 KiB");
  CHECK(detail::human_bytes(811706944) == "774.1 MiB");
  CHECK(detail::progress_line("pets.tgz", 405853472, 811706944, 12.5 * 1048576, 10) ==
        "pets.tgz [#####.....]  50%  387.1 MiB / 774.1 MiB  12.5 MiB/s");
  CHECK(detail::progress_line("x", 2048, 0, 0, 10) == "x  2.0 KiB  0 B/s");
  CHECK(detail::progress_line("x", 10, 10, 1, 4) == "x [####] 100%  10 B / 10 B  1 B/s");
}

TEST_CASE("the progress bar is drawn on stderr when asked for") {
  // Only the drawing: a fake transfer that reports its progress twice, on a captured stderr.
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fileno(capture), STDERR_FILENO);
  detail::Transfer t;
  t.show = true;
  t.decided = true;
  t.name = "pets.tgz";
  t.started = std::chrono::steady_clock::now() - std::chrono::seconds(2);
  t.received = 1 << 20;
  detail::on_progress(&t, 4 << 20, 1 << 20, 0, 0);
  t.draw(4 << 20, 4 << 20, true);
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::rewind(capture);
  std::string out(4096, '\0');
  out.resize(std::fread(out.data(), 1, out.size(), capture));
  std::fclose(capture);
  CHECK_THAT(out, Catch::Contains("\rpets.tgz [") && Catch::Contains(" 25%  1.0 MiB / 4.0 MiB") &&
                      Catch::Contains("100%  4.0 MiB / 4.0 MiB") && Catch::Contains("KiB/s"));
}
