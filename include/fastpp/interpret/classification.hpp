#pragma once
// ClassificationInterpretation: where a single-label classifier goes wrong (fastai's interpret.py).
//
//   auto interp = ClassificationInterpretation::from_learner(learn);   // the validation set
//   interp.confusion_matrix();          // [C, C] int64, rows actual, columns predicted
//   interp.most_confused(2);            // {actual, predicted, count}, largest count first
//   interp.top_losses(9);               // the 9 items with the largest loss
//   interp.print_classification_report(std::cout);   // scikit-learn's classification_report
//   interp.plot_confusion_matrix("cm.svg");
//   interp.plot_top_losses(9, "top_losses.svg");
//
// It keeps only what get_preds returns (probabilities, targets, per-item losses, dataset positions) and
// the vocab, as fastai does; the images for plot_top_losses are reloaded on demand through the loader's
// pipeline (fastai once kept every input and ran out of memory). The learner's type is not part of the
// interpretation's: the image loader is a std::function.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <numeric>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../io/atomic_file.hpp"
#include "../vision/augment.hpp"  // float_to_uint8
#include "../vision/image.hpp"    // encode_png
#include "svg.hpp"

namespace fastpp {

// One cell of most_confused: `count` items of class `actual` were predicted as `predicted`.
struct Confusion {
  std::string actual, predicted;
  std::int64_t count = 0;
  bool operator==(const Confusion&) const = default;
};

// One row of top_losses.
struct TopLoss {
  double loss = 0;
  std::int64_t row = 0;         // position in the interpretation's rows (get_preds' order)
  std::int64_t index = 0;       // the item's position in the loader's dataset (dl.items()[index])
  std::int64_t predicted = 0;   // class indices into vocab
  std::int64_t actual = 0;
  std::string predicted_label, actual_label;
  double probability = 0;       // of the predicted class (fastai's plot_top_losses caption)
};

struct ConfusionMatrixPlotOptions {
  bool normalize = false;  // divide each row by its count (the actual class's support)
  std::string title = "Confusion matrix";
  int norm_dec = 2;        // decimals of a normalized cell
  bool plot_txt = true;    // the value in each cell
};

struct TopLossesPlotOptions {
  bool largest = true;  // false: the smallest losses (the most confident right answers)
  int ncols = 0;        // 0: fastai's grid (ncols = ceil(k / int(sqrt(k))))
  int cell_px = 160;    // the side of the square each image is fitted into
  int font_px = 12;
};

// The ranks first, first + 1, ..., last - 1 (Python's range(first, last)), for plot_top_losses.
inline std::vector<std::int64_t> rank_range(std::int64_t first, std::int64_t last) {
  check<ValueError>(first >= 0 && last >= first, "rank_range: need 0 <= first <= last, got ", first, " and ", last);
  std::vector<std::int64_t> r(static_cast<std::size_t>(last - first));
  std::iota(r.begin(), r.end(), first);
  return r;
}

class ClassificationInterpretation {
 public:
  // The image of the item at dataset position i, HWC uint8 (as show_batch draws it).
  using ImageLoader = std::function<Tensor<std::uint8_t>(std::int64_t)>;

  // From raw predictions (what get_preds returns): probs [N, C], targets [N] class indices, vocab of C
  // names. losses [N] per item; left undefined, they are cross-entropy's, -log(probs[i, target]).
  // idxs [N] the dataset positions (empty: 0..N-1). images, when given, lets plot_top_losses draw.
  ClassificationInterpretation(Tensor<float, cpu> probs, Tensor<std::int64_t, cpu> targets, std::vector<std::string> vocab,
                               Tensor<float, cpu> losses = {}, std::vector<std::int64_t> idxs = {},
                               ImageLoader images = {})
      : probs_(std::move(probs)), targets_(std::move(targets)), losses_(std::move(losses)), idxs_(std::move(idxs)),
        vocab_(std::move(vocab)), images_(std::move(images)) {
    check<ShapeError>(probs_.defined() && probs_.rank() == 2, "ClassificationInterpretation: probs must be [N, C], got ",
                      probs_.defined() ? probs_.shape().str() : std::string("none"));
    const std::int64_t n = probs_.size(0), c = probs_.size(1);
    check<ShapeError>(n > 0 && c > 0, "ClassificationInterpretation: no predictions (probs ", probs_.shape(), ")");
    check<ShapeError>(static_cast<std::int64_t>(vocab_.size()) == c, "ClassificationInterpretation: ", vocab_.size(),
                      " class names for probabilities of ", c, " classes");
    check<ShapeError>(targets_.defined() && targets_.numel() == n, "ClassificationInterpretation: targets must hold one "
                      "class index per row (", n, "), got ", targets_.defined() ? targets_.shape().str() : std::string("none"),
                      " (multi-label targets have no confusion matrix)");
    for (std::int64_t i = 0; i < n; ++i)
      check<IndexError>(targets_.data()[i] >= 0 && targets_.data()[i] < c, "ClassificationInterpretation: target ",
                        targets_.data()[i], " of row ", i, " is not a class index in [0, ", c, ")");
    if (!losses_.defined()) {
      losses_ = Tensor<float, cpu>::empty({n});
      for (std::int64_t i = 0; i < n; ++i)
        losses_.data()[i] = static_cast<float>(-std::log(std::max(static_cast<double>(probs_.data()[i * c + targets_.data()[i]]), 1e-45)));
    }
    check<ShapeError>(losses_.numel() == n, "ClassificationInterpretation: ", losses_.numel(), " losses for ", n, " rows");
    if (idxs_.empty()) {
      idxs_.resize(static_cast<std::size_t>(n));
      std::iota(idxs_.begin(), idxs_.end(), std::int64_t{0});
    }
    check<ShapeError>(static_cast<std::int64_t>(idxs_.size()) == n, "ClassificationInterpretation: ", idxs_.size(),
                      " dataset positions for ", n, " rows");
    decoded_.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = probs_.data() + i * c;
      decoded_[static_cast<std::size_t>(i)] = std::max_element(row, row + c) - row;  // the first maximum, as argmax
    }
  }

  // Predictions of the learner's loader ds_idx (0 train, 1 valid) with per-item losses; for image
  // learners, plot_top_losses reloads an item through that loader's pipeline and decodes it as show_batch does.
  template <class LearnerT>
  static ClassificationInterpretation from_learner(LearnerT& learn, int ds_idx = 1) {
    using YBatch = typename LearnerT::y_batch;
    static_assert(std::is_same_v<YBatch, Tensor<std::int64_t, cpu>>,
                  "ClassificationInterpretation needs single-label targets (a CategoryBlock: one class index per "
                  "item); a multi-label learner has no confusion matrix");
    check<IndexError>(ds_idx == 0 || ds_idx == 1, "ClassificationInterpretation::from_learner: ds_idx must be 0 (train) "
                      "or 1 (valid), got ", ds_idx);
    auto p = learn.get_preds(ds_idx, /*with_loss=*/true);
    const auto& voc = learn.dls().vocab;
    std::vector<std::string> vocab(voc.begin(), voc.end());
    ImageLoader images;
    using Loader = typename LearnerT::loader_type;
    if constexpr (std::is_same_v<typename Loader::x_batch, Tensor<float, cpu>>) {
      const Loader dl = ds_idx == 0 ? learn.dls().train : learn.dls().valid;
      images = [dl](std::int64_t i) {
        const auto items = dl.items();
        const auto x = dl.decode(dl.inputs({items[i]}));  // [1, H, W, C] in [0, 1]
        return float_to_uint8(x)[0];
      };
    }
    return ClassificationInterpretation(std::move(p.probs), std::move(p.targets), std::move(vocab), std::move(p.losses),
                                        std::move(p.idxs), std::move(images));
  }

  std::int64_t n_rows() const { return probs_.size(0); }
  std::int64_t n_classes() const { return probs_.size(1); }
  const std::vector<std::string>& vocab() const { return vocab_; }
  const Tensor<float, cpu>& probs() const { return probs_; }
  const Tensor<std::int64_t, cpu>& targets() const { return targets_; }
  const Tensor<float, cpu>& losses() const { return losses_; }
  const std::vector<std::int64_t>& idxs() const { return idxs_; }
  // The predicted class of each row: the argmax of its probabilities.
  const std::vector<std::int64_t>& decoded() const { return decoded_; }
  bool has_images() const { return static_cast<bool>(images_); }

  // cm[actual, predicted] = how many rows of class `actual` were predicted as `predicted`.
  Tensor<std::int64_t, cpu> confusion_matrix() const {
    const std::int64_t c = n_classes();
    auto cm = Tensor<std::int64_t, cpu>::zeros({c, c});
    for (std::int64_t i = 0; i < n_rows(); ++i) ++cm.data()[targets_.data()[i] * c + decoded_[static_cast<std::size_t>(i)]];
    return cm;
  }

  // The off-diagonal cells with count >= min_val, largest first; equal counts keep the row-major order
  // (fastai: the diagonal set to 0, np.where(cm >= min_val), then a stable sort by count, descending; so
  // min_val = 0 lists every cell, the diagonal's as zeros).
  std::vector<Confusion> most_confused(std::int64_t min_val = 1) const {
    const auto cm = confusion_matrix();
    const std::int64_t c = n_classes();
    std::vector<Confusion> out;
    for (std::int64_t a = 0; a < c; ++a)
      for (std::int64_t p = 0; p < c; ++p) {
        const std::int64_t v = a == p ? 0 : cm.data()[a * c + p];
        if (v >= min_val) out.push_back({vocab_[static_cast<std::size_t>(a)], vocab_[static_cast<std::size_t>(p)], v});
      }
    std::stable_sort(out.begin(), out.end(), [](const Confusion& x, const Confusion& y) { return x.count > y.count; });
    return out;
  }

  // The k rows with the largest losses (smallest with largest = false); k < 0 or k > N: all of them.
  // Equal losses keep the rows' order.
  std::vector<TopLoss> top_losses(std::int64_t k = -1, bool largest = true) const {
    const std::int64_t n = n_rows(), c = n_classes();
    if (k < 0 || k > n) k = n;
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    const float* l = losses_.data();
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int64_t a, std::int64_t b) { return largest ? l[a] > l[b] : l[a] < l[b]; });
    std::vector<TopLoss> out;
    for (std::int64_t r = 0; r < k; ++r) {
      const std::int64_t i = order[static_cast<std::size_t>(r)];
      TopLoss t;
      t.loss = l[i];
      t.row = i;
      t.index = idxs_[static_cast<std::size_t>(i)];
      t.predicted = decoded_[static_cast<std::size_t>(i)];
      t.actual = targets_.data()[i];
      t.predicted_label = vocab_[static_cast<std::size_t>(t.predicted)];
      t.actual_label = vocab_[static_cast<std::size_t>(t.actual)];
      t.probability = probs_.data()[i * c + t.predicted];
      out.push_back(std::move(t));
    }
    return out;
  }

  // scikit-learn's classification_report(targets, decoded, labels=range(C), target_names=vocab, digits),
  // character for character: precision, recall, f1-score and support per class, then accuracy, macro avg
  // and weighted avg. Undefined ratios (a class never predicted, or without items) count as 0, as
  // scikit-learn's zero_division="warn" does.
  std::string classification_report(int digits = 2) const {
    check<ValueError>(digits >= 0 && digits <= 12, "classification_report: digits must be in [0, 12], got ", digits);
    const std::int64_t c = n_classes();
    const auto cm = confusion_matrix();
    std::vector<double> prec(static_cast<std::size_t>(c)), rec(prec), f1(prec);
    std::vector<std::int64_t> support(static_cast<std::size_t>(c));
    std::int64_t correct = 0, total = 0;
    for (std::int64_t k = 0; k < c; ++k) {
      std::int64_t predicted = 0, actual = 0;
      for (std::int64_t j = 0; j < c; ++j) predicted += cm.data()[j * c + k], actual += cm.data()[k * c + j];
      const double tp = static_cast<double>(cm.data()[k * c + k]);
      const auto s = static_cast<std::size_t>(k);
      prec[s] = predicted > 0 ? tp / static_cast<double>(predicted) : 0.0;
      rec[s] = actual > 0 ? tp / static_cast<double>(actual) : 0.0;
      f1[s] = prec[s] + rec[s] > 0 ? 2 * prec[s] * rec[s] / (prec[s] + rec[s]) : 0.0;
      support[s] = actual;
      correct += cm.data()[k * c + k];
      total += actual;
    }
    std::size_t width = std::max<std::size_t>(std::string("weighted avg").size(), static_cast<std::size_t>(digits));
    for (const auto& v : vocab_) width = std::max(width, svg::text_length(v));
    auto pad = [](const std::string& s, std::size_t w) {
      const std::size_t n = svg::text_length(s);
      return std::string(n < w ? w - n : 0, ' ') + s;
    };
    auto fixed = [&](double v) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%*.*f", 9, digits, v);
      return std::string(buf);
    };
    auto integer = [](std::int64_t v) { return pad_int(v); };
    std::string out = pad("", width) + " ";
    for (const char* h : {"precision", "recall", "f1-score", "support"}) out += " " + pad(h, 9);
    out += "\n\n";
    for (std::int64_t k = 0; k < c; ++k) {
      const auto s = static_cast<std::size_t>(k);
      out += pad(vocab_[s], width) + " " + " " + fixed(prec[s]) + " " + fixed(rec[s]) + " " + fixed(f1[s]) + " " +
             integer(support[s]) + "\n";
    }
    out += "\n";
    const double acc = total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
    out += pad("accuracy", width) + " " + " " + std::string(9, ' ') + " " + std::string(9, ' ') + " " + fixed(acc) + " " +
           integer(total) + "\n";
    auto mean = [&](const std::vector<double>& v, bool weighted) {
      double s = 0, w = 0;
      for (std::size_t i = 0; i < v.size(); ++i) {
        const double wi = weighted ? static_cast<double>(support[i]) : 1.0;
        s += wi * v[i], w += wi;
      }
      return w > 0 ? s / w : 0.0;
    };
    for (bool weighted : {false, true})
      out += pad(weighted ? "weighted avg" : "macro avg", width) + " " + " " + fixed(mean(prec, weighted)) + " " +
             fixed(mean(rec, weighted)) + " " + fixed(mean(f1, weighted)) + " " + integer(total) + "\n";
    return out;
  }
  // Prints the report followed by an empty line, as fastai's print(classification_report(...)).
  void print_classification_report(std::ostream& os = std::cout, int digits = 2) const {
    os << classification_report(digits) << '\n';
  }

  // fastai's plot_confusion_matrix: the matrix as coloured cells (matplotlib's Blues), the count (or the
  // row-normalized share) in each, class names on both axes (predicted along x, rotated; actual along y),
  // and a colour scale. The canvas grows with the class count so 37 classes stay readable. Each cell is a
  // <rect class="cell" data-actual= data-predicted= data-value=>.
  std::string confusion_matrix_svg(const ConfusionMatrixPlotOptions& o = {}) const {
    check<ValueError>(o.norm_dec >= 0 && o.norm_dec <= 6, "plot_confusion_matrix: norm_dec must be in [0, 6], got ", o.norm_dec);
    const std::int64_t c = n_classes();
    const auto cm = confusion_matrix();
    std::vector<double> val(static_cast<std::size_t>(c * c));
    for (std::int64_t a = 0; a < c; ++a) {
      std::int64_t row = 0;
      for (std::int64_t p = 0; p < c; ++p) row += cm.data()[a * c + p];
      for (std::int64_t p = 0; p < c; ++p) {
        const double v = static_cast<double>(cm.data()[a * c + p]);
        // An actual class without items has an empty row: its shares are shown as 0.
        val[static_cast<std::size_t>(a * c + p)] = o.normalize ? (row > 0 ? v / static_cast<double>(row) : 0.0) : v;
      }
    }
    const double vmax = std::max(*std::max_element(val.begin(), val.end()), o.normalize ? 1e-12 : 1.0);
    const double cell = c <= 8 ? 56.0 : std::clamp(640.0 / static_cast<double>(c), 20.0, 56.0);
    const double label_px = std::min(12.0, std::max(9.0, cell * 0.6));
    const double cell_font = cell >= 40 ? 13.0 : std::max(7.0, cell * 0.4);
    double longest = 0;
    for (const auto& v : vocab_) longest = std::max(longest, svg::text_width(v, label_px));
    const double side = cell * static_cast<double>(c);
    const double left = 40 + longest + 10, top = 50, bar_w = 18;
    const double width = left + side + 30 + bar_w + 60, height = top + side + longest + 60;
    svg::Doc d(width, height);
    d.text(left + side / 2, top - 18, o.title, {15, "middle", 0, "black", "title", true});
    for (std::int64_t a = 0; a < c; ++a)
      for (std::int64_t p = 0; p < c; ++p) {
        const double v = val[static_cast<std::size_t>(a * c + p)];
        const double x = left + static_cast<double>(p) * cell, y = top + static_cast<double>(a) * cell;
        d.rect(x, y, cell, cell, svg::blues(v / vmax), "cell",
               " data-actual=\"" + std::to_string(a) + "\" data-predicted=\"" + std::to_string(p) + "\" data-value=\"" +
                   (o.normalize ? fixed_dec(v, 6) : std::to_string(cm.data()[a * c + p])) + "\"");
        if (o.plot_txt)
          d.text(x + cell / 2, y + cell / 2 + cell_font * 0.35,
                 o.normalize ? fixed_dec(v, o.norm_dec) : std::to_string(cm.data()[a * c + p]),
                 {cell_font, "middle", 0, v > vmax / 2 ? "white" : "black", "cell-text"});
      }
    d.rect(left, top, side, side, "none", "frame", " stroke=\"black\"");
    for (std::int64_t k = 0; k < c; ++k) {
      const double mid = static_cast<double>(k) * cell + cell / 2;
      const std::string& name = vocab_[static_cast<std::size_t>(k)];
      d.text(left - 6, top + mid + label_px * 0.35, name, {label_px, "end", 0, "black", "ytick-label"});
      d.text(left + mid + label_px * 0.35, top + side + 6, name, {label_px, "end", -90, "black", "xtick-label"});
    }
    d.text(left + side / 2, top + side + longest + 40, "Predicted", {13, "middle", 0, "black", "xlabel"});
    d.text(16, top + side / 2, "Actual", {13, "middle", -90, "black", "ylabel"});
    // The colour scale: a gradient from 0 to the largest value, with its own ticks.
    const double bx = left + side + 30;
    std::string grad = "<defs><linearGradient id=\"cm-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
    for (int s = 0; s <= 8; ++s)
      grad += "<stop offset=\"" + svg::num(s / 8.0) + "\" stop-color=\"" + svg::blues(s / 8.0) + "\"/>";
    d.raw(grad + "</linearGradient></defs>\n");
    d.rect(bx, top, bar_w, side, "url(#cm-scale)", "colour-scale", " stroke=\"black\"");
    for (double t : svg::nice_ticks(0, vmax, 5)) {
      if (t > vmax) continue;
      const double y = top + side - t / vmax * side;
      d.line(bx + bar_w, y, bx + bar_w + 4, y);
      d.text(bx + bar_w + 7, y + 4, svg::tick_label(t), {11, "start", 0, "black", "scale-label"});
    }
    return d.str();
  }
  void plot_confusion_matrix(const std::filesystem::path& file, const ConfusionMatrixPlotOptions& o = {}) const {
    io::write_file_atomic(file, confusion_matrix_svg(o));
  }

  // The rows at the given ranks of the loss order (rank 0: the largest loss, or the smallest with
  // largest = false), in the order given: fastai's plot_top_losses(k) with k a list or range of ranks.
  std::vector<TopLoss> top_losses_at(const std::vector<std::int64_t>& ranks, bool largest = true) const {
    const auto all = top_losses(-1, largest);
    std::vector<TopLoss> out;
    for (std::int64_t r : ranks) {
      check<IndexError>(r >= 0 && r < n_rows(), "top_losses_at: rank ", r, " is outside 0..", n_rows() - 1,
                        " (the interpretation holds ", n_rows(), " rows)");
      out.push_back(all[static_cast<std::size_t>(r)]);
    }
    return out;
  }

  // fastai's plot_top_losses: the k items with the largest losses, each image captioned
  // "predicted/actual / loss / probability" (two decimals; the probability of the predicted class), under
  // the title "Prediction/Actual/Loss/Probability". Each item is a <g class="item" data-index= data-rank=>
  // holding its caption and its image (an embedded PNG).
  std::string top_losses_svg(std::int64_t k, const TopLossesPlotOptions& o = {}) const {
    check<ValueError>(k > 0, "plot_top_losses: k must be positive, got ", k);
    if (k > n_rows()) k = n_rows();
    return top_losses_svg(rank_range(0, k), o);
  }
  // The same for chosen ranks (fastai's plot_top_losses with a list or range): rank_range(9, 18) shows the
  // tenth to eighteenth largest losses, {0, 5, 10} three of them. A braced {9} is k = 9, not rank 9.
  std::string top_losses_svg(const std::vector<std::int64_t>& ranks, const TopLossesPlotOptions& o = {}) const {
    check<ValueError>(has_images(), "plot_top_losses: this interpretation has no images (it was made from raw "
                      "predictions without an image loader, or the learner's inputs are not images)");
    check<ValueError>(!ranks.empty(), "plot_top_losses: no rank to show (an empty list of ranks)");
    check<ValueError>(o.cell_px > 0 && o.font_px > 0 && o.ncols >= 0, "plot_top_losses: cell_px and font_px must be "
                      "positive and ncols 0 or more, got ", o.cell_px, ", ", o.font_px, ", ", o.ncols);
    const auto top = top_losses_at(ranks, o.largest);
    const int n = static_cast<int>(top.size());
    const auto [nrows, ncols] = grid_shape(n, o.ncols > 0 ? (n + o.ncols - 1) / o.ncols : 0, o.ncols);
    const double cell = o.cell_px, pad = 10, cap = o.font_px + 8, title_h = 34;
    const double width = pad + ncols * (cell + pad), height = title_h + nrows * (cap + cell + pad) + pad;
    svg::Doc d(std::max(width, 320.0), height);
    d.text(d.width() / 2, 22, "Prediction/Actual/Loss/Probability", {15, "middle", 0, "black", "title", true});
    for (int i = 0; i < n; ++i) {
      const auto& t = top[static_cast<std::size_t>(i)];
      const Tensor<std::uint8_t> img = images_(t.index);
      check<ShapeError>(img.defined() && img.rank() == 3 && img.size(0) > 0 && img.size(1) > 0, "plot_top_losses: "
                        "the image of item ", t.index, " is not [H, W, C]");
      const double x = pad + (i % ncols) * (cell + pad), y = title_h + (i / ncols) * (cap + cell + pad);
      d.open_group("item", " data-index=\"" + std::to_string(t.index) + "\" data-rank=\"" +
                               std::to_string(ranks[static_cast<std::size_t>(i)]) + "\"");
      d.text(x + cell / 2, y + o.font_px, caption(t), {static_cast<double>(o.font_px), "middle", 0, "black", "caption"});
      // The image is fitted into the square cell, keeping its aspect ratio.
      const double h = static_cast<double>(img.size(0)), w = static_cast<double>(img.size(1));
      const double s = cell / std::max(h, w);
      d.raw("<image x=\"" + svg::num(x + (cell - w * s) / 2) + "\" y=\"" + svg::num(y + cap + (cell - h * s) / 2) +
            "\" width=\"" + svg::num(w * s) + "\" height=\"" + svg::num(h * s) +
            "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64," +
            fastpp::detail::base64(encode_png(img)) + "\"/>\n");
      d.close_group();
    }
    return d.str();
  }
  void plot_top_losses(std::int64_t k, const std::filesystem::path& file, const TopLossesPlotOptions& o = {}) const {
    io::write_file_atomic(file, top_losses_svg(k, o));
  }
  void plot_top_losses(const std::vector<std::int64_t>& ranks, const std::filesystem::path& file,
                       const TopLossesPlotOptions& o = {}) const {
    io::write_file_atomic(file, top_losses_svg(ranks, o));
  }

  // fastai's caption of one top loss: f"{predicted}/{actual} / {loss:.2f} / {prob:.2f}".
  static std::string caption(const TopLoss& t) {
    return t.predicted_label + "/" + t.actual_label + " / " + fixed_dec(t.loss, 2) + " / " + fixed_dec(t.probability, 2);
  }

 private:
  static std::string fixed_dec(double v, int dec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", dec, v);
    return buf;
  }
  static std::string pad_int(std::int64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%9lld", static_cast<long long>(v));
    return buf;
  }

  Tensor<float, cpu> probs_;
  Tensor<std::int64_t, cpu> targets_;
  Tensor<float, cpu> losses_;
  std::vector<std::int64_t> idxs_;
  std::vector<std::string> vocab_;
  ImageLoader images_;
  std::vector<std::int64_t> decoded_;
};

}  // namespace fastpp
