// A float gradient for a double optimizer.
// expect: error: static.assert.*descend: the gradient's Scalar type must be the optimizer's
#include <descend/descend.hpp>

int main() {
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 3);
  Eigen::MatrixXf g = Eigen::MatrixXf::Ones(2, 3);
  descend::Adam<double> adam;
  adam.update(w, g);
}
