// Trains the spiral classifier once with every optimizer (seed 000's presets,
// PyTorch's defaults for Adadelta) from the same data and the same initial
// weights, writes loss and accuracy per epoch to one CSV, and prints a table.
//
//   compare [--epochs N] [--seed N] [--hidden N] [--csv FILE]
#include <chrono>
#include <cstdio>
#include <fstream>

#include "spiral_setup.hpp"

int main(int argc, char** argv) try {
  example::Flags flags(argc, argv, {});
  const long epochs = flags.integer("epochs", 10001);
  const long seed = flags.integer("seed", 28);
  const long hidden = flags.integer("hidden", 64);
  const std::string csv = flags.text("csv", "compare.csv");
  flags.reject_unknown();

  const auto data = descend::data::spiral<double>(100, 3, seed);
  std::ofstream out(csv);
  if (!out) throw std::runtime_error("cannot write " + csv);
  out << "optimizer,epoch,loss,acc\n";

  std::printf("%-10s %10s %8s %8s %10s\n", "optimizer", "epochs", "loss", "acc", "seconds");
  for (const std::string& name : example::kOptimizers) {
    example::SpiralNet<double> net(static_cast<int>(hidden), 3, seed + 1);  // same start for all
    auto optimizer = example::make_optimizer<double>(example::preset(name));
    example::SpiralNet<double>::Result r{0, 0};
    const auto start = std::chrono::steady_clock::now();
    for (long epoch = 0; epoch < epochs; ++epoch) {
      r = net.train_epoch(data.inputs, data.labels, *optimizer);
      out << name << ',' << epoch << ',' << r.loss << ',' << r.accuracy << '\n';
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-10s %10ld %8.3f %8.3f %10.2f\n", name.c_str(), epochs, r.loss, r.accuracy,
                seconds);
  }
  std::printf("wrote %s\n", csv.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "compare: %s\n", e.what());
  return 2;
}
