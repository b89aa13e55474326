// add() of a gradient expression: it has no memory for step() to read later.
// The message names the gradient, not the parameter.
// expect: error: static.assert.*descend: add\(param, grad\): the gradient is an expression without memory
#include <descend/descend.hpp>

int main() {
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3);
  descend::Sgd<double> sgd;
  sgd.add(w, 2 * w);
}
