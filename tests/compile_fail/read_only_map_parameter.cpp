// A Map of const memory as the parameter.
// expect: error: static.assert.*descend: the parameter is read-only
#include <descend/descend.hpp>

int main() {
  const double memory[3] = {1, 2, 3};
  Eigen::VectorXd g = Eigen::VectorXd::Ones(3);
  descend::Sgd<double> sgd;
  sgd.update(Eigen::Map<const Eigen::VectorXd>(memory, 3), g);
}
