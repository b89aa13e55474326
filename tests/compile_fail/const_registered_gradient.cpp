// add() of a const gradient: zero_grad() writes it.
// expect: error: static.assert.*descend: add\(param, grad\): the gradient is const
#include <descend/descend.hpp>

int main() {
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3);
  const Eigen::MatrixXd g = Eigen::MatrixXd::Ones(2, 3);
  descend::Sgd<double> sgd;
  sgd.add(w, g);
}
