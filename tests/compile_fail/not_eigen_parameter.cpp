// Something that is not an Eigen object as the parameter.
// expect: error: static.assert.*descend: the parameter must be an Eigen dense object
#include <vector>

#include <descend/descend.hpp>

int main() {
  std::vector<double> w(3, 1.0);
  Eigen::VectorXd g = Eigen::VectorXd::Ones(3);
  descend::Sgd<double> sgd;
  sgd.update(w, g);
}
