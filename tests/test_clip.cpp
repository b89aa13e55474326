// Gradient clipping and the non-finite guard (clip.hpp, guard.hpp), derived
// by hand next to each check; test_toolkit_reference checks them against
// PyTorch's clip_grad_norm_ and clip_grad_value_.
#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "descend/descend.hpp"
#include "descend/optim/clip.hpp"
#include "descend/optim/guard.hpp"

using Catch::Matchers::Contains;
using descend::ClipGradNorm;
using descend::NonFiniteGuard;
using descend::NonFinitePolicy;
using descend::SgdOptions;

namespace {
SgdOptions plain(double lr) {
  SgdOptions o;
  o.lr = lr;
  return o;
}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Two parameters at 0 with gradients (3, 4) and (12): norms 5 and 12.
struct TwoParams {
  Eigen::Vector2d a = Eigen::Vector2d::Zero(), ga{3.0, 4.0};
  Eigen::VectorXd b = Eigen::VectorXd::Zero(1), gb = Eigen::VectorXd::Constant(1, 12.0);
};
}  // namespace

TEST_CASE("global norm clipping scales every gradient by max_norm / (total + 1e-6)", "[clip]") {
  // total = sqrt(5² + 12²) = 13, c = 2.6 / (13 + 1e-6); SGD lr 1: w = -c g.
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(ClipGradNorm{2.6});
  const descend::StepReport& r = opt.step();
  const double c = 2.6 / (13 + 1e-6);
  CHECK(r.grad_norm == Approx(13).epsilon(1e-15));
  CHECK(r.clipped);
  CHECK(p.a(0) == Approx(-3 * c).epsilon(1e-15));
  CHECK(p.a(1) == Approx(-4 * c).epsilon(1e-15));
  CHECK(p.b(0) == Approx(-12 * c).epsilon(1e-15));
  CHECK(p.ga(0) == 3.0);  // the registered gradients are not written
}

TEST_CASE("a total below max_norm leaves the gradients as they are", "[clip]") {
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(ClipGradNorm{13.5});  // c = 13.5 / 13.000001 > 1, clamped to 1
  const descend::StepReport& r = opt.step();
  CHECK_FALSE(r.clipped);
  CHECK(p.a == Eigen::Vector2d(-3, -4));
  CHECK(p.b(0) == -12);
}

TEST_CASE("norm types 1, inf and 3 combine the per-gradient norms the same way", "[clip]") {
  // p = 1: norms 7 and 12, total 19. p = inf: max(4, 12) = 12.
  // p = 3: n_a = (27 + 64)^(1/3), total = (n_a³ + 12³)^(1/3) = (91 + 1728)^(1/3).
  const double p3 = std::cbrt(91.0 + 1728.0);
  for (const auto& [type, total] : {std::pair<double, double>{1, 19}, {kInf, 12}, {3, p3}}) {
    TwoParams p;
    descend::Sgd<double> opt(plain(1.0));
    opt.add(p.a, p.ga);
    opt.add(p.b, p.gb);
    opt.add_transform(ClipGradNorm{1.0, type});
    CHECK(opt.step().grad_norm == Approx(total).epsilon(1e-14));
    CHECK(p.b(0) == Approx(-12 / (total + 1e-6)).epsilon(1e-14));
  }
}

TEST_CASE("clipping one group leaves the other group's gradients alone", "[clip][groups]") {
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb, opt.add_group(plain(1.0)));
  ClipGradNorm clip;
  clip.max_norm = 1;
  clip.group = 1;
  opt.add_transform(clip);
  const descend::StepReport& r = opt.step();
  CHECK(r.grad_norm == 12);
  CHECK(r.grad_norm_group == 1);
  CHECK(p.a == Eigen::Vector2d(-3, -4));
  CHECK(p.b(0) == Approx(-12 / (12 + 1e-6)).epsilon(1e-15));
}

TEST_CASE("error_if_nonfinite throws NonFiniteError and changes nothing", "[clip]") {
  TwoParams p;
  p.gb(0) = kInf;
  descend::Adam<double> opt;
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(ClipGradNorm{1.0, 2, true});
  CHECK_THROWS_AS(opt.step(), descend::NonFiniteError);
  CHECK_THROWS_WITH(opt.step(), Contains("total norm of order 2") && Contains("inf"));
  CHECK(p.a.isZero(0));
  CHECK_FALSE(opt.has_state(p.a));
  p.gb(0) = 1;
  opt.step();
  CHECK(opt.step_count(p.a) == 1);
}

TEST_CASE("without error_if_nonfinite a NaN norm makes the update NaN, as PyTorch", "[clip]") {
  TwoParams p;
  p.gb(0) = kNaN;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(ClipGradNorm{1.0});
  CHECK(std::isnan(opt.step().grad_norm));
  CHECK(std::isnan(p.a(0)));
}

TEST_CASE("float gradients whose squares overflow float still clip to a finite norm", "[clip]") {
  // PyTorch's float32 norm is inf here and every gradient becomes 0; descend
  // sums in double: total = 1e30 * sqrt(2), the step has norm max_norm.
  Eigen::Vector2f w = Eigen::Vector2f::Zero(), g = Eigen::Vector2f::Constant(1e30f);
  descend::Sgd<float> opt(plain(1.0));
  opt.add(w, g);
  opt.add_transform(ClipGradNorm{1.0});
  CHECK(opt.step().grad_norm == Approx(1e30 * std::sqrt(2.0)).epsilon(1e-6));
  CHECK(w.norm() == Approx(1.0f).epsilon(1e-6));
}

TEST_CASE("clipping by value clamps the registered gradients in place", "[clip]") {
  Eigen::Vector3d w = Eigen::Vector3d::Zero(), g(-5, 0.5, kNaN);
  descend::Sgd<double> opt(plain(1.0));
  opt.add(w, g);
  opt.add_transform(descend::ClipGradValue{1.0});
  CHECK(opt.step().clipped);
  CHECK(g(0) == -1);
  CHECK(g(1) == 0.5);
  CHECK(std::isnan(g(2)));  // clamp keeps NaN, as torch.clamp
  CHECK(w(0) == 1);
}

TEST_CASE("per-parameter clipping scales only norms strictly above max_norm", "[clip]") {
  // numpy-ml: if ||g|| > t: g = g t / ||g||. ||ga|| = 5 = t: unchanged; ||gb|| = 12: g = 5.
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(descend::ClipNormPerParameter{5.0});
  CHECK(opt.step().clipped);
  CHECK(p.a == Eigen::Vector2d(-3, -4));
  CHECK(p.b(0) == Approx(-5).epsilon(1e-15));
}

TEST_CASE("a clip's scale on strided views equals the update of the scaled copy",
          "[clip][maximize]") {
  Eigen::MatrixXd w = Eigen::MatrixXd::Random(7, 6), g = Eigen::MatrixXd::Random(7, 6);
  Eigen::MatrixXd w2 = w.block(1, 1, 4, 3), g2;
  descend::AdamOptions o;
  o.maximize = true;
  descend::Adam<double> a(o), b(o);
  a.add(w.block(1, 1, 4, 3), g.block(2, 0, 4, 3));
  a.add_transform(ClipGradNorm{0.5});
  for (int t = 0; t < 4; ++t) {
    const double c = 0.5 / (g.block(2, 0, 4, 3).norm() + 1e-6);
    g2 = g.block(2, 0, 4, 3) * std::min(c, 1.0);
    a.step();
    b.update(w2, g2);
    g.array() += 0.25;
  }
  CHECK(w.block(1, 1, 4, 3).isApprox(w2, 1e-15));
}

TEST_CASE("bad clip options throw std::invalid_argument naming them", "[clip]") {
  descend::Sgd<double> opt;
  CHECK_THROWS_WITH(opt.add_transform(ClipGradNorm{-1}), Contains("max_norm = -1"));
  CHECK_THROWS_WITH(opt.add_transform(ClipGradNorm{kNaN}), Contains("max_norm = nan"));
  CHECK_THROWS_WITH(opt.add_transform(ClipGradNorm{1, 0}), Contains("norm_type = 0"));
  CHECK_THROWS_WITH(opt.add_transform(ClipGradNorm{1, kNaN}), Contains("norm_type = nan"));
  CHECK_THROWS_WITH(opt.add_transform(ClipGradNorm{1, 2, false, 3}), Contains("group = 3"));
  CHECK_THROWS_WITH(opt.add_transform(descend::ClipGradValue{kInf}), Contains("clip_value"));
  CHECK_THROWS_WITH(opt.add_transform(descend::ClipNormPerParameter{kNaN}),
                    Contains("max_norm = nan"));
  CHECK(opt.num_transforms() == 0);
}

TEST_CASE("the guard skips a non-finite step, changing nothing, and counts it", "[guard]") {
  TwoParams p;
  descend::Adam<double> opt;
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(NonFiniteGuard{NonFinitePolicy::skip, 3});
  opt.step();
  const Eigen::Vector2d a1 = p.a;
  const Eigen::ArrayXd m1 = opt.state(p.a, "exp_avg");
  p.ga(1) = kNaN;
  for (std::size_t k = 1; k <= 2; ++k) {
    const descend::StepReport& r = opt.step();
    CHECK(r.skipped);
    CHECK_FALSE(r.applied);
    CHECK(r.skipped_in_a_row == k);
    CHECK(r.skipped_total == k);
  }
  CHECK(p.a == a1);
  CHECK(opt.state(p.a, "exp_avg").isApprox(m1, 0));
  CHECK(opt.step_count(p.a) == 1);
  CHECK(opt.step_count(p.b) == 1);
  // The third in a row throws, naming the parameter, the place and the
  // value, and is not counted as a skip.
  CHECK_THROWS_WITH(opt.step(), Contains("registered parameter #0's gradient is nan at (1, 0)") &&
                                    Contains("after 2 skipped steps in a row"));
  p.ga(1) = 1;
  const descend::StepReport& r = opt.step();
  CHECK(r.applied);
  CHECK(r.skipped_in_a_row == 0);
  CHECK(r.skipped_total == 2);
  CHECK(opt.step_count(p.a) == 2);
}

TEST_CASE("the guard's throw policy throws at the first non-finite gradient", "[guard]") {
  TwoParams p;
  p.gb(0) = -kInf;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(NonFiniteGuard{NonFinitePolicy::throw_error});
  CHECK_THROWS_AS(opt.step(), descend::NonFiniteError);
  CHECK_THROWS_WITH(opt.step(), Contains("#1's gradient is -inf at (0, 0)"));
  CHECK(p.a.isZero(0));
}

TEST_CASE("the guard after a global clip trusts a finite norm and catches a NaN one",
          "[guard][clip]") {
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(ClipGradNorm{1.0});
  opt.add_transform(NonFiniteGuard{});
  CHECK(opt.step().applied);
  p.gb(0) = kNaN;
  const descend::StepReport& r = opt.step();
  CHECK(r.skipped);
  CHECK(std::isnan(r.grad_norm));
  CHECK_FALSE(std::isnan(p.a(0)));
}

TEST_CASE("the guard on a first step creates no state", "[guard]") {
  TwoParams p;
  p.ga(0) = kNaN;
  descend::Adam<double> opt;
  opt.add(p.a, p.ga);
  opt.add_transform(NonFiniteGuard{});
  CHECK(opt.step().skipped);
  CHECK_FALSE(opt.has_state(p.a));
  CHECK(opt.num_states() == 0);
}

TEST_CASE("max_norm = inf measures the norm without clipping", "[clip]") {
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(ClipGradNorm{kInf});
  const descend::StepReport& r = opt.step();
  CHECK(r.grad_norm == 13);
  CHECK_FALSE(r.clipped);
  CHECK(p.b(0) == -12);
}

TEST_CASE("clips in a row each see the gradient as the ones before left it", "[clip]") {
  // Per parameter to 1: (3, 4) -> (0.6, 0.8), 12 -> 1. Then globally to 1:
  // total = sqrt(1 + 1) = sqrt(2), c = 1 / (sqrt(2) + 1e-6).
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  opt.add(p.b, p.gb);
  opt.add_transform(descend::ClipNormPerParameter{1.0});
  opt.add_transform(ClipGradNorm{1.0});
  opt.add_transform(descend::ClipGradValue{0.5});  // |c * 0.8| = 0.566 > 0.5: clamped
  const descend::StepReport& r = opt.step();
  const double c = 1 / (std::sqrt(2.0) + 1e-6);
  CHECK(r.grad_norm == Approx(std::sqrt(2.0)).epsilon(1e-15));
  CHECK(p.a(0) == Approx(-0.6 * c).epsilon(1e-14));
  CHECK(p.a(1) == Approx(-0.5).epsilon(1e-14));
  CHECK(p.b(0) == Approx(-0.5).epsilon(1e-14));
}

TEST_CASE("clipping by value does not report a NaN it leaves alone as clipped", "[clip]") {
  Eigen::Vector2d w = Eigen::Vector2d::Zero(), g(0.5, kNaN);
  descend::Sgd<double> opt(plain(1.0));
  opt.add(w, g);
  opt.add_transform(descend::ClipGradValue{1.0});
  CHECK_FALSE(opt.step().clipped);
}

TEST_CASE("norms of gradients viewed with zero or negative strides read only their memory",
          "[clip]") {
  // A broadcast Map (stride 0) and a reversed one: the norm is over the
  // coefficients they show, read where they are.
  std::vector<double> one{2.0}, three{1.0, 2.0, 2.0};
  Eigen::Map<const Eigen::VectorXd, 0, Eigen::InnerStride<>> broadcast(one.data(), 4,
                                                                       Eigen::InnerStride<>(0));
  Eigen::Map<const Eigen::VectorXd, 0, Eigen::InnerStride<>> reversed(three.data() + 2, 3,
                                                                      Eigen::InnerStride<>(-1));
  const double kNorm4 = descend::detail::norm_of(descend::detail::view_of(broadcast), 2.0);
  const double kNorm3 = descend::detail::norm_of(descend::detail::view_of(reversed), 2.0);
  CHECK(kNorm4 == 4);  // sqrt(4 * 2²)
  CHECK(kNorm3 == 3);  // sqrt(1 + 4 + 4)
  CHECK(descend::detail::all_finite(descend::detail::view_of(reversed)));
}

TEST_CASE("a step that fails its overlap check leaves parameters alone, clips included",
          "[clip][guard]") {
  // Pair 0 views x's buffer; pair 1's gradient is then moved onto that buffer.
  Eigen::VectorXd x = Eigen::VectorXd::Constant(2, 5.0), g0 = Eigen::VectorXd::Zero(2);
  Eigen::Map<Eigen::VectorXd> px(x.data(), 2);
  Eigen::VectorXd w1 = Eigen::VectorXd::Zero(2), g1 = Eigen::VectorXd::Constant(2, 3.0);
  descend::Sgd<double> opt(plain(1.0));
  opt.add(px, g0);
  opt.add(w1, g1);
  opt.add_transform(descend::ClipGradValue{1.0});
  opt.step();
  g1 = std::move(x);  // g1 now owns the memory px views
  CHECK_THROWS_WITH(opt.step(), Contains("now shares memory"));
  CHECK(px(0) == 5.0);  // not clamped to 1
  CHECK(w1(0) == -1.0);
}

namespace {
// A transform that tries to change the optimizer running it.
struct Meddler : descend::GradientTransform<double> {
  descend::Optimizer<double>* opt = nullptr;
  const char* kind() const override { return "Meddler"; }
  bool before_update(const descend::StepItem<double>*, double*, std::size_t,
                     descend::StepReport&) override {
    opt->clear_transforms();
    return true;
  }
};
}  // namespace

TEST_CASE("a transform cannot add or clear transforms while it runs", "[clip]") {
  TwoParams p;
  descend::Sgd<double> opt(plain(1.0));
  opt.add(p.a, p.ga);
  auto meddler = std::make_unique<Meddler>();
  meddler->opt = &opt;
  opt.add_transform_ptr(std::move(meddler));
  CHECK_THROWS_AS(opt.step(), std::logic_error);
  CHECK(opt.num_transforms() == 1);
  CHECK(p.a.isZero(0));
}

TEST_CASE("with two guards, the one that skipped a step is the one the report counts", "[guard]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(1), g = Eigen::VectorXd::Constant(1, kNaN);
  descend::Sgd<double> opt;
  opt.add(w, g);
  opt.add_transform(NonFiniteGuard{});
  opt.add_transform(NonFiniteGuard{});  // never reached while the first skips
  const descend::StepReport& r = opt.step();
  CHECK(r.skipped);
  CHECK(r.skipped_in_a_row == 1);
  CHECK(r.skipped_total == 1);
  g(0) = 1;
  CHECK(opt.step().skipped_in_a_row == 0);
  CHECK(opt.last_step().skipped_total == 0);  // the second guard's: it skipped nothing
}
