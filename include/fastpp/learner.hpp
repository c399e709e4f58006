#pragma once
// fastpp's training: Learner, optimizers, fastai's recipes (fit_one_cycle, fine_tune, lr_find),
// callbacks, metrics and checkpoints. See docs/learner.md.
#include "data.hpp"
#include "learner/callbacks.hpp"
#include "learner/export.hpp"
#include "learner/learner.hpp"
#include "learner/metrics.hpp"
#include "learner/vision_learner.hpp"
