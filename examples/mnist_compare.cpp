// The cute-dl comparison on (Fashion-)MNIST: one 784-128-10 ReLU network,
// float, trained eight times from the same initial weights, with the same
// validation set and the same batch orders (all from --seed), by
//   sgd-1e-4   SGD lr 1e-4 (too small)     adagrad   Adagrad lr 0.001
//   sgd-0.2    SGD lr 0.2 (too large)      rmsprop   RMSProp lr 1e-4, alpha 0.99
//   sgd-0.01   SGD lr 0.01 (about right)   adadelta  Adadelta lr 1.0, rho 0.99
//   momentum   SGD lr 0.002, momentum 0.9  adam      Adam, PyTorch's defaults
// (PyTorch's conventions: momentum's lr outside the buffer). Each run
// validates once per epoch and stops early as cute-dl describes: after
// --patience validations in a row without a lower validation loss, after
// --target-patience in a row above --target-accuracy, or at --max-epochs.
//
// --csv FILE writes
//   run,optimizer,lr,epoch,train_loss,train_acc,val_loss,val_acc,seconds
// per run per epoch (train_* the means over the epoch's batches, each from
// its forward pass before its update; val_* after the epoch; values as the
// shortest text that reads back as the same double). --confusion FILE writes
//   run,true,predicted,count
// the test-set confusion matrix of the run with the highest validation
// accuracy, from its final weights. At the end a Markdown table: per run,
// the epochs trained and why it stopped, its best validation accuracy (and
// the epoch), the test accuracy of its final weights and its seconds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mnist_setup.hpp"

namespace {

using Scalar = float;
using Optimizer = descend::Optimizer<Scalar>;

struct Run {
  std::string name, optimizer;
  std::function<std::unique_ptr<Optimizer>()> make;
};

template <class Opt, class Options>
std::function<std::unique_ptr<Optimizer>()> with(Options o) {
  return [o] { return std::make_unique<Opt>(o); };
}

std::vector<Run> cute_dl_runs() {
  const auto sgd = [](double lr, double momentum) {
    descend::SgdOptions o;
    o.lr = lr;
    o.momentum = momentum;
    return with<descend::Sgd<Scalar>>(o);
  };
  descend::AdagradOptions adagrad;
  adagrad.lr = 0.001;
  descend::RmspropOptions rmsprop;
  rmsprop.lr = 1e-4;
  rmsprop.alpha = 0.99;
  descend::AdadeltaOptions adadelta;
  adadelta.rho = 0.99;
  return {{"sgd-1e-4", "sgd", sgd(1e-4, 0)},
          {"sgd-0.2", "sgd", sgd(0.2, 0)},
          {"sgd-0.01", "sgd", sgd(0.01, 0)},
          {"momentum", "sgd", sgd(0.002, 0.9)},
          {"adagrad", "adagrad", with<descend::Adagrad<Scalar>>(adagrad)},
          {"rmsprop", "rmsprop", with<descend::Rmsprop<Scalar>>(rmsprop)},
          {"adadelta", "adadelta", with<descend::Adadelta<Scalar>>(adadelta)},
          {"adam", "adam", with<descend::Adam<Scalar>>(descend::AdamOptions{})}};
}

struct Outcome {
  std::string name, stopped_by;
  long epochs = 0, best_epoch = 0;
  double lr = 0, best_val_acc = -1, test_acc = 0, seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  example::Cli cli(
      "Trains a 784-128-10 ReLU network on (Fashion-)MNIST with eight optimizer settings from "
      "the same initial weights (the cute-dl comparison), each with early stopping.",
      "mnist_compare");
  const std::vector<Run> all_runs = cute_dl_runs();
  std::vector<std::string> run_names;
  for (const Run& r : all_runs) run_names.push_back(r.name);

  example::MnistDataFlags data_flags;
  data_flags.validation = 5000;
  example::StoppingFlags stopping;
  stopping.target_accuracy = 0.9;
  std::string csv, confusion;
  std::vector<std::string> selected;
  long max_epochs = 50, batch_size = 128;
  std::uint64_t seed = 0;
  data_flags.add(cli, 1, "training images held out for validation, drawn at random");
  cli.add_number("--max-epochs", max_epochs, 1L, 1'000'000L, "most epochs per run");
  cli.add_number("--batch-size", batch_size, 1L, 1'000'000L, "samples per minibatch");
  cli.add_number("--seed", seed, std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max(),
                 "draws the initial weights, the validation set and the batch orders");
  stopping.add(cli);
  cli.add_list("--runs", selected, ',', run_names, "NAME,...",
               "the runs to make, separated by commas (default: all)");
  cli.add_string("--csv", csv, "FILE", "write the curves, one row per run per epoch, to FILE");
  cli.add_string("--confusion", confusion, "FILE",
                 "write the test-set confusion matrix of the run with the best validation "
                 "accuracy to FILE");

  return cli.run(argc, argv, [&] {
    using Clock = std::chrono::steady_clock;
    const descend::nn::EarlyStoppingOptions stopping_options = stopping.options();
    descend::data::Random split_random(seed);
    const auto data = example::read_mnist_data<Scalar>(data_flags, split_random);
    data.print(cli.name(), data_flags.data_dir);
    std::printf(
        "784-128-10 ReLU, float, PyTorch's initialisation, batch %ld, seed %ju; stop after %ld "
        "validations without a lower loss, %ld above accuracy %g, or %ld epochs\n",
        batch_size, static_cast<std::uintmax_t>(seed), stopping.patience, stopping.target_patience,
        stopping.target_accuracy, max_epochs);

    std::ofstream csv_out;
    if (!csv.empty())
      csv_out = example::open_csv(
          csv, "run,optimizer,lr,epoch,train_loss,train_acc,val_loss,val_acc,seconds");
    std::vector<Outcome> outcomes;
    Eigen::Matrix<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> best_confusion;
    std::size_t best = 0;
    const auto total_start = Clock::now();
    for (const Run& run : all_runs) {
      if (!selected.empty() &&
          std::find(selected.begin(), selected.end(), run.name) == selected.end())
        continue;
      example::MnistNet<Scalar> net(data.train.inputs.cols(), 128, 10, seed + 1,
                                    descend::nn::Init::torch_default);
      const auto optimizer = run.make();
      net.register_with(*optimizer);
      descend::data::Random batch_random(seed + 2);
      descend::data::Minibatches<Scalar> batches(data.train, batch_size);
      auto workspace = net.workspace();
      descend::nn::EarlyStopping early(stopping_options);
      Outcome o;
      o.name = run.name;
      o.lr = optimizer->lr(0);
      o.stopped_by = "max epochs";
      while (o.epochs < max_epochs) {
        const auto start = Clock::now();
        const auto t = net.train_epoch(batches, *optimizer, batch_random);
        const auto v = net.evaluate(data.valid, workspace);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        ++o.epochs;
        o.seconds += seconds;
        if (v.accuracy() > o.best_val_acc) o.best_val_acc = v.accuracy(), o.best_epoch = o.epochs;
        if (csv_out.is_open())
          csv_out << run.name << ',' << run.optimizer << ',' << example::exact(o.lr) << ','
                  << o.epochs << ',' << example::exact(t.loss) << ',' << example::exact(t.accuracy)
                  << ',' << example::exact(v.mean_loss()) << ',' << example::exact(v.accuracy())
                  << ',' << example::exact(seconds) << '\n';
        if (early.update(v.mean_loss(), v.accuracy())) {
          o.stopped_by = early.reason() == descend::nn::EarlyStopping::Reason::patience ? "patience"
                                                                                        : "target";
          break;
        }
      }
      const auto test = net.evaluate(data.test, workspace);
      o.test_acc = test.accuracy();
      std::printf(
          "%-9s %-8s lr %-6s %3ld epochs (%s)  best val_acc %.4f (epoch %ld)  test acc %.4f  "
          "%.1f s\n",
          run.name.c_str(), run.optimizer.c_str(), example::exact(o.lr).c_str(), o.epochs,
          o.stopped_by.c_str(), o.best_val_acc, o.best_epoch, o.test_acc, o.seconds);
      std::fflush(stdout);
      if (outcomes.empty() || o.best_val_acc > outcomes[best].best_val_acc) {
        best = outcomes.size();
        best_confusion = net.confusion(data.test, workspace);
      }
      outcomes.push_back(o);
    }
    if (csv_out.is_open()) example::close_csv(csv_out, csv);
    if (!confusion.empty()) {
      std::ofstream out = example::open_csv(confusion, "run,true,predicted,count");
      for (Eigen::Index t = 0; t < best_confusion.rows(); ++t)
        for (Eigen::Index p = 0; p < best_confusion.cols(); ++p)
          out << outcomes[best].name << ',' << t << ',' << p << ',' << best_confusion(t, p) << '\n';
      example::close_csv(out, confusion);
    }

    std::printf(
        "\n| run | lr | epochs | stopped by | best val acc (epoch) | test acc, final "
        "weights | seconds |\n|---|---|---|---|---|---|---|\n");
    for (const Outcome& o : outcomes)
      std::printf("| %s | %s | %ld | %s | %.4f (%ld) | %.4f | %.1f |\n", o.name.c_str(),
                  example::exact(o.lr).c_str(), o.epochs, o.stopped_by.c_str(), o.best_val_acc,
                  o.best_epoch, o.test_acc, o.seconds);
    std::printf("\nbest validation accuracy: %s; %zu runs in %.1f s\n", outcomes[best].name.c_str(),
                outcomes.size(), std::chrono::duration<double>(Clock::now() - total_start).count());
    return 0;
  });
}
