// A Matrix returned by value as the parameter: the update would be lost with it.
// expect: error: static.assert.*descend: the parameter is a temporary
#include <descend/descend.hpp>

Eigen::MatrixXd weights() { return Eigen::MatrixXd::Ones(2, 3); }

int main() {
  Eigen::MatrixXd g = Eigen::MatrixXd::Ones(2, 3);
  descend::Adam<double> adam;
  adam.update(weights(), g);
}
