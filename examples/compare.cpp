// Trains the spiral classifier once with every optimizer (the NNFS book's
// presets, PyTorch's defaults for Adadelta) from the same data and the same
// initial weights, writes optimizer,epoch,acc,loss,lr per epoch to one CSV
// (the columns of spiral --csv), and prints a table. `compare --help` lists
// the flags.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>

#include "spiral_setup.hpp"

int main(int argc, char** argv) {
  example::Cli cli("Trains the spiral classifier once with each optimizer's preset.", "compare");
  long epochs = 10001;
  std::uint64_t seed = 28;
  int hidden = 64, samples = 100;
  std::string csv = "compare.csv";
  cli.add_number("--epochs", epochs, 1L, 1'000'000'000L, "training epochs");
  cli.add_number("--seed", seed, std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max(),
                 "draws the data and the initial weights");
  cli.add_number("--hidden", hidden, 1, 100'000, "hidden units");
  cli.add_number("--samples", samples, 2, 1'000'000, "points per class");
  cli.add_string("--csv", csv, "FILE", "write optimizer,epoch,acc,loss,lr per epoch to FILE");

  return cli.run(argc, argv, [&] {
    const auto data = descend::data::spiral<double>(samples, 3, seed);
    std::ofstream out = example::open_csv(csv, "optimizer,epoch,acc,loss,lr");
    std::printf("%-10s %10s %8s %8s %10s\n", "optimizer", "epochs", "loss", "acc", "seconds");
    for (const std::string& name : example::kOptimizers) {
      example::SpiralNet<double> net(hidden, 3, seed + 1);  // the same start for all
      auto optimizer = example::make_optimizer<double>(example::preset(name));
      example::SpiralNet<double>::Result r{0, 0};
      const auto start = std::chrono::steady_clock::now();
      for (long epoch = 0; epoch < epochs; ++epoch) {
        r = net.train_epoch(data.inputs, data.labels, *optimizer);
        out << name << ',' << epoch << ',' << example::exact(r.accuracy) << ','
            << example::exact(r.loss) << ',' << example::exact(optimizer->current_lr()) << '\n';
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      // The last epoch's loss and accuracy (its forward pass, before its update).
      std::printf("%-10s %10ld %8.3f %8.3f %10.2f\n", name.c_str(), epochs, r.loss, r.accuracy,
                  seconds);
    }
    example::close_csv(out, csv);
    std::printf("wrote %s\n", csv.c_str());
    return 0;
  });
}
