#pragma once
// Losses and their building blocks: softmax, log_softmax, nll_loss, cross_entropy (fused), sigmoid,
// binary_cross_entropy_with_logits, label smoothing, fastai's loss objects and default_loss<Target>.
// The loops run in backend::loss_kernels<D> (backend/cpu/loss_kernels.hpp for the host).
#include "loss/binary.hpp"
#include "loss/cross_entropy.hpp"
#include "loss/default_loss.hpp"
#include "loss/flat_losses.hpp"
#include "loss/nll.hpp"
#include "loss/options.hpp"
#include "loss/softmax.hpp"
