// With DESCEND_USE_OPENMP, large contiguous parameters are split across
// threads; the update is element-wise, so the result must not depend on the
// number of threads, bit for bit.
#include <omp.h>

#include "catch.hpp"

#include "helpers.hpp"

namespace {
template <class Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1> run(const std::string& name, const std::string& options,
                                             int threads) {
  omp_set_num_threads(threads);
  const Eigen::Index n = descend::detail::kParallelThreshold * 4 + 77;  // not a chunk multiple
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> w =
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::LinSpaced(n, -2, 3);
  auto opt = testing::make_optimizer<Scalar>(name, options);
  for (int t = 0; t < 5; ++t) opt->update(w, (w.array().sin() + Scalar(0.1) * w.array()).matrix());
  return w;
}
}  // namespace

TEMPLATE_TEST_CASE("updates give the same bits with one thread and with two", "[openmp]", float,
                   double) {
  for (const auto& c : testing::reference_cases()) {
    INFO(c.optimizer << " " << c.options);
    const auto one = run<TestType>(c.optimizer, c.options, 1);
    const auto two = run<TestType>(c.optimizer, c.options, 2);
    CHECK(one == two);
  }
}
