#pragma once
// A strict little reader of the SVG files interpret/ writes, so tests check the files as a browser would
// get them: every tag closed in order, attributes quoted, no stray '<' or unescaped '&' in text. It
// returns the elements with their attributes and text (entities decoded) for the tests to count and read.
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fastpp/vision/image.hpp>

namespace fastpp::test {

struct SvgElement {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;  // character data directly inside the element
  std::vector<std::string> ancestors_classes;

  std::string attr(const std::string& k) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? std::string() : it->second;
  }
  // Whether the class attribute lists `c` (classes are space separated).
  bool has_class(const std::string& c) const {
    std::istringstream in(attr("class"));
    std::string w;
    while (in >> w)
      if (w == c) return true;
    return false;
  }
};

inline std::string svg_unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto semi = s.find(';', i);
    if (semi == std::string::npos) throw std::runtime_error("svg: '&' without ';' in " + s);
    const std::string ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else throw std::runtime_error("svg: unknown entity &" + ent + ";");
    i = semi;
  }
  return out;
}

// Parses the document, whose root element must be <root>; throws std::runtime_error naming the fault
// when it is not well formed. The report's HTML is written to be read by it too (every element closed,
// attributes quoted), after a <!DOCTYPE html>.
inline std::vector<SvgElement> parse_xml(const std::string& doc, const std::string& root) {
  std::vector<SvgElement> all;
  std::vector<std::size_t> open;  // indices into all
  std::size_t i = 0;
  bool root_seen = false;
  auto fail = [&](const std::string& why) { throw std::runtime_error("svg at byte " + std::to_string(i) + ": " + why); };
  while (i < doc.size()) {
    if (doc[i] != '<') {
      const auto next = doc.find('<', i);
      const std::string text = doc.substr(i, next == std::string::npos ? std::string::npos : next - i);
      if (text.find('>') != std::string::npos) fail("stray '>' in text");
      const std::string t = svg_unescape(text);
      if (!open.empty()) all[open.back()].text += t;
      else if (t.find_first_not_of(" \n\t\r") != std::string::npos) fail("text outside the root element");
      if (next == std::string::npos) break;
      i = next;
      continue;
    }
    if (doc.compare(i, 5, "<?xml") == 0) {
      const auto e = doc.find("?>", i);
      if (e == std::string::npos || i != 0) fail("bad XML declaration");
      i = e + 2;
      continue;
    }
    if (doc.compare(i, 9, "<!DOCTYPE") == 0) {
      const auto e = doc.find('>', i);
      if (e == std::string::npos || root_seen) fail("bad DOCTYPE");
      i = e + 1;
      continue;
    }
    if (doc.compare(i, 2, "</") == 0) {
      const auto e = doc.find('>', i);
      if (e == std::string::npos) fail("unterminated closing tag");
      const std::string name = doc.substr(i + 2, e - i - 2);
      if (open.empty() || all[open.back()].name != name) fail("closing </" + name + "> does not match the open element");
      open.pop_back();
      i = e + 1;
      continue;
    }
    // An opening tag: name, attributes name="value", then > or />.
    std::size_t j = i + 1;
    SvgElement el;
    while (j < doc.size() && (std::isalnum(static_cast<unsigned char>(doc[j])) || doc[j] == ':' || doc[j] == '-')) el.name += doc[j++];
    if (el.name.empty()) fail("'<' not starting a tag");
    bool self_closing = false;
    for (;;) {
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
      if (j >= doc.size()) fail("unterminated tag <" + el.name);
      if (doc[j] == '>') {
        ++j;
        break;
      }
      if (doc.compare(j, 2, "/>") == 0) {
        self_closing = true;
        j += 2;
        break;
      }
      std::string key;
      while (j < doc.size() && doc[j] != '=' && !std::isspace(static_cast<unsigned char>(doc[j])) && doc[j] != '>') key += doc[j++];
      if (j >= doc.size() || doc[j] != '=' || j + 1 >= doc.size() || doc[j + 1] != '"')
        fail("attribute '" + key + "' of <" + el.name + "> is not name=\"value\"");
      const auto e = doc.find('"', j + 2);
      if (e == std::string::npos) fail("unterminated attribute value");
      const std::string raw = doc.substr(j + 2, e - j - 2);
      if (raw.find('<') != std::string::npos) fail("'<' inside an attribute value");
      if (el.attrs.count(key)) fail("attribute '" + key + "' given twice");
      el.attrs[key] = svg_unescape(raw);
      j = e + 1;
    }
    if (open.empty()) {
      if (root_seen) fail("a second root element <" + el.name + ">");
      if (el.name != root) fail("the root element is <" + el.name + ">, not <" + root + ">");
      root_seen = true;
    }
    for (std::size_t k : open) el.ancestors_classes.push_back(all[k].attr("class"));
    all.push_back(el);
    if (!self_closing) open.push_back(all.size() - 1);
    i = j;
  }
  if (!open.empty()) throw std::runtime_error("svg: <" + all[open.back()].name + "> is never closed");
  if (!root_seen) throw std::runtime_error("svg: no <" + root + "> element");
  return all;
}
inline std::vector<SvgElement> parse_svg(const std::string& doc) { return parse_xml(doc, "svg"); }

inline std::vector<SvgElement> with_class(const std::vector<SvgElement>& els, const std::string& c) {
  std::vector<SvgElement> out;
  for (const auto& e : els)
    if (e.has_class(c)) out.push_back(e);
  return out;
}
inline std::vector<SvgElement> named(const std::vector<SvgElement>& els, const std::string& name) {
  std::vector<SvgElement> out;
  for (const auto& e : els)
    if (e.name == name) out.push_back(e);
  return out;
}
// The number of points of a polyline.
inline std::size_t polyline_points(const SvgElement& e) {
  std::istringstream in(e.attr("points"));
  std::string p;
  std::size_t n = 0;
  while (in >> p) ++n;
  return n;
}

// A whole file as text (the pages and SVGs the tests read back).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Standard base64 (the data: URIs of the report and of the top-losses plot), up to the first '='.
inline std::string base64_decode(std::string_view s) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else throw std::runtime_error("bad base64 character");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// Decodes a data:image/png;base64 href back to the image (stb), to compare pixels.
inline Image decode_data_png(const std::string& href) {
  const std::string prefix = "data:image/png;base64,";
  if (href.rfind(prefix, 0) != 0) throw std::runtime_error("svg: image href is not an inline PNG");
  const std::string raw = base64_decode(std::string_view(href).substr(prefix.size()));
  return decode_image(std::vector<std::uint8_t>(raw.begin(), raw.end()), "inline png");
}

}  // namespace fastpp::test
