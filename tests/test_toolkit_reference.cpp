// Gradient clipping, maximize, parameter groups and learning-rate schedules
// against PyTorch 1.13:
// tests/reference/toolkit.inc, recorded by tests/reference/generate_toolkit.py
// (torch itself, checked there against an independent plain-Python
// implementation). Every pair is registered with add(param, grad, group) and
// driven by step(), then the schedule's step() if any; the parameters and
// every state buffer are compared after each step, and so are the report's
// total norm, clipped flag and lrs.
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "descend/optim/clip.hpp"
#include "descend/optim/cyclic.hpp"
#include "descend/optim/schedule.hpp"
#include "reference_run.hpp"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One call of clip_grad_norm_ ("norm") or clip_grad_value_ ("value") on
// gradients of the given shapes; data holds their coefficients (row-major,
// one after another), then the clipped ones.
struct ClipCase {
  const char* kind;
  const char* shapes;  // "2x3 4x1"
  double limit;        // max_norm, or clip_value
  double norm_type;
  double total;  // torch's total norm ("norm")
  int clipped;   // max_norm / (total + 1e-6) < 1, or some value was clamped
  const double* data;
};

// A trajectory on the parameters of toolkit.inc (kShapes, kX0) with the
// gradient sign * (c (x - x*) + 0.3 sin(2x)). Each step's row: the total norm
// and clipped flag (0 without a clip), each group's lr, then per parameter its
// values and its buffers, row-major.
struct TrajectoryCase {
  const char* name;
  const char* optimizer;
  const char* groups;      // each group's options, " | " between groups
  const char* buffers;     // each group's state buffers, " | " between groups
  const char* membership;  // the group of each parameter
  const char* clip;        // ClipGradNorm options, or ""
  const char* schedule;    // a Schedule's kind and options, or ""
  double sign;
  int steps;
  const double* data;
  std::size_t size;  // of data
};

#include "reference/toolkit.inc"

template <class Scalar>
void check_clip(const ClipCase& c) {
  const double tolerance = testing::reference_tolerance<Scalar>();
  const double floor = testing::error_floor<Scalar>();
  INFO(c.kind << " " << c.shapes << " limit " << c.limit << " norm_type " << c.norm_type);
  std::vector<testing::RowMatrix<Scalar>> params = testing::matrices<Scalar>(c.shapes),
                                          grads = params;
  Eigen::Index n = 0;
  for (auto& g : grads) {
    for (Eigen::Index k = 0; k < g.size(); ++k) g.data()[k] = static_cast<Scalar>(c.data[n + k]);
    n += g.size();
  }
  // SGD with lr 1 from w = 0 leaves w = -g, g as the update saw it, exactly.
  descend::SgdOptions options;
  options.lr = 1;
  descend::Sgd<Scalar> opt(options);
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i].setZero();
    opt.add(params[i], grads[i]);
  }
  const bool norm = std::string(c.kind) == "norm";
  if (norm)
    opt.add_transform(descend::ClipGradNorm{c.limit, c.norm_type});
  else
    opt.add_transform(descend::ClipGradValue{c.limit});
  const descend::StepReport& r = opt.step();
  CHECK(r.clipped == (c.clipped != 0));
  if (norm) CHECK(std::abs(r.grad_norm - c.total) <= tolerance * c.total);
  const double* in = c.data;
  const double* out = c.data + n;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Eigen::Index size = params[i].size();
    const testing::RowMatrix<Scalar> seen = -params[i];
    CHECK(testing::error(seen.data(), out, size, floor) <= tolerance);
    // clip_grad_norm_'s scale enters the update only; clip_grad_value_ writes.
    CHECK(testing::error(grads[i].data(), norm ? in : out, size, floor) <= tolerance);
    in += size;
    out += size;
  }
}

// The options of one group, built as tests/helpers.hpp builds an optimizer
// from the same text, plus maximize.
template <class Scalar, class Rule>
bool set_groups(descend::Optimizer<Scalar>& opt, const std::string& name,
                const std::vector<std::string>& groups) {
  auto* rule = dynamic_cast<Rule*>(&opt);
  if (rule == nullptr) return false;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto built = testing::make_optimizer<Scalar>(name, groups[g]);
    auto options = dynamic_cast<const Rule&>(*built).options(0);
    options.maximize = testing::flag(testing::parse_options(groups[g]), "maximize");
    if (g == 0)
      rule->set_options(options, 0);
    else
      REQUIRE(rule->add_group(options) == g);
  }
  return true;
}

template <class Scalar>
std::unique_ptr<descend::Optimizer<Scalar>> make_grouped(const std::string& name,
                                                         const std::vector<std::string>& groups) {
  auto opt = testing::make_optimizer<Scalar>(name, groups[0]);
  const bool known = set_groups<Scalar, descend::Sgd<Scalar>>(*opt, name, groups) ||
                     set_groups<Scalar, descend::Adagrad<Scalar>>(*opt, name, groups) ||
                     set_groups<Scalar, descend::Rmsprop<Scalar>>(*opt, name, groups) ||
                     set_groups<Scalar, descend::Adadelta<Scalar>>(*opt, name, groups) ||
                     set_groups<Scalar, descend::Adam<Scalar>>(*opt, name, groups);
  REQUIRE(known);
  return opt;
}

descend::ClipGradNorm clip_from(const std::string& text) {
  const testing::Options o = testing::parse_options(text);
  descend::ClipGradNorm clip;
  clip.max_norm = testing::number(o, "max_norm", clip.max_norm);
  clip.norm_type = testing::number(o, "norm_type", clip.norm_type);
  if (o.count("group")) clip.group = static_cast<std::size_t>(testing::number(o, "group", 0));
  return clip;
}

// The schedules of generate_toolkit.py, driving every group.
class Schedule {
 public:
  Schedule(descend::ParamGroups& groups, const std::string& text) {
    const std::string kind = text.substr(0, text.find(' '));
    const testing::Options o = testing::parse_options(text.substr(kind.size()));
    const auto integer = [&](const char* key) {
      return static_cast<std::int64_t>(testing::number(o, key, 0));
    };
    if (kind == "cosine") {
      own<descend::CosineAnnealingLR>(groups, integer("T_max"), testing::number(o, "eta_min", 0));
    } else if (kind == "step") {
      own<descend::StepLR>(groups, integer("step_size"), testing::number(o, "gamma", 0));
    } else if (kind == "onecycle") {
      descend::OneCycleLROptions options;
      options.max_lr = testing::number(o, "max_lr", 0);
      options.total_steps = integer("total_steps");
      own<descend::OneCycleLR>(groups, options);
    } else {
      REQUIRE(kind == "warmup_cosine");
      auto& warmup = own<descend::LinearLR>(groups, testing::number(o, "start_factor", 0), 1.0,
                                            integer("total_iters"));
      auto& cosine = own<descend::CosineAnnealingLR>(groups, integer("T_max"),
                                                     testing::number(o, "eta_min", 0));
      own<descend::SequentialLR>(
          groups, std::vector<std::reference_wrapper<descend::StepSchedule>>{warmup, cosine},
          std::vector<std::int64_t>{integer("milestone")});
    }
  }
  // PyTorch's scheduler.step(), of the last one made (SequentialLR steps the others).
  void step() { owned_.back()->step(); }

 private:
  template <class S, class... Args>
  S& own(descend::ParamGroups& groups, Args&&... args) {
    owned_.push_back(std::make_unique<S>(groups, std::forward<Args>(args)...));
    return static_cast<S&>(*owned_.back());
  }
  std::vector<std::unique_ptr<descend::LrSchedule>> owned_;
};

template <class Scalar>
void run_trajectory(const TrajectoryCase& c) {
  const double tolerance = testing::reference_tolerance<Scalar>();
  const double floor = testing::error_floor<Scalar>();
  INFO(c.name);
  const std::vector<std::string> groups = testing::split(c.groups, " | ");
  auto opt = make_grouped<Scalar>(c.optimizer, groups);
  REQUIRE(opt->num_groups() == groups.size());
  testing::require_buffers(*opt, c.buffers);
  testing::TrajectoryProblem<Scalar> p(kShapes, kX0, kC, kXStar);
  p.add_to(*opt, c.membership);
  const bool clips = *c.clip != '\0';
  if (clips) opt->add_transform(clip_from(c.clip));
  std::unique_ptr<Schedule> schedule;
  if (*c.schedule != '\0') schedule = std::make_unique<Schedule>(*opt, c.schedule);

  const double* row = c.data;
  for (int t = 1; t <= c.steps; ++t) {
    INFO("step " << t);
    p.gradients(c.sign);
    const descend::StepReport& r = opt->step();
    REQUIRE(r.applied);
    if (schedule) schedule->step();
    CHECK(r.clipped == (row[1] != 0));
    if (clips)
      CHECK(std::abs(r.grad_norm - row[0]) <= tolerance * row[0]);
    else
      CHECK(std::isnan(r.grad_norm));  // no ClipGradNorm computed one
    for (std::size_t g = 0; g < groups.size(); ++g)
      CHECK(std::abs(r.lr[g] - row[2 + g]) <= tolerance * row[2 + g]);
    testing::RowError e;
    row = testing::compare_row(*opt, p.params, row + 2 + groups.size(), floor, e);
    INFO(e);
    CHECK(e.worst <= tolerance);
  }
  CHECK(row == c.data + c.size);  // the layout read is the layout written
}

}  // namespace

TEMPLATE_TEST_CASE("ClipGradNorm and ClipGradValue match clip_grad_norm_ and clip_grad_value_",
                   "[clip][reference]", float, double) {
  int cases = 0;
  for (const ClipCase& c : kClipCases) {
    // In float, max_norm equal to the double total is not the float total.
    if (std::is_same<TestType, float>::value && c.limit == c.total) continue;
    check_clip<TestType>(c);
    ++cases;
  }
  CHECK(cases >= 30);
}

TEST_CASE(
    "maximize, parameter groups, clipped steps and schedules follow PyTorch's trajectories in "
    "double",
    "[maximize][groups][clip][schedule][reference]") {
  for (const TrajectoryCase& c : kTrajectoryCases) run_trajectory<double>(c);
}

TEST_CASE(
    "maximize, parameter groups, clipped steps and schedules follow PyTorch's trajectories in "
    "float",
    "[maximize][groups][clip][schedule][reference]") {
  for (const TrajectoryCase& c : kTrajectoryCases) run_trajectory<float>(c);
}
