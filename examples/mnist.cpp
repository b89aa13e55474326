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
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include "descend/data/idx.hpp"
#include "mnist_setup.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Trains a 784-128-10 ReLU network on (Fashion-)MNIST with minibatches.", "mnist"};
  example::OptimizerFlags optimizer_flags(app);
  std::string data_dir = descend::data::kFashionMnistDir, csv, schedule = "none", init = "torch";
  long epochs = 10, batch_size = 128, train_subset = 0, test_subset = 0, validation = 0,
       patience = 20, target_patience = 20, step_size = 5;
  double target_accuracy = 1, gamma = 0.1, require_accuracy = 0;
  std::uint64_t seed = 0;
  app.add_option("--data-dir", data_dir,
                 "directory of {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
      ->type_name("DIR")
      ->capture_default_str();
  example::add_number(app, "--epochs", epochs, 1L, 1'000'000L, "most epochs to train");
  example::add_number(app, "--batch-size", batch_size, 1L, 1'000'000L, "samples per minibatch");
  example::add_number(app, "--seed", seed, std::uint64_t{0},
                      std::numeric_limits<std::uint64_t>::max(),
                      "draws the initial weights, the validation set and the batch orders");
  example::add_number(app, "--train-subset", train_subset, 0L, 1'000'000'000L,
                      "use the first N training images (0: all)");
  example::add_number(app, "--test-subset", test_subset, 0L, 1'000'000'000L,
                      "test on the first N test images (0: all)");
  example::add_number(app, "--validation", validation, 0L, 1'000'000'000L,
                      "training images held out for validation, drawn at random (0: none, "
                      "and no early stopping)");
  app.add_option("--init", init,
                 "initial weights: torch (PyTorch's nn.Linear) or nnfs (0.01 N(0,1), biases 0)")
      ->check(CLI::IsMember({"torch", "nnfs"}))
      ->capture_default_str();
  app.add_option("--schedule", schedule,
                 "lr schedule, stepped per epoch: none, step (StepLR), cosine (to 0 at the "
                 "last epoch) or plateau (ReduceLROnPlateau on the validation loss)")
      ->check(CLI::IsMember(example::kSchedules))
      ->capture_default_str();
  example::add_number(app, "--step-size", step_size, 1L, 1'000'000L,
                      "step: epochs between decays; plateau: its patience");
  example::add_number(app, "--gamma", gamma, 0.0, 1.0, "step and plateau: the lr's factor");
  example::add_number(app, "--patience", patience, 1L, 1'000'000L,
                      "stop after N validations in a row without a lower validation loss");
  example::add_number(app, "--target-accuracy", target_accuracy, 0.0, 1.0,
                      "stop after --target-patience validations in a row above this accuracy "
                      "(1: never)");
  example::add_number(app, "--target-patience", target_patience, 1L, 1'000'000L,
                      "validations in a row above --target-accuracy that stop the run");
  app.add_option("--csv", csv, "write the curves, one row per epoch, to FILE")->type_name("FILE");
  example::add_number(app, "--require-accuracy", require_accuracy, 0.0, 1.0,
                      "exit 1 unless the test accuracy is at least this");

  return example::run(app, argc, argv, [&] {
    using Scalar = float;
    using Clock = std::chrono::steady_clock;
    const auto seconds_since = [](Clock::time_point t) {
      return std::chrono::duration<double>(Clock::now() - t).count();
    };
    const Eigen::Index all = std::numeric_limits<Eigen::Index>::max();
    // Flags first, then files: a bad flag costs no reading.
    if (schedule != "plateau" && schedule != "step" && app.get_option("--step-size")->count() > 0)
      throw CLI::ValidationError("--step-size applies to --schedule step and plateau only");
    if (schedule != "plateau" && schedule != "step" && app.get_option("--gamma")->count() > 0)
      throw CLI::ValidationError("--gamma applies to --schedule step and plateau only");
    if (schedule == "plateau" && validation == 0)
      throw CLI::ValidationError("--schedule plateau needs a validation set (--validation > 0)");
    descend::nn::EarlyStoppingOptions stopping;
    stopping.patience = patience;
    stopping.target_accuracy = target_accuracy;
    stopping.target_patience = target_patience;
    descend::nn::EarlyStopping early(stopping);

    const auto load_start = Clock::now();
    auto train_all =
        descend::data::read_mnist<Scalar>(data_dir, "train", train_subset > 0 ? train_subset : all);
    const auto test =
        descend::data::read_mnist<Scalar>(data_dir, "t10k", test_subset > 0 ? test_subset : all);
    if (validation >= train_all.size())
      throw std::invalid_argument("--validation " + std::to_string(validation) +
                                  " leaves no training image of " +
                                  std::to_string(train_all.size()));
    descend::data::Random random(seed);
    auto [train, valid] = descend::data::split(
        static_cast<const descend::data::Samples<Scalar>&>(train_all), validation, random);
    train_all = {};  // the split holds copies
    const double load_seconds = seconds_since(load_start);

    example::MnistNet<Scalar> net(
        train.inputs.cols(), 128, 10, seed + 1,
        init == "torch" ? descend::nn::Init::torch_default : descend::nn::Init::small_normal);
    auto optimizer = optimizer_flags.make<Scalar>();
    net.register_with(*optimizer);
    example::Schedule lr_schedule(schedule, *optimizer, epochs, step_size, gamma);
    descend::data::Minibatches<Scalar> batches(train, batch_size);
    auto workspace = net.workspace();

    std::ofstream csv_out;
    if (!csv.empty())
      csv_out = example::open_csv(csv, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds");
    std::printf(
        "mnist: %s, %ld training, %ld validation, %ld test images of %ldx%ld (read in %.2f s)\n",
        data_dir.c_str(), static_cast<long>(train.size()), static_cast<long>(valid.size()),
        static_cast<long>(test.size()), static_cast<long>(test.height),
        static_cast<long>(test.width), load_seconds);
    std::printf("784-128-10 ReLU, float, init %s, %s lr %s, schedule %s, batch %ld, seed %ju\n",
                init.c_str(), optimizer_flags.name().c_str(),
                example::exact(optimizer->lr(0)).c_str(), schedule.c_str(), batch_size,
                static_cast<std::uintmax_t>(seed));

    double train_seconds = 0;
    long epoch = 0;
    for (; epoch < epochs; ++epoch) {
      const auto start = Clock::now();
      const double lr = optimizer->lr(0);  // the rate this epoch applies
      batches.shuffle(random);
      double loss_sum = 0;
      Eigen::Index correct = 0;
      for (Eigen::Index b = 0; b < batches.size(); ++b) {
        batches.load(b);
        const auto r = net.train_batch(batches.inputs(), batches.labels());
        optimizer->step();
        loss_sum += r.loss * static_cast<double>(batches.labels().size());
        correct += r.correct;
      }
      const double train_loss = loss_sum / static_cast<double>(train.size());
      const double train_acc = static_cast<double>(correct) / static_cast<double>(train.size());
      const double nan = std::numeric_limits<double>::quiet_NaN();
      double val_loss = nan, val_acc = nan;
      if (valid.size() > 0) {
        const auto v = net.evaluate(valid, workspace);
        val_loss = v.mean_loss();
        val_acc = v.accuracy();
      }
      lr_schedule.step(val_loss);
      const double seconds = seconds_since(start);
      train_seconds += seconds;
      const double eta =
          train_seconds / static_cast<double>(epoch + 1) * static_cast<double>(epochs - epoch - 1);
      std::printf("epoch %3ld/%ld  loss %.4f  acc %.4f", epoch + 1, epochs, train_loss, train_acc);
      if (valid.size() > 0) std::printf("  val_loss %.4f  val_acc %.4f", val_loss, val_acc);
      std::printf("  lr %.3g  %.2f s  eta %.0f s\n", lr, seconds, eta);
      std::fflush(stdout);
      if (csv_out.is_open()) {
        csv_out << epoch + 1 << ',' << example::exact(train_loss) << ','
                << example::exact(train_acc) << ',';
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
                      epoch, static_cast<long>(early.above_target()), target_accuracy);
        break;
      }
    }
    if (csv_out.is_open()) example::close_csv(csv_out, csv);

    const auto t = net.evaluate(test, workspace);
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
