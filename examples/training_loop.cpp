// A PyTorch-style training loop with descend's training toolkit, on the
// spiral data of the NNFS book (3 classes, Dense(2,64) ReLU Dense(64,3),
// softmax cross-entropy, full batch):
//  - two parameter groups: the weights with AdamW's decoupled weight decay,
//    the biases without (the usual split);
//  - a linear warmup, then cosine annealing to 0 (SequentialLR of LinearLR
//    and CosineAnnealingLR), stepped once per applied step;
//  - global gradient-norm clipping, and the non-finite guard after it;
//  - step()'s report for the progress lines.
#include <cstdio>
#include <limits>

#include "cli.hpp"
#include "descend/data/spiral.hpp"
#include "descend/nn.hpp"
#include "descend/training.hpp"

int main(int argc, char** argv) {
  example::Cli cli(
      "Trains the spiral classifier with AdamW in two parameter groups, a linear warmup "
      "then cosine schedule, global gradient clipping and the non-finite guard.",
      "training_loop");
  long epochs = 3000, warmup = 300, print_every = 500;
  double lr = 0.03, weight_decay = 5e-4, max_norm = 0.2, require_accuracy = 0;
  std::uint64_t seed = 28;
  cli.add_number("--epochs", epochs, 2L, 1'000'000'000L, "training epochs (steps)");
  cli.add_number("--warmup", warmup, 1L, 1'000'000'000L, "warmup steps, from lr/100 up to lr");
  cli.add_number("--lr", lr, "peak learning rate");
  cli.add_number("--weight-decay", weight_decay, "AdamW's decay of the weights");
  cli.add_number("--max-norm", max_norm, "global gradient-norm clip");
  cli.add_number("--seed", seed, std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max(),
                 "data and initialisation");
  cli.add_number("--print-every", print_every, 1L, 1'000'000'000L, "epochs between progress lines");
  cli.add_number("--require-accuracy", require_accuracy, 0.0, 1.0,
                 "exit with status 3 below this final accuracy");
  return cli.run(argc, argv, [&] {
    if (warmup >= epochs) throw std::invalid_argument("--warmup must be below --epochs");
    using Matrix = Eigen::MatrixXd;
    const auto data = descend::data::spiral<double>(100, 3, seed);
    descend::data::Random random(seed);
    descend::nn::Dense<double> dense1(2, 64, random), dense2(64, 3, random);
    descend::nn::Relu<double> relu;
    descend::nn::SoftmaxCrossEntropy<double> head;

    descend::AdamWOptions weights;
    weights.lr = lr;
    weights.weight_decay = weight_decay;
    descend::AdamWOptions biases = weights;
    biases.weight_decay = 0;
    descend::AdamW<double> opt(weights);  // group 0: the weights
    const std::size_t bias_group = opt.add_group(biases);
    opt.add(dense1.weights(), dense1.dweights());
    opt.add(dense2.weights(), dense2.dweights());
    opt.add(dense1.biases(), dense1.dbiases(), bias_group);
    opt.add(dense2.biases(), dense2.dbiases(), bias_group);
    opt.add_transform(descend::ClipGradNorm{max_norm});
    opt.add_transform(descend::NonFiniteGuard{});

    descend::LinearLR warm(opt, 0.01, 1.0, warmup);
    descend::CosineAnnealingLR cosine(opt, epochs - warmup);
    descend::SequentialLR schedule(opt, {warm, cosine}, {warmup});

    std::printf(
        "spiral 300 x 2, AdamW lr %g (warmup %ld, cosine to %ld), weight decay %g on "
        "the weights, clip %g\n",
        lr, warmup, epochs, weight_decay, max_norm);
    long clipped = 0;
    double loss = 0, acc = 0;
    for (long epoch = 0; epoch < epochs; ++epoch) {
      const Matrix& logits = dense2.forward(relu.forward(dense1.forward(data.inputs)));
      loss = head.forward(logits, data.labels);
      acc = descend::nn::accuracy(head.output(), data.labels);
      dense2.backward(head.backward(data.labels));
      dense1.backward_params(relu.backward(dense2.dinputs()));
      const descend::StepReport& r = opt.step();
      if (r.applied) schedule.step();  // a skipped step leaves the schedule alone
      clipped += r.clipped ? 1 : 0;
      if (epoch % print_every == 0 || epoch + 1 == epochs)
        std::printf(
            "epoch %5ld  loss %.4f  acc %.3f  lr %.6f (weights) %.6f (biases)  "
            "|g| %.4f  clipped so far %ld\n",
            epoch, loss, acc, r.lr[0], r.lr[bias_group], r.grad_norm, clipped);
    }
    std::printf("final: epochs %ld, acc %.3f, loss %.4f, clipped steps %ld, skipped %zu\n", epochs,
                acc, loss, clipped, opt.last_step().skipped_total);
    if (acc < require_accuracy) {
      std::printf("FAILED: required accuracy >= %g\n", require_accuracy);
      return 3;
    }
    return 0;
  });
}
