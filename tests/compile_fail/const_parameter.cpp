// A const parameter: it cannot be updated in place.
// expect: error: static.assert.*descend: the parameter is const
#include <descend/descend.hpp>

int main() {
  const Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3);
  const Eigen::MatrixXd g = Eigen::MatrixXd::Ones(2, 3);
  descend::Adam<double> adam;
  adam.update(w, g);
}
