// add() of a gradient Matrix returned by value: step() would read freed memory.
// expect: error: static.assert.*descend: add\(param, grad\): the gradient is a temporary
#include <descend/descend.hpp>

Eigen::MatrixXd gradient() { return Eigen::MatrixXd::Ones(2, 3); }

int main() {
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3);
  descend::Sgd<double> sgd;
  sgd.add(w, gradient());
}
