// A 784-128-10 ReLU network with softmax cross-entropy, in float, trained on
// an MNIST-format data set (Fashion-MNIST from Debian's dataset-fashion-mnist
// by default; the original MNIST files work too) with minibatches in a
// seeded order per epoch, any of descend's optimizers and schedules, a
// validation set held out of the training images, and early stopping as
// design note cute-dl describes it. `mnist --help` lists the flags.
//
// Per epoch it prints the training loss and accuracy (the means over the
// epoch's batches, each from its forward pass before its update), the
// validation loss and accuracy (after the epoch), the lr the epoch applied,
// its seconds and an estimate of the time left; at the end, the test loss
// and accuracy. --csv FILE writes
//   epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds
// per epoch, every value as the shortest text that reads back as the same
// double (val_* empty without a validation set).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include "mnist_setup.hpp"

int main(int argc, char** argv) {
  example::Cli cli("Trains a 784-128-10 ReLU network on (Fashion-)MNIST with minibatches.",
                   "mnist");
  example::OptimizerFlags optimizer_flags(cli);
  example::MnistDataFlags data_flags;
  example::StoppingFlags stopping;
  std::string csv, schedule = "none", init = "torch";
  long epochs = 10, batch_size = 128, step_size = 5;
  double gamma = 0.1, require_accuracy = 0;
  std::uint64_t seed = 0;
  data_flags.add_data_dir(cli);
  cli.add_number("--epochs", epochs, 1L, 1'000'000L, "most epochs to train");
  cli.add_number("--batch-size", batch_size, 1L, 1'000'000L, "samples per minibatch");
  cli.add_number("--seed", seed, std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max(),
                 "draws the initial weights, the validation set and the batch orders");
  data_flags.add_subsets(cli, 0,
                         "training images held out for validation, drawn at random (0: none, "
                         "and no early stopping)");
  cli.add_choice("--init", init, {"torch", "nnfs"},
                 "initial weights: torch (PyTorch's nn.Linear) or nnfs (0.01 N(0,1), biases 0)");
  cli.add_choice("--schedule", schedule, example::kSchedules,
                 "lr schedule, stepped per epoch: none, step (StepLR), cosine (to 0 at the "
                 "last epoch) or plateau (ReduceLROnPlateau on the validation loss)");
  const example::Option step_size_flag =
      cli.add_number("--step-size", step_size, 1L, 1'000'000L,
                     "step: epochs between decays; plateau: its patience");
  const example::Option gamma_flag =
      cli.add_number("--gamma", gamma, 0.0, 1.0, "step and plateau: the lr's factor");
  stopping.add(cli);
  cli.add_string("--csv", csv, "FILE", "write the curves, one row per epoch, to FILE");
  cli.add_number("--require-accuracy", require_accuracy, 0.0, 1.0,
                 "exit 1 unless the test accuracy is at least this");

  return cli.run(argc, argv, [&] {
    using Scalar = float;
    using Clock = std::chrono::steady_clock;
    // Flags first, then files: a bad flag costs no reading.
    if (schedule != "plateau" && schedule != "step" && step_size_flag.given())
      throw example::UsageError("--step-size applies to --schedule step and plateau only");
    if (schedule != "plateau" && schedule != "step" && gamma_flag.given())
      throw example::UsageError("--gamma applies to --schedule step and plateau only");
    if (schedule == "plateau" && data_flags.validation == 0)
      throw example::UsageError("--schedule plateau needs a validation set (--validation > 0)");
    descend::nn::EarlyStopping early(stopping.options());

    // One Random draws the validation set, then the batch orders.
    descend::data::Random random(seed);
    const auto data = example::read_mnist_data<Scalar>(data_flags, random);
    const auto& valid = data.valid;

    example::MnistNet<Scalar> net(
        data.train.inputs.cols(), 128, 10, seed + 1,
        init == "torch" ? descend::nn::Init::torch_default : descend::nn::Init::small_normal);
    auto optimizer = optimizer_flags.make<Scalar>();
    net.register_with(*optimizer);
    example::Schedule lr_schedule(schedule, *optimizer, epochs, step_size, gamma);
    descend::data::Minibatches<Scalar> batches(data.train, batch_size);
    auto workspace = net.workspace();

    std::ofstream csv_out;
    if (!csv.empty())
      csv_out = example::open_csv(csv, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds");
    data.print(cli.name(), data_flags.data_dir);
    std::printf("784-128-10 ReLU, float, init %s, %s lr %s, schedule %s, batch %ld, seed %ju\n",
                init.c_str(), optimizer_flags.name().c_str(),
                example::exact(optimizer->lr(0)).c_str(), schedule.c_str(), batch_size,
                static_cast<std::uintmax_t>(seed));

    double train_seconds = 0;
    long epoch = 0;
    for (; epoch < epochs; ++epoch) {
      const auto start = Clock::now();
      const double lr = optimizer->lr(0);  // the rate this epoch applies
      const auto t = net.train_epoch(batches, *optimizer, random);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      double val_loss = nan, val_acc = nan;
      if (valid.size() > 0) {
        const auto v = net.evaluate(valid, workspace);
        val_loss = v.mean_loss();
        val_acc = v.accuracy();
      }
      lr_schedule.step(val_loss);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      train_seconds += seconds;
      const double eta =
          train_seconds / static_cast<double>(epoch + 1) * static_cast<double>(epochs - epoch - 1);
      std::printf("epoch %3ld/%ld  loss %.4f  acc %.4f", epoch + 1, epochs, t.loss, t.accuracy);
      if (valid.size() > 0) std::printf("  val_loss %.4f  val_acc %.4f", val_loss, val_acc);
      std::printf("  lr %.3g  %.2f s  eta %.0f s\n", lr, seconds, eta);
      std::fflush(stdout);
      if (csv_out.is_open()) {
        csv_out << epoch + 1 << ',' << example::exact(t.loss) << ',' << example::exact(t.accuracy)
                << ',';
        if (valid.size() > 0)
          csv_out << example::exact(val_loss) << ',' << example::exact(val_acc);
        else
          csv_out << ',';
        csv_out << ',' << example::exact(lr) << ',' << example::exact(seconds) << '\n';
      }
      if (valid.size() > 0 && early.update(val_loss, val_acc)) {
        ++epoch;
        if (early.reason() == descend::nn::EarlyStopping::Reason::patience)
          std::printf(
              "stopped after epoch %ld: %ld validations without a lower loss than %.4f "
              "(epoch %ld)\n",
              epoch, static_cast<long>(early.without_lower()), early.best_loss(),
              static_cast<long>(early.best_validation()));
        else
          std::printf("stopped after epoch %ld: %ld validations in a row above accuracy %g\n",
                      epoch, static_cast<long>(early.above_target()), stopping.target_accuracy);
        break;
      }
    }
    if (csv_out.is_open()) example::close_csv(csv_out, csv);

    const auto t = net.evaluate(data.test, workspace);
    std::printf("test: loss %.4f  acc %.4f  (%ld images; %ld epochs, %.2f s per epoch)\n",
                t.mean_loss(), t.accuracy(), static_cast<long>(t.count), epoch,
                train_seconds / static_cast<double>(epoch));
    if (t.accuracy() < require_accuracy) {
      std::printf("FAILED: required test accuracy >= %g\n", require_accuracy);
      return 1;
    }
    return 0;
  });
}
