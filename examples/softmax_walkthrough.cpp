// The chapter's cross-entropy walk-through (fastbook, chapter 5), step by step, with the numbers PyTorch
// prints for the same activations:
//   torch.manual_seed(42); acts = torch.randn((6,2))*2; targ = tensor([0,1,0,1,1,0])
// The activations are the float32 values PyTorch drew (tests/fixtures/loss/make_fixtures.py wrote their bit
// patterns), so every number below equals the book's. tests/loss/test_walkthrough.cpp checks them.
#include <bit>
#include <cstdint>
#include <fastpp/core/math.hpp>
#include <fastpp/core/print.hpp>
#include <fastpp/loss.hpp>
#include <iostream>

namespace walkthrough {

using fastpp::Tensor;

// Six images, two classes ("3" and "7" in the book): random activations scaled by 2.
inline Tensor<float> activations() {
  constexpr std::uint32_t bits[12] = {0x3f2c62ae, 0x3e83e69d, 0x3ef016e7, 0x3eebdc6c, 0xc00fb9c2, 0xbebeccd8,
                                      0x408d532c, 0xbfa353c6, 0x3f6c5e56, 0x3f08e237, 0x3f88ef83, 0x3fcf3209};
  auto acts = Tensor<float>::empty({6, 2});
  for (int i = 0; i < 12; ++i) acts.data()[i] = std::bit_cast<float>(bits[i]);
  return acts;
}

// Prints each step under a "## <the PyTorch expression>" title, as walkthrough.txt does.
inline void run(std::ostream& os) {
  auto acts = activations();
  auto targ = Tensor<std::int64_t>::from({6}, {0, 1, 0, 1, 1, 0});
  os << "## acts\n" << acts << '\n';

  // With two classes, the probability of class 0 is the sigmoid of how much larger activation 0 is.
  os << "## acts.sigmoid()\n" << fastpp::sigmoid(acts) << '\n';
  auto diff = Tensor<float>::empty({6});
  for (std::int64_t i = 0; i < 6; ++i) diff(i) = acts(i, 0) - acts(i, 1);
  os << "## (acts[:,0]-acts[:,1]).sigmoid()\n" << fastpp::sigmoid(diff) << '\n';

  // softmax generalises that to any number of classes; its first column is the sigmoid above.
  auto sm_acts = fastpp::softmax(acts);
  os << "## sm_acts = torch.softmax(acts, dim=1)\n" << sm_acts << '\n';

  // The probability of the right class, picked by the target's column; nll_loss negates it.
  auto picked = Tensor<float>::empty({6});
  for (std::int64_t i = 0; i < 6; ++i) picked(i) = sm_acts(i, targ(i));
  os << "## sm_acts[idx, targ]\n" << picked << '\n';
  auto neg = Tensor<float>::empty({6});
  for (std::int64_t i = 0; i < 6; ++i) neg(i) = -picked(i);
  os << "## -sm_acts[idx, targ]\n" << neg << '\n';
  os << "## F.nll_loss(sm_acts, targ, reduction='none')\n"
     << fastpp::nll_loss(sm_acts, targ, {.reduction = fastpp::Reduction::none}) << '\n';

  // Taking the log stretches probabilities near 0 and 1 apart; NLL of the log is the cross-entropy.
  auto log_sm = fastpp::log(sm_acts);
  os << "## torch.log(sm_acts)\n" << log_sm << '\n';
  os << "## F.nll_loss(torch.log(sm_acts), targ, reduction='none')\n"
     << fastpp::nll_loss(log_sm, targ, {.reduction = fastpp::Reduction::none}) << '\n';

  // cross_entropy does log_softmax and NLL in one fused, stable pass.
  os << "## nn.CrossEntropyLoss(reduction='none')(acts, targ)\n"
     << fastpp::cross_entropy(acts, targ, {.reduction = fastpp::Reduction::none}) << '\n';
  fastpp::CrossEntropyLossFlat loss;
  os << "## nn.CrossEntropyLoss()(acts, targ)\n" << loss(acts, targ).item() << '\n';
}

}  // namespace walkthrough

#ifndef FASTPP_WALKTHROUGH_NO_MAIN
int main() {
  std::cout.precision(17);
  walkthrough::run(std::cout);
}
#endif
