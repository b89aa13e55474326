// An expression as the parameter: it has no memory to update.
// expect: error: static.assert.*descend: the parameter is an expression without memory
#include <descend/descend.hpp>

int main() {
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3), g = Eigen::MatrixXd::Ones(2, 3);
  descend::Adam<double> adam;
  adam.update(w.array() * 2, g.array());
}
