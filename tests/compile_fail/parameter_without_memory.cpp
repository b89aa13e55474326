// A writable expression that has no memory of its own (reverse()) as the
// parameter: the optimizer needs the parameter's memory.
// expect: error: static.assert.*descend: the parameter is an expression without memory
#include <descend/descend.hpp>

int main() {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3), g = Eigen::VectorXd::Ones(3);
  descend::Sgd<double> sgd;
  sgd.update(w.reverse(), g);
}
