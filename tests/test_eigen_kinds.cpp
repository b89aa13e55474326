// Every kind of writable Eigen object, in float and double, must follow the
// same reference trajectory as a plain matrix: the update is in place, through
// the object's own strides, and touches nothing outside it.
#include "catch.hpp"
#include <vector>

#include "reference_run.hpp"

namespace {

using testing::GradientForm;

// Two cases that use every state buffer: AMSGrad with L2 weight decay, and
// centered RMSProp with momentum.
template <class Scalar, class Param>
void check_kind(Param&& param, GradientForm form = GradientForm::evaluated) {
  for (const auto& c : testing::reference_cases()) {
    const std::string options = c.options;
    const bool wanted =
        (std::string(c.optimizer) == "adamw" && options.find("amsgrad") != std::string::npos) ||
        (std::string(c.optimizer) == "rmsprop" &&
         options == "lr=0.01 centered=1 momentum=0.5 eps=1e-4");
    if (!wanted) continue;
    auto opt = testing::make_optimizer<Scalar>(c.optimizer, c.options);
    INFO(c.optimizer << " " << c.options);
    CHECK(testing::run_reference(*opt, param, c, form) <= testing::reference_tolerance<Scalar>());
  }
}

template <class Matrix>
void fill(Matrix& m, typename Matrix::Scalar value) {
  m.setConstant(value);
}

}  // namespace

TEMPLATE_TEST_CASE("fixed and dynamic matrices in both storage orders are updated in place",
                   "[kinds]", float, double) {
  Eigen::Matrix<TestType, 2, 3> fixed_col;
  Eigen::Matrix<TestType, 2, 3, Eigen::RowMajor> fixed_row;
  Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic> dynamic_col(2, 3);
  Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dynamic_row(2, 3);
  check_kind<TestType>(fixed_col);
  check_kind<TestType>(fixed_row);
  check_kind<TestType>(dynamic_col);
  check_kind<TestType>(dynamic_row);
}

TEMPLATE_TEST_CASE("arrays are updated in place", "[kinds]", float, double) {
  Eigen::Array<TestType, 2, 3> fixed;
  Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dynamic(2, 3);
  check_kind<TestType>(fixed);
  check_kind<TestType>(dynamic);
}

TEMPLATE_TEST_CASE("Maps over user memory are updated in place, with any strides", "[kinds]", float,
                   double) {
  std::vector<TestType> memory(64, TestType(7));
  check_kind<TestType>(Eigen::Map<Eigen::Matrix<TestType, 2, 3>>(memory.data()));
  check_kind<TestType>(
      Eigen::Map<Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          memory.data(), 2, 3));
  // Columns 5 apart: padding between them must stay untouched.
  std::fill(memory.begin(), memory.end(), TestType(7));
  Eigen::Map<Eigen::Matrix<TestType, 2, 3>, 0, Eigen::OuterStride<>> padded(
      memory.data(), Eigen::OuterStride<>(5));
  check_kind<TestType>(padded);
  CHECK(memory[2] == 7);
  CHECK(memory[14] == 7);
  // Every third element: a non-unit inner stride.
  std::fill(memory.begin(), memory.end(), TestType(7));
  Eigen::Map<Eigen::Matrix<TestType, 2, 3>, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>
      strided(memory.data(), Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(7, 3));
  check_kind<TestType>(strided);
  CHECK(memory[1] == 7);
  CHECK(memory[2] == 7);
}

TEMPLATE_TEST_CASE("Refs are updated in place", "[kinds]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix m(2, 3);
  Eigen::Ref<Matrix> ref(m);
  check_kind<TestType>(ref);
  Matrix big = Matrix::Constant(5, 6, 7);
  Eigen::Ref<Matrix, 0, Eigen::OuterStride<>> inner_ref(big.block(1, 2, 2, 3));
  check_kind<TestType>(inner_ref);
  CHECK(big(0, 2) == 7);
  CHECK(big(3, 2) == 7);
}

TEMPLATE_TEST_CASE("contiguous and strided Blocks are updated in place", "[kinds]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix wide = Matrix::Constant(2, 7, 7);
  check_kind<TestType>(wide.middleCols(2, 3));  // contiguous
  CHECK((wide.leftCols(2).array() == 7).all());
  CHECK((wide.rightCols(2).array() == 7).all());

  Matrix big = Matrix::Constant(5, 6, 7);
  check_kind<TestType>(big.block(1, 2, 2, 3));  // strided
  Matrix untouched = Matrix::Constant(5, 6, 7);
  untouched.block(1, 2, 2, 3) = big.block(1, 2, 2, 3);
  CHECK(big == untouched);

  Eigen::Matrix<TestType, 4, 4, Eigen::RowMajor> row_major;
  fill(row_major, TestType(7));
  check_kind<TestType>(row_major.template block<2, 3>(1, 1));
  CHECK(row_major(0, 0) == 7);
  CHECK(row_major(3, 3) == 7);

  Eigen::Matrix<TestType, 3, 2> tall;
  check_kind<TestType>(tall.transpose());  // a 2x3 view with swapped strides
}

TEMPLATE_TEST_CASE("gradients may be unevaluated expressions", "[kinds]", float, double) {
  Eigen::Matrix<TestType, 2, 3> fixed;
  check_kind<TestType>(fixed, GradientForm::expression);
  Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic> big(5, 6);
  check_kind<TestType>(big.block(1, 2, 2, 3), GradientForm::expression);
}

TEMPLATE_TEST_CASE("long parameters cross chunk boundaries correctly", "[kinds]", float, double) {
  // 1000 coefficients, non-multiple of the 64-element chunk, col-major and a
  // strided block: each coefficient must get exactly one SGD step.
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix big = Matrix::Zero(101, 12);
  auto block = big.block(1, 1, 100, 10);
  Matrix grad = Matrix::NullaryExpr(
      100, 10, [](Eigen::Index i, Eigen::Index j) { return static_cast<TestType>(i + 100 * j); });
  descend::SgdOptions o;
  o.lr = 1;
  descend::Sgd<TestType> opt(o);
  opt.update(block, grad);
  CHECK(block == -grad);
  CHECK(big.row(0).isZero(0));
  CHECK(big.col(0).isZero(0));
  CHECK(big.col(11).isZero(0));
}
