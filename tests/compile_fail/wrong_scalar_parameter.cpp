// A float parameter given to a double optimizer.
// expect: error: static.assert.*descend: the parameter's Scalar type must be the optimizer's
#include <descend/descend.hpp>

int main() {
  Eigen::MatrixXf w = Eigen::MatrixXf::Ones(2, 3), g = Eigen::MatrixXf::Ones(2, 3);
  descend::Adam<double> adam;
  adam.update(w, g);
}
