// Seconds per epoch of examples/mnist.cpp's training (issue 15): the
// 784-128-10 ReLU network with softmax cross-entropy, float, Adam lr 1e-3,
// batch 128, on the 60 000 Fashion-MNIST training images in a seeded order
// per epoch, seed 0 (the example's defaults, no validation set). One thread:
// descend never asks Eigen for threads, and bench/mnist_speed.sh sets
// OMP_NUM_THREADS=1.
//
//   mnist_epoch [--data-dir DIR] [--benchmark_...]
//       BM_epoch:  the example's epoch as it is written (shuffle, then per
//                  batch load(), MnistNet::train_batch(), step()).
//       BM_phases: the same epoch with each layer called on its own and
//                  timed; counters give CPU seconds per epoch of each phase:
//                  gather (shuffle + load), fwd_products (both Dense
//                  forward()s: X W, and the bias broadcast), relu (forward
//                  and the backward mask), softmax_loss (softmax, loss,
//                  hits, and the loss's backward), bwd_products (dW = X^T
//                  dout of both layers, dX = dout W^T of the second),
//                  bias_sums (db = 1^T dout), step (Adam). The Dense
//                  backward()s compute the products and the bias sums in
//                  one call: bias_sums times the same column sums again on
//                  the same gradients, and bwd_products is the backward()s'
//                  time less that.
//   mnist_epoch --train N [--export DIR]
//       Trains N epochs as examples/mnist does, prints each epoch's seconds
//       and the test accuracy. --export DIR first writes what
//       bench/mnist_torch.py needs to train the same network from the same
//       start in the same order: w1.f32 (128 x 784), b1.f32, w2.f32
//       (10 x 128), b2.f32 (nn.Linear's layouts, row-major float32) and
//       order.i64 (N x 60000 sample indices, int64, each epoch's order).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <time.h>

#include "descend/data/idx.hpp"
#include "mnist_setup.hpp"

namespace {

using Scalar = float;
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kSeed = 0;  // examples/mnist.cpp's default
constexpr Eigen::Index kHidden = 128, kClasses = 10, kBatch = 128;

std::string data_dir = descend::data::kFashionMnistDir;

struct Data {
  descend::data::Samples<Scalar> train;
  descend::data::LabelledImages<Scalar> test;
};

// The training set as the example makes it: split() with no validation
// images draws a shuffle, which the batch orders then follow.
struct Run {
  descend::data::Random random{kSeed};
  descend::data::Samples<Scalar> train;
  explicit Run(const descend::data::Samples<Scalar>& all)
      : train(descend::data::split(all, 0, random).first) {}
};

const Data& data() {
  static const Data d = [] {
    const auto all = std::numeric_limits<Eigen::Index>::max();
    auto train = descend::data::read_mnist<Scalar>(data_dir, "train", all);
    auto test = descend::data::read_mnist<Scalar>(data_dir, "t10k", all);
    return Data{static_cast<descend::data::Samples<Scalar>&&>(train), std::move(test)};
  }();
  return d;
}

// CPU time of this thread: the phases are counted in it, not in wall time,
// so that other work on a shared machine does not lengthen them (a call
// costs well under a microsecond; an epoch makes about 6000).
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Multiply-adds of one epoch's products, 2 flops each: X W and dW = X^T dout
// of both layers, dX = dout W^T of the second.
double epoch_flops(Eigen::Index n, Eigen::Index inputs) {
  const double forward = 2.0 * static_cast<double>(n) *
                         static_cast<double>(inputs * kHidden + kHidden * kClasses);
  const double dinputs = 2.0 * static_cast<double>(n * kHidden * kClasses);
  return 2 * forward + dinputs;
}

void set_rates(benchmark::State& state, const Run& run) {
  state.counters["samples"] = static_cast<double>(run.train.size());
  state.counters["GFLOP/s"] = benchmark::Counter(
      1e-9 * epoch_flops(run.train.size(), run.train.inputs.cols()) *
          static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void BM_epoch(benchmark::State& state) {
  Run run(data().train);
  example::MnistNet<Scalar> net(run.train.inputs.cols(), kHidden, kClasses, kSeed + 1,
                                descend::nn::Init::torch_default);
  descend::Adam<Scalar> adam;
  net.register_with(adam);
  descend::data::Minibatches<Scalar> batches(run.train, kBatch);
  Eigen::Index correct = 0;
  for (auto _ : state) {
    batches.shuffle(run.random);
    for (Eigen::Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      correct += net.train_batch(batches.inputs(), batches.labels()).correct;
      adam.step();
    }
  }
  benchmark::DoNotOptimize(correct);
  set_rates(state, run);
}

void BM_phases(benchmark::State& state) {
  Run run(data().train);
  // MnistNet's layers, drawn in its order from its seed.
  descend::data::Random init(kSeed + 1);
  descend::nn::Dense<Scalar> dense1(run.train.inputs.cols(), kHidden, init,
                                    descend::nn::Init::torch_default);
  descend::nn::Dense<Scalar> dense2(kHidden, kClasses, init, descend::nn::Init::torch_default);
  descend::nn::Relu<Scalar> relu;
  descend::nn::SoftmaxCrossEntropy<Scalar> head;
  descend::Adam<Scalar> adam;
  adam.add(dense1.weights(), dense1.dweights());
  adam.add(dense1.biases(), dense1.dbiases());
  adam.add(dense2.weights(), dense2.dweights());
  adam.add(dense2.biases(), dense2.dbiases());
  descend::data::Minibatches<Scalar> batches(run.train, kBatch);
  Eigen::Matrix<Scalar, 1, Eigen::Dynamic> sums1(kHidden), sums2(kClasses);

  enum Phase { gather, fwd, relu_, softmax_loss, bwd, bias, step, count };
  const char* names[count] = {"gather",       "fwd_products", "relu", "softmax_loss",
                              "bwd_products", "bias_sums",    "step"};
  double seconds[count] = {};
  double t = thread_seconds();
  const auto lap = [&](Phase p) {
    const double now = thread_seconds();
    seconds[p] += now - t;
    t = now;
  };
  Eigen::Index correct = 0;
  for (auto _ : state) {
    t = thread_seconds();
    batches.shuffle(run.random);
    lap(gather);
    for (Eigen::Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      lap(gather);
      dense1.forward(batches.inputs());
      lap(fwd);
      relu.forward(dense1.output());
      lap(relu_);
      dense2.forward(relu.output());
      lap(fwd);
      benchmark::DoNotOptimize(head.forward(dense2.output(), batches.labels()));
      for (Eigen::Index i = 0; i < batches.labels().size(); ++i) {
        Eigen::Index best = 0;
        head.output().row(i).maxCoeff(&best);
        correct += best == batches.labels()(i);
      }
      head.backward(batches.labels());
      lap(softmax_loss);
      dense2.backward(head.dinputs());
      lap(bwd);
      sums2.noalias() = head.dinputs().colwise().sum();
      lap(bias);
      relu.backward(dense2.dinputs());
      lap(relu_);
      dense1.backward_params(relu.dinputs());
      lap(bwd);
      sums1.noalias() = relu.dinputs().colwise().sum();
      lap(bias);
      adam.step();
      lap(step);
    }
  }
  benchmark::DoNotOptimize(correct);
  benchmark::DoNotOptimize(sums1.data());
  benchmark::DoNotOptimize(sums2.data());
  seconds[bwd] -= seconds[bias];  // the backward()s computed the sums once
  for (int p = 0; p < count; ++p)
    state.counters[names[p]] = benchmark::Counter(seconds[p], benchmark::Counter::kAvgIterations);
  set_rates(state, run);
}

// Two epochs per repetition; the minimum of the repetitions is the figure
// least disturbed by other work on the machine.
BENCHMARK(BM_epoch)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2)
    ->Repetitions(5)
    ->ComputeStatistics("min", [](const std::vector<double>& v) {
      return *std::min_element(v.begin(), v.end());
    });
BENCHMARK(BM_phases)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2)
    ->Repetitions(5)
    ->ComputeStatistics("min", [](const std::vector<double>& v) {
      return *std::min_element(v.begin(), v.end());
    });

template <class T>
void write_raw(const std::string& path, const T* p, std::size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n * sizeof(T)));
  if (!out.flush()) throw std::runtime_error("mnist_epoch: writing " + path + " failed");
}

// examples/mnist.cpp's loop, with --export's files for bench/mnist_torch.py.
int train(long epochs, const std::string& export_dir) {
  Run run(data().train);
  example::MnistNet<Scalar> net(run.train.inputs.cols(), kHidden, kClasses, kSeed + 1,
                                descend::nn::Init::torch_default);
  descend::Adam<Scalar> adam;
  net.register_with(adam);
  descend::data::Minibatches<Scalar> batches(run.train, kBatch);
  auto workspace = net.workspace();
  if (!export_dir.empty()) {
    // The same draws as the network's: Dense's weights are inputs x outputs,
    // column-major, which is nn.Linear's outputs x inputs row-major.
    descend::data::Random init(kSeed + 1);
    descend::nn::Dense<Scalar> d1(run.train.inputs.cols(), kHidden, init,
                                  descend::nn::Init::torch_default);
    descend::nn::Dense<Scalar> d2(kHidden, kClasses, init, descend::nn::Init::torch_default);
    write_raw(export_dir + "/w1.f32", d1.weights().data(), d1.weights().size());
    write_raw(export_dir + "/b1.f32", d1.biases().data(), d1.biases().size());
    write_raw(export_dir + "/w2.f32", d2.weights().data(), d2.weights().size());
    write_raw(export_dir + "/b2.f32", d2.biases().data(), d2.biases().size());
  }
  std::vector<std::int64_t> orders;
  std::vector<double> seconds, cpu_seconds;
  for (long epoch = 0; epoch < epochs; ++epoch) {
    const auto start = Clock::now();
    const double cpu_start = thread_seconds();
    batches.shuffle(run.random);
    double loss = 0;
    for (Eigen::Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      loss += net.train_batch(batches.inputs(), batches.labels()).loss *
              static_cast<double>(batches.labels().size());
      adam.step();
    }
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    cpu_seconds.push_back(thread_seconds() - cpu_start);
    orders.insert(orders.end(), batches.order().begin(), batches.order().end());
    std::printf("epoch %2ld  loss %.4f  %.3f s  (cpu %.3f s)\n", epoch + 1,
                loss / static_cast<double>(run.train.size()), seconds.back(), cpu_seconds.back());
  }
  if (!export_dir.empty()) write_raw(export_dir + "/order.i64", orders.data(), orders.size());
  const auto t = net.evaluate(data().test, workspace);
  std::sort(seconds.begin(), seconds.end());
  std::sort(cpu_seconds.begin(), cpu_seconds.end());
  std::printf(
      "descend: %ld epochs, s/epoch best %.3f median %.3f (cpu best %.3f median %.3f), "
      "test loss %.4f acc %.4f\n",
      epochs, seconds.front(), seconds[seconds.size() / 2], cpu_seconds.front(),
      cpu_seconds[cpu_seconds.size() / 2], t.mean_loss(), t.accuracy());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  long epochs = 0;
  std::string export_dir;
  // Our flags out of argv, the rest to Google Benchmark.
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--train" || a == "--export" || a == "--data-dir") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--train")
        epochs = std::stol(v);
      else if (a == "--export")
        export_dir = v;
      else
        data_dir = v;
    } else {
      rest.push_back(argv[i]);
    }
  }
  try {
    if (epochs > 0) return train(epochs, export_dir);
    if (!export_dir.empty()) throw std::invalid_argument("--export needs --train N");
    int n = static_cast<int>(rest.size());
    benchmark::Initialize(&n, rest.data());
    if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
    data();  // read before any timing
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mnist_epoch: %s\n", e.what());
    return 1;
  }
  return 0;
}
