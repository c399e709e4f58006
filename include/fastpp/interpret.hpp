#pragma once
// fastpp's interpretation of a trained classifier and its pictures (fastai's interpret.py and the
// Recorder's plots): ClassificationInterpretation (confusion matrix, most_confused, top_losses,
// classification report, plot_confusion_matrix, plot_top_losses) and plot_loss, plot_sched, plot_lr_find;
// the training report (HtmlReport, add_html_report, write_report).
// Every plot is a standalone SVG file a browser opens. See docs/interpret.md.
#include "interpret/classification.hpp"
#include "interpret/machine.hpp"
#include "interpret/recorder_plots.hpp"
#include "interpret/report.hpp"
#include "interpret/svg.hpp"
#include "learner.hpp"
