// add() of a Matrix returned by value: step() would update freed memory.
// expect: error: static.assert.*descend: the parameter is a temporary
#include <descend/descend.hpp>

Eigen::MatrixXd weights() { return Eigen::MatrixXd::Ones(2, 3); }

int main() {
  Eigen::MatrixXd g = Eigen::MatrixXd::Ones(2, 3);
  descend::Sgd<double> sgd;
  sgd.add(weights(), g);
}
