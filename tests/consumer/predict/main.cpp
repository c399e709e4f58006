// A user's inference program: consumer <exported learner> <image file> prints the predicted label, its
// class index and its probability. Only resnet18 is listed, so only resnet18 is compiled.
#include <fastpp/learner.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) return std::cerr << "usage: consumer <model.fpp> <image>\n", 2;
  auto learn = fastpp::load_learner<fastpp::models::archs<fastpp::models::resnet18>>(argv[1]);
  auto p = learn.predict(argv[2]);
  std::cout << p.label << ' ' << p.index << ' ' << p.probs[static_cast<std::size_t>(p.index)] << '\n';
}
