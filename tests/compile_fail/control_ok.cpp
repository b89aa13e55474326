// The control: correct use compiles under the same flags, so the other cases
// fail because of their misuse and not because of the harness.
// expect: OK
#include <descend/descend.hpp>

int main() {
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3), g = Eigen::MatrixXd::Ones(2, 3);
  descend::Adam<double> adam;
  adam.update(w, g);
  adam.update(w.block(0, 0, 1, 2), 2 * g.block(0, 0, 1, 2));
  descend::Sgd<double> sgd;
  sgd.add(w, g);
  sgd.step();
}
