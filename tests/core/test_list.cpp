#include <catch2/catch.hpp>
#include <fastpp/core/list.hpp>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

using namespace fastpp;

TEST_CASE("L prints as fastcore's (#N) [...] form", "[list]") {
  CHECK(L<int>{1, 2, 3}.str() == "(#3) [1,2,3]");
  CHECK(L<int>{}.str() == "(#0) []");
  CHECK(L<std::string>{"a", "b"}.str() == "(#2) ['a','b']");
  CHECK(L<std::filesystem::path>{"images/x_1.jpg"}.str() == "(#1) [Path('images/x_1.jpg')]");
  CHECK(L<bool>{true, false}.str() == "(#2) [True,False]");
  CHECK((L<std::pair<int, std::string>>{{1, "a"}}.str()) == "(#1) [(1, 'a')]");
}

TEST_CASE("L shows at most 20 elements, then ...", "[list]") {
  auto l = L<int>::range(25);
  const std::string s = l.str();
  CHECK(s.rfind("(#25) [0,1,2,", 0) == 0);
  CHECK(s.find(",19,...]") != std::string::npos);
  CHECK(s.find("20") == std::string::npos);
  CHECK(L<int>::range(20).str().find("...") == std::string::npos);
}

TEST_CASE("L indexes by position, negative position, positions and bool mask", "[list]") {
  L<int> l{10, 20, 30, 40};
  CHECK(l[0] == 10);
  CHECK(l[-1] == 40);
  CHECK_THROWS_AS(l[4], IndexError);
  CHECK_THROWS_AS(l[-5], IndexError);
  CHECK(l[std::vector<std::int64_t>{3, 0, -2}] == L<int>{40, 10, 30});
  CHECK(l[std::vector<bool>{true, false, false, true}] == L<int>{10, 40});
  CHECK_THROWS_WITH(l[std::vector<bool>{true}], Catch::Contains("mask of length 1") && Catch::Contains("length 4"));
}

TEST_CASE("L map, filter, argwhere, unique, sorted", "[list]") {
  L<int> l{3, 1, 2, 3, 1};
  CHECK(l.map([](int x) { return x * 2; }) == L<int>{6, 2, 4, 6, 2});
  CHECK(l.map([](int x) { return std::to_string(x); }) == L<std::string>{"3", "1", "2", "3", "1"});
  CHECK(l.filter([](int x) { return x > 1; }) == L<int>{3, 2, 3});
  CHECK(l.filter([](int x) { return x > 1; }, true) == L<int>{1, 1});
  CHECK(l.argwhere([](int x) { return x == 3; }) == L<std::int64_t>{0, 3});
  CHECK(l.unique() == L<int>{3, 1, 2});
  CHECK(l.sorted() == L<int>{1, 1, 2, 3, 3});
  CHECK(l.sorted(true) == L<int>{3, 3, 2, 1, 1});
  // Stable with a key: equal keys keep their order.
  L<std::string> words{"bb", "a", "cc", "d"};
  CHECK(words.sorted([](const std::string& w) { return w.size(); }) == L<std::string>{"a", "d", "bb", "cc"});
  // Byte order, as Python sorts str: upper case first.
  CHECK(L<std::string>{"beagle", "Bengal", "Abyssinian"}.sorted() ==
        L<std::string>{"Abyssinian", "Bengal", "beagle"});
}

TEST_CASE("L itemgot, zip, enumerate, concatenation", "[list]") {
  L<std::tuple<int, std::string>> t{{1, "a"}, {2, "b"}};
  CHECK(t.itemgot<1>() == L<std::string>{"a", "b"});
  L<std::vector<int>> v{{1, 2}, {3, 4}};
  CHECK(v.itemgot(1) == L<int>{2, 4});
  auto z = L<int>{1, 2}.zip(L<std::string>{"x", "y"});
  CHECK(z[1] == std::pair<int, std::string>{2, "y"});
  CHECK_THROWS_AS(L<int>{1}.zip(L<int>{1, 2}), ValueError);
  auto e = L<std::string>{"p", "q"}.enumerate();
  CHECK(e[1].first == 1);
  CHECK(e[1].second == "q");
  CHECK(L<int>{1} + L<int>{2, 3} == L<int>{1, 2, 3});
}
