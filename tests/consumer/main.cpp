// Minimises |w - target|^2 with Adam; exits non-zero unless it converges.
#include <descend/descend.hpp>
#include <iostream>

#if defined(CONSUMER_EXPECT_PRECOMPILED) && !defined(DESCEND_PRECOMPILED)
#error "descend::precompiled did not define DESCEND_PRECOMPILED"
#endif

int main() {
  const Eigen::Vector3d target(1.0, -2.0, 0.5);
  Eigen::Vector3d w = Eigen::Vector3d::Zero();
  descend::AdamOptions options;
  options.lr = 0.1;
  descend::Adam<double> adam(options);
  for (int t = 0; t < 500; ++t) adam.update(w, 2 * (w - target));
  const double error = (w - target).norm();
  std::cout << "descend consumer: |w - target| = " << error << "\n";
  return error < 1e-3 ? 0 : 1;
}
