// 50-step trajectories of every optimizer, option and convention against
// tests/reference/trajectories.inc, produced by tests/reference/generate.py
// from PyTorch's published equations (see that script for the provenance).
#include "catch.hpp"

#include "reference_run.hpp"

namespace {

template <class Scalar>
void check_family(const std::string& family) {
  int cases = 0;
  for (const auto& c : testing::reference_cases()) {
    const std::string name = c.optimizer;
    if (name != family && !(family == "adam" && name == "adamw")) continue;
    ++cases;
    auto opt = testing::make_optimizer<Scalar>(name, c.options);
    Eigen::Matrix<Scalar, 2, 3> w;
    INFO(name << " " << c.options);
    CHECK(testing::run_reference(*opt, w, c) <= testing::reference_tolerance<Scalar>());
  }
  REQUIRE(cases >= 4);
}

}  // namespace

TEMPLATE_TEST_CASE("SGD follows the reference trajectories", "[sgd][reference]", float, double) {
  check_family<TestType>("sgd");
}
TEMPLATE_TEST_CASE("AdaGrad follows the reference trajectories", "[adagrad][reference]", float,
                   double) {
  check_family<TestType>("adagrad");
}
TEMPLATE_TEST_CASE("RMSProp follows the reference trajectories", "[rmsprop][reference]", float,
                   double) {
  check_family<TestType>("rmsprop");
}
TEMPLATE_TEST_CASE("Adadelta follows the reference trajectories", "[adadelta][reference]", float,
                   double) {
  check_family<TestType>("adadelta");
}
TEMPLATE_TEST_CASE("Adam, AMSGrad and AdamW follow the reference trajectories", "[adam][reference]",
                   float, double) {
  check_family<TestType>("adam");
}
