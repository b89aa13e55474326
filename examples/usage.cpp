// The README's usage snippet, compiled so that it stays true. It takes no
// flags but --help.
#include <cstdio>

#include "cli.hpp"
#include "descend/descend.hpp"

namespace {

void snippet() {
  Eigen::MatrixXf W = Eigen::MatrixXf::Random(64, 2), dW(64, 2);
  Eigen::RowVectorXf b = Eigen::RowVectorXf::Zero(64), db(64);

  descend::AdamOptions options;  // PyTorch's defaults ...
  options.lr = 0.05;             // ... changed where you need
  options.decay = 5e-7;          // lr / (1 + decay * (t - 1))
  descend::Adam<float> adam(options);
  dW = W;  // stand-ins for real gradients
  db.setOnes();
  adam.update(W, dW);  // in place; state made on W's first update
  adam.update(b, db);

  descend::Sgd<float> sgd;  // or PyTorch's style: register once,
  sgd.add(W, dW);
  sgd.add(b, db);
  sgd.zero_grad();  // then clear, compute dW and db, and
  dW = 2 * W;
  db.setConstant(0.5f);
  sgd.step();  // update every registered parameter

  std::printf("b(0) = %.6f after one Adam and one SGD step\n", b(0));
}

}  // namespace

int main(int argc, char** argv) {
  example::Cli cli("The README's usage snippet: one Adam and one SGD step.", "usage");
  return cli.run(argc, argv, [] {
    snippet();
    return 0;
  });
}
