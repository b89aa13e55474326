// The linear-regression experiment of the Paddle NNDL book (the PaddlePaddle
// practice companion of Qiu Xipeng's "Neural Networks and Deep Learning",
// nndl.github.io): 1000 samples of y = 0.5 x1 + 0.8 x2 + 0.01 U(0, 1), a Linear(2
// -> 1) layer with N(0, 1) weights and zero bias, MSE/2, mini-batches of 64 in
// order (no shuffling), 30 epochs, for the book's five optimizers with its
// conventions: eps inside the square root, the learning rate inside the
// momentum. --csv FILE writes optimizer,epoch,loss (the epoch's mean batch
// loss). `linear_fit --help` lists the flags.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "descend/descend.hpp"
#include "descend/nn.hpp"

namespace {

struct Entry {
  std::string name;
  std::unique_ptr<descend::Optimizer<double>> optimizer;
  // RMSProp at the book's constant lr 0.1 normalises every step to ~lr, so it
  // keeps moving by a few hundredths around the optimum instead of settling.
  bool settles = true;
};

std::vector<Entry> book_optimizers() {
  using descend::EpsPlacement;
  std::vector<Entry> list;
  descend::SgdOptions sgd;
  sgd.lr = 0.01;
  list.push_back({"sgd", std::make_unique<descend::Sgd<double>>(sgd)});
  descend::AdagradOptions adagrad;
  adagrad.lr = 0.1, adagrad.eps = 1e-7, adagrad.eps_placement = EpsPlacement::inside_sqrt;
  list.push_back({"adagrad", std::make_unique<descend::Adagrad<double>>(adagrad)});
  descend::RmspropOptions rmsprop;
  rmsprop.lr = 0.1, rmsprop.alpha = 0.9, rmsprop.eps = 1e-7;
  rmsprop.eps_placement = EpsPlacement::inside_sqrt;
  list.push_back({"rmsprop", std::make_unique<descend::Rmsprop<double>>(rmsprop), false});
  descend::SgdOptions momentum;
  momentum.lr = 0.01, momentum.momentum = 0.9;
  momentum.momentum_style = descend::MomentumStyle::lr_inside;
  list.push_back({"momentum", std::make_unique<descend::Sgd<double>>(momentum)});
  descend::AdamOptions adam;
  adam.lr = 0.1, adam.beta1 = 0.9, adam.beta2 = 0.99, adam.eps = 1e-7;
  adam.eps_placement = EpsPlacement::inside_sqrt;
  list.push_back({"adam", std::make_unique<descend::Adam<double>>(adam)});
  return list;
}

// Trains each optimizer from the same start and prints its loss per epoch and
// what it learned; 0 when every optimizer that settles came within 0.01.
int fit(std::uint64_t seed, const std::string& csv) {
  const auto data = descend::data::linear<double>(1000, seed);
  const int batch = 64, epochs = 30;
  const Eigen::Index n = data.inputs.rows();
  std::ofstream out;
  if (!csv.empty()) out = example::open_csv(csv, "optimizer,epoch,loss");

  bool all_close = true;
  for (Entry& entry : book_optimizers()) {
    descend::data::Random random(seed + 1);  // the same N(0, 1) start for every optimizer
    descend::nn::Dense<double> linear(2, 1, random, descend::nn::Init::standard_normal);
    descend::nn::Mse<double> loss(/*half=*/true);
    std::printf("%s\n", entry.name.c_str());
    for (int epoch = 0; epoch < epochs; ++epoch) {
      double total = 0;
      int batches = 0;
      for (Eigen::Index start = 0; start < n; start += batch) {
        const Eigen::Index rows = std::min<Eigen::Index>(batch, n - start);
        const Eigen::MatrixXd x = data.inputs.middleRows(start, rows);
        const Eigen::MatrixXd y = data.targets.middleRows(start, rows);
        total += loss.forward(linear.forward(x), y);
        ++batches;
        linear.backward(loss.backward(linear.output(), y));
        entry.optimizer->update(linear.weights(), linear.dweights());
        entry.optimizer->update(linear.biases(), linear.dbiases());
      }
      std::printf("  epoch %2d  loss %.6f\n", epoch, total / batches);
      if (out.is_open())
        out << entry.name << ',' << epoch << ',' << example::exact(total / batches) << '\n';
    }
    const Eigen::Vector2d w = linear.weights().col(0);
    const double error = (w - Eigen::Vector2d(0.5, 0.8)).cwiseAbs().maxCoeff();
    if (entry.settles) all_close = all_close && error <= 0.01;
    std::printf("  %-8s w = (%.4f, %.4f)  b = %.4f  max|w - (0.5, 0.8)| = %.4f%s\n",
                entry.name.c_str(), w(0), w(1), linear.biases()(0), error,
                entry.settles ? "" : "  (constant-lr RMSProp hovers within ~lr)");
  }
  if (out.is_open()) example::close_csv(out, csv);
  std::printf(all_close ? "sgd, adagrad, momentum and adam learned w within 0.01 of (0.5, 0.8)\n"
                        : "FAILED: an optimizer did not learn w within 0.01 of (0.5, 0.8)\n");
  return all_close ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  example::Cli cli("Fits the Paddle NNDL book's linear data with its five optimizers.",
                   "linear_fit");
  std::uint64_t seed = 0;
  std::string csv;
  cli.add_number("--seed", seed, std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max(),
                 "draws the data and the initial weights");
  cli.add_string("--csv", csv, "FILE", "write optimizer,epoch,loss per epoch to FILE");
  return cli.run(argc, argv, [&] { return fit(seed, csv); });
}
