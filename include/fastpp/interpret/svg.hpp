#pragma once
// The small SVG toolkit every plot of interpret/ draws with: a document that collects elements, text
// escaping, number formatting, "nice" linear ticks and decade ticks for log axes, a plot area (Axes) that
// maps data to pixels and draws its frame, ticks, grid, labels and title, a legend, and matplotlib's
// "Blues" colour map. One place for these so the plots cannot drift apart in how they look or escape text.
//
// Every element a test (or a person reading the file) needs to find carries a class: "xlabel", "ylabel",
// "title", "xtick", "ytick", "legend", and the plots' own data marks.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../vision/show_batch.hpp"  // detail::xml_escape, detail::base64

namespace fastpp::svg {

// Text as XML character data or an attribute value.
inline std::string escape(const std::string& s) { return fastpp::detail::xml_escape(s); }

// A coordinate or size for an attribute: two decimals at most, no trailing zeros ("12.5", "40").
inline std::string num(double v) {
  if (!std::isfinite(v)) v = 0.0;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// A tick's label: as short as it can be while distinct ("0.5", "1e-05", "200").
inline std::string tick_label(double v) {
  if (std::abs(v) < 1e-12) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Characters of a UTF-8 string (code points), for width estimates and column padding.
inline std::size_t text_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
// Rough width in pixels of a sans-serif text: enough to keep labels from overlapping the plot.
inline double text_width(const std::string& s, double font_px) { return 0.6 * font_px * static_cast<double>(text_length(s)); }

// m * 10^e, rounded once (dividing by 10^-e for negative e keeps 0.1 * 3 from becoming 0.30000000000000004).
inline double decimal(double m, int e) { return e >= 0 ? m * std::pow(10.0, e) : m / std::pow(10.0, -e); }

// About `target` evenly spaced round ticks (steps of 1, 2, 2.5 or 5 times a power of ten) inside [lo, hi].
inline std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const int e = static_cast<int>(std::floor(std::log10(raw)));
  double m = 10;
  for (double cand : {1.0, 2.0, 2.5, 5.0})
    if (decimal(cand, e) >= raw) {
      m = cand;
      break;
    }
  const double step = decimal(m, e);
  std::vector<double> t;
  // Each tick is (k * m) * 10^e computed afresh, so 0.6 is 6 / 10 and not 0.2 + 0.2 + 0.2.
  for (auto k = static_cast<long long>(std::ceil(lo / step - 1e-9)); decimal(static_cast<double>(k) * m, e) <= hi + step * 1e-9; ++k)
    t.push_back(decimal(static_cast<double>(k) * m, e));
  return t;
}

// Ticks of a log axis over [lo, hi] (both > 0): the powers of ten inside, and 2x and 5x of them when the
// range spans fewer than two decades.
inline std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> t;
  if (!(lo > 0) || !(hi > lo)) return t;
  const int a = static_cast<int>(std::floor(std::log10(lo))), b = static_cast<int>(std::ceil(std::log10(hi)));
  const bool fine = b - a <= 2;
  for (int e = a; e <= b; ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      if (m != 1.0 && !fine) continue;
      const double v = decimal(m, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t.push_back(v);
    }
  return t;
}

// matplotlib's "Blues" (its nine anchor colours, linearly interpolated) at t in [0, 1].
inline std::string blues(double t) {
  static const int anchors[9][3] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239}, {158, 202, 225}, {107, 174, 214},
                                    {66, 146, 198},  {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0) * 8;
  const int i = std::min(7, static_cast<int>(t));
  const double f = t - i;
  char buf[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<int>(std::lround(anchors[i][c] + f * (anchors[i + 1][c] - anchors[i][c])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

// matplotlib's default colour cycle, for lines and legend entries.
inline const char* colour(std::size_t i) {
  static const char* cycle[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  return cycle[i % 6];
}

struct TextStyle {
  double size = 12;
  const char* anchor = "start";  // start, middle, end
  double rotate = 0;             // degrees, about the text's anchor point
  std::string fill = "black";
  std::string cls;               // the element's class (what tests and style sheets find it by)
  bool bold = false;
};

// One SVG document, built element by element; str() closes it.
class Doc {
 public:
  Doc(double width, double height) : w_(width), h_(height) {
    out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         << "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"" << num(w_)
         << "\" height=\"" << num(h_) << "\" viewBox=\"0 0 " << num(w_) << ' ' << num(h_)
         << "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }
  double width() const { return w_; }
  double height() const { return h_; }

  void text(double x, double y, const std::string& s, const TextStyle& st = {}) {
    out_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" font-size=\"" << num(st.size) << "\" text-anchor=\""
         << st.anchor << '"';
    if (st.fill != "black") out_ << " fill=\"" << st.fill << '"';
    if (st.bold) out_ << " font-weight=\"bold\"";
    if (!st.cls.empty()) out_ << " class=\"" << escape(st.cls) << '"';
    if (st.rotate != 0) out_ << " transform=\"rotate(" << num(st.rotate) << ' ' << num(x) << ' ' << num(y) << ")\"";
    out_ << '>' << escape(s) << "</text>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke = "black", double width = 1,
            const std::string& cls = {}) {
    out_ << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2) << "\" y2=\"" << num(y2)
         << "\" stroke=\"" << stroke << "\" stroke-width=\"" << num(width) << '"' << class_attr(cls) << "/>\n";
  }
  // `extra` is appended inside the tag as is (attributes the caller built, values escaped).
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& cls = {},
            const std::string& extra = {}) {
    out_ << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w) << "\" height=\"" << num(h)
         << "\" fill=\"" << fill << '"' << class_attr(cls) << extra << "/>\n";
  }
  void circle(double x, double y, double r, const std::string& fill, const std::string& cls = {}) {
    out_ << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"" << num(r) << "\" fill=\"" << fill << '"'
         << class_attr(cls) << "/>\n";
  }
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, const std::string& cls = {},
                double width = 1.5) {
    out_ << "<polyline fill=\"none\" stroke=\"" << stroke << "\" stroke-width=\"" << num(width) << '"' << class_attr(cls)
         << " points=\"";
    for (std::size_t i = 0; i < pts.size(); ++i) out_ << (i ? " " : "") << num(pts[i].first) << ',' << num(pts[i].second);
    out_ << "\"/>\n";
  }
  void open_group(const std::string& cls, const std::string& extra = {}) {
    out_ << "<g" << class_attr(cls) << extra << ">\n";
  }
  void close_group() { out_ << "</g>\n"; }
  // Markup the caller built (an <image>, a gradient); it must be well formed.
  void raw(const std::string& markup) { out_ << markup; }

  std::string str() const { return out_.str() + "</svg>\n"; }
  // Written atomically: a reader never sees half a file.
  void save(const std::filesystem::path& file) const { io::write_file_atomic(file, str()); }

 private:
  static std::string class_attr(const std::string& cls) { return cls.empty() ? "" : " class=\"" + escape(cls) + "\""; }
  double w_, h_;
  std::ostringstream out_;
};

// One axis's data range; log scales need lo > 0.
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
};

// The range of the finite values, widened by `pad` of its span on each side (and to a unit span when flat).
inline Scale data_range(const std::vector<double>& v, double pad = 0.05) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) return {lo - 0.5, hi + 0.5};
  const double d = (hi - lo) * pad;
  return {lo - d, hi + d};
}

// A rectangular plot area mapping (x, y) data to pixels.
class Axes {
 public:
  Axes(double left, double top, double width, double height, Scale x, Scale y)
      : l_(left), t_(top), w_(width), h_(height), x_(x), y_(y) {
    check<ValueError>(!x.log || (x.lo > 0 && x.hi > x.lo), "svg::Axes: a log x axis needs 0 < lo < hi, got ", x.lo, " and ", x.hi);
    check<ValueError>(!y.log || (y.lo > 0 && y.hi > y.lo), "svg::Axes: a log y axis needs 0 < lo < hi, got ", y.lo, " and ", y.hi);
  }
  double X(double v) const { return l_ + frac(x_, v) * w_; }
  double Y(double v) const { return t_ + h_ - frac(y_, v) * h_; }
  double left() const { return l_; }
  double top() const { return t_; }
  double right() const { return l_ + w_; }
  double bottom() const { return t_ + h_; }

  // Frame, light grid, ticks with their labels, the axis labels and the title.
  void draw(Doc& d, const std::string& xlabel, const std::string& ylabel, const std::string& title = {}) const {
    const auto xt = x_.log ? log_ticks(x_.lo, x_.hi) : nice_ticks(x_.lo, x_.hi);
    const auto yt = y_.log ? log_ticks(y_.lo, y_.hi) : nice_ticks(y_.lo, y_.hi);
    for (double v : xt) {
      if (v < std::min(x_.lo, x_.hi) || v > std::max(x_.lo, x_.hi)) continue;
      d.line(X(v), t_, X(v), bottom(), "#e6e6e6");
      d.line(X(v), bottom(), X(v), bottom() + 5, "black", 1, "xtick");
      d.text(X(v), bottom() + 18, tick_label(v), {11, "middle", 0, "black", "xtick-label"});
    }
    double widest = 0;
    for (double v : yt) {
      if (v < std::min(y_.lo, y_.hi) || v > std::max(y_.lo, y_.hi)) continue;
      d.line(l_, Y(v), right(), Y(v), "#e6e6e6");
      d.line(l_ - 5, Y(v), l_, Y(v), "black", 1, "ytick");
      d.text(l_ - 8, Y(v) + 4, tick_label(v), {11, "end", 0, "black", "ytick-label"});
      widest = std::max(widest, text_width(tick_label(v), 11));
    }
    d.rect(l_, t_, w_, h_, "none", "frame", " stroke=\"black\"");
    d.text(l_ + w_ / 2, bottom() + 38, xlabel, {13, "middle", 0, "black", "xlabel"});
    const double yx = l_ - widest - 20;
    d.text(yx, t_ + h_ / 2, ylabel, {13, "middle", -90, "black", "ylabel"});
    if (!title.empty()) d.text(l_ + w_ / 2, t_ - 12, title, {15, "middle", 0, "black", "title", true});
  }

 private:
  static double frac(const Scale& s, double v) {
    if (s.log) return (std::log10(v) - std::log10(s.lo)) / (std::log10(s.hi) - std::log10(s.lo));
    return (v - s.lo) / (s.hi - s.lo);
  }
  double l_, t_, w_, h_;
  Scale x_, y_;
};

struct LegendEntry {
  std::string label;
  std::string colour;
  bool marker = false;  // a dot instead of a line segment
};

// A boxed legend whose top-right corner is at (right, top).
inline void legend(Doc& d, double right, double top, const std::vector<LegendEntry>& entries) {
  double widest = 0;
  for (const auto& e : entries) widest = std::max(widest, text_width(e.label, 12));
  const double w = widest + 44, h = 8 + 18 * static_cast<double>(entries.size());
  d.open_group("legend");
  d.rect(right - w, top, w, h, "white", {}, " stroke=\"#999999\" fill-opacity=\"0.85\"");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const double y = top + 16 + 18 * static_cast<double>(i);
    if (entries[i].marker) d.circle(right - w + 18, y - 4, 4, entries[i].colour);
    else d.line(right - w + 8, y - 4, right - w + 28, y - 4, entries[i].colour, 2);
    d.text(right - w + 34, y, entries[i].label, {12, "start", 0, "black", "legend-label"});
  }
  d.close_group();
}

}  // namespace fastpp::svg
