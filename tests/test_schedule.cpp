// Learning-rate schedules against tests/reference/schedules.inc: the lrs and
// momenta of real PyTorch 1.13 (checked there against an independent
// implementation of the published formulas), numpy-ml's Noam and King
// schedulers and the Mytorch step decay as published, produced by
// tests/reference/generate_schedules.py. Two groups: lr 0.1 and 0.05,
// momentum 0.9 and 0.5 (Adam cases: beta1 0.9 and 0.8).
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "descend/optim/schedules.hpp"

using namespace descend;

namespace {

struct ScheduleCase {
  const char* id;
  bool throws_next;                  // one more step() raises in PyTorch (OneCycleLR)
  std::vector<double> lr, momentum;  // rows of (group 0, group 1)
};

const std::vector<ScheduleCase>& reference_cases() {
  static const std::vector<ScheduleCase> cases = {
#define DESCEND_SCHEDULE_CASES
#include "reference/schedules.inc"
#undef DESCEND_SCHEDULE_CASES
  };
  return cases;
}

const std::vector<double> kPlateauMetrics = {
#define DESCEND_PLATEAU_METRICS
#include "reference/schedules.inc"
#undef DESCEND_PLATEAU_METRICS
};
const std::vector<double> kPlateauMaxMetrics = {
#define DESCEND_PLATEAU_MAX_METRICS
#include "reference/schedules.inc"
#undef DESCEND_PLATEAU_MAX_METRICS
};
const std::vector<double> kKingLosses = {
#define DESCEND_KING_LOSSES
#include "reference/schedules.inc"
#undef DESCEND_KING_LOSSES
};

// Adam's groups as a schedule sees them: the momentum it cycles is beta1.
class Beta1Groups : public LrGroups {
 public:
  using LrGroups::LrGroups;
  const char* momentum_name() const override { return "beta1"; }
};

// The schedules of one case; the last one is stepped (with the metric or loss
// of each step when it is a MetricSchedule).
struct Run {
  std::vector<std::unique_ptr<ScheduleBase>> schedules;
  std::vector<double> metrics;

  template <class S, class... Args>
  S& add(Args&&... args) {
    auto s = std::make_unique<S>(std::forward<Args>(args)...);
    S& ref = *s;
    schedules.push_back(std::move(s));
    return ref;
  }
  void step(std::size_t k) {
    ScheduleBase* last = schedules.back().get();
    if (auto* s = dynamic_cast<LrSchedule*>(last))
      s->step();
    else
      dynamic_cast<MetricSchedule&>(*last).step(metrics.at(k));
  }
};

using Maker = std::function<void(ParamGroups&, Run&)>;

CyclicLROptions cyclic(double up, std::optional<double> down = {}) {
  CyclicLROptions o;
  o.base_lr = {0.01, 0.002};
  o.max_lr = {0.1, 0.05};
  o.base_momentum = {0.8, 0.4};
  o.max_momentum = {0.9, 0.6};
  o.step_size_up = up;
  o.step_size_down = down;
  return o;
}

OneCycleLROptions one_cycle(std::int64_t total_steps, PerGroup max_lr = {1.0, 0.4}) {
  OneCycleLROptions o;
  o.max_lr = std::move(max_lr);
  o.total_steps = total_steps;
  return o;
}

ReduceLROnPlateauOptions plateau(std::int64_t patience) {
  ReduceLROnPlateauOptions o;
  o.patience = patience;
  return o;
}

// Every case of the reference data, by id: how descend builds it.
const std::map<std::string, Maker>& makers() {
  static const std::map<std::string, Maker> m = [] {
    std::map<std::string, Maker> m;
    m["StepLR step_size=3"] = [](ParamGroups& g, Run& r) { r.add<StepLR>(g, 3); };
    m["StepLR step_size=7 gamma=0.5"] = [](ParamGroups& g, Run& r) { r.add<StepLR>(g, 7, 0.5); };
    m["MultiStepLR milestones=5,12,30"] = [](ParamGroups& g, Run& r) {
      r.add<MultiStepLR>(g, std::vector<std::int64_t>{5, 12, 30});
    };
    m["MultiStepLR milestones=20,4,4,9 gamma=0.5"] = [](ParamGroups& g, Run& r) {
      r.add<MultiStepLR>(g, std::vector<std::int64_t>{20, 4, 4, 9}, 0.5);
    };
    m["ConstantLR"] = [](ParamGroups& g, Run& r) { r.add<ConstantLR>(g); };
    m["ConstantLR factor=0.5 total_iters=8"] = [](ParamGroups& g, Run& r) {
      r.add<ConstantLR>(g, 0.5, 8);
    };
    m["LinearLR"] = [](ParamGroups& g, Run& r) { r.add<LinearLR>(g); };
    m["LinearLR start_factor=1 end_factor=0.1 total_iters=20"] = [](ParamGroups& g, Run& r) {
      r.add<LinearLR>(g, 1.0, 0.1, 20);
    };
    m["LinearLR start_factor=0.25 end_factor=0.75 total_iters=10"] = [](ParamGroups& g, Run& r) {
      r.add<LinearLR>(g, 0.25, 0.75, 10);
    };
    m["ExponentialLR gamma=0.9"] = [](ParamGroups& g, Run& r) { r.add<ExponentialLR>(g, 0.9); };
    m["PolynomialLR"] = [](ParamGroups& g, Run& r) { r.add<PolynomialLR>(g); };
    m["PolynomialLR total_iters=30 power=2.5"] = [](ParamGroups& g, Run& r) {
      r.add<PolynomialLR>(g, 30, 2.5);
    };
    m["PolynomialLR total_iters=12 power=0.5"] = [](ParamGroups& g, Run& r) {
      r.add<PolynomialLR>(g, 12, 0.5);
    };
    m["CosineAnnealingLR T_max=10"] = [](ParamGroups& g, Run& r) {
      r.add<CosineAnnealingLR>(g, 10);
    };
    m["CosineAnnealingLR T_max=25 eta_min=0.01"] = [](ParamGroups& g, Run& r) {
      r.add<CosineAnnealingLR>(g, 25, 0.01);
    };
    m["CosineAnnealingLR T_max=1 eta_min=0.001"] = [](ParamGroups& g, Run& r) {
      r.add<CosineAnnealingLR>(g, 1, 0.001);
    };
    m["CosineAnnealingWarmRestarts T_0=10"] = [](ParamGroups& g, Run& r) {
      r.add<CosineAnnealingWarmRestarts>(g, 10);
    };
    m["CosineAnnealingWarmRestarts T_0=3 T_mult=2 eta_min=0.001"] = [](ParamGroups& g, Run& r) {
      r.add<CosineAnnealingWarmRestarts>(g, 3, 2, 0.001);
    };
    m["CosineAnnealingWarmRestarts T_0=1 T_mult=3"] = [](ParamGroups& g, Run& r) {
      r.add<CosineAnnealingWarmRestarts>(g, 1, 3);
    };
    const LrLambda inverse = [](std::int64_t e) { return 1.0 / (1 + 0.1 * e); };
    const LrLambda power = [](std::int64_t e) { return std::pow(0.95, e); };
    m["LambdaLR f=1/(1+0.1e)"] = [=](ParamGroups& g, Run& r) { r.add<LambdaLR>(g, inverse); };
    m["LambdaLR f=1/(1+0.1e),0.95^e"] = [=](ParamGroups& g, Run& r) {
      r.add<LambdaLR>(g, std::vector<LrLambda>{inverse, power});
    };
    const LrLambda zigzag = [](std::int64_t e) { return e % 2 ? 0.9 : 1.05; };
    const LrLambda shrink = [](std::int64_t e) { return 1 - 0.01 * e; };
    m["MultiplicativeLR f=0.9|1.05"] = [=](ParamGroups& g, Run& r) {
      r.add<MultiplicativeLR>(g, zigzag);
    };
    m["MultiplicativeLR f=0.9|1.05,1-0.01e"] = [=](ParamGroups& g, Run& r) {
      r.add<MultiplicativeLR>(g, std::vector<LrLambda>{zigzag, shrink});
    };
    m["SequentialLR LinearLR(0.1,1,5) ExponentialLR(0.9) milestones=5"] = [](ParamGroups& g,
                                                                             Run& r) {
      auto& a = r.add<LinearLR>(g, 0.1, 1.0, 5);
      auto& b = r.add<ExponentialLR>(g, 0.9);
      r.add<SequentialLR>(g, std::vector<std::reference_wrapper<StepSchedule>>{a, b},
                          std::vector<std::int64_t>{5});
    };
    m["SequentialLR ConstantLR(0.5,3) CosineAnnealingLR(8,0.01) StepLR(4,0.5) milestones=4,12"] =
        [](ParamGroups& g, Run& r) {
          auto& a = r.add<ConstantLR>(g, 0.5, 3);
          auto& b = r.add<CosineAnnealingLR>(g, 8, 0.01);
          auto& c = r.add<StepLR>(g, 4, 0.5);
          r.add<SequentialLR>(g, std::vector<std::reference_wrapper<StepSchedule>>{a, b, c},
                              std::vector<std::int64_t>{4, 12});
        };
    m["SequentialLR LinearLR(0.5,1,4) CosineAnnealingWarmRestarts(3,2) milestones=4"] =
        [](ParamGroups& g, Run& r) {
          auto& a = r.add<LinearLR>(g, 0.5, 1.0, 4);
          auto& b = r.add<CosineAnnealingWarmRestarts>(g, 3, 2);
          r.add<SequentialLR>(g, std::vector<std::reference_wrapper<StepSchedule>>{a, b},
                              std::vector<std::int64_t>{4});
        };
    m["SequentialLR ExponentialLR(0.8) LambdaLR(0.5+0.1e) milestones=6"] = [](ParamGroups& g,
                                                                              Run& r) {
      auto& a = r.add<ExponentialLR>(g, 0.8);
      auto& b = r.add<LambdaLR>(g, [](std::int64_t e) { return 0.5 + 0.1 * e; });
      r.add<SequentialLR>(g, std::vector<std::reference_wrapper<StepSchedule>>{a, b},
                          std::vector<std::int64_t>{6});
    };
    m["ChainedScheduler ConstantLR(0.2,4) ExponentialLR(0.9)"] = [](ParamGroups& g, Run& r) {
      auto& a = r.add<ConstantLR>(g, 0.2, 4);
      auto& b = r.add<ExponentialLR>(g, 0.9);
      r.add<ChainedScheduler>(std::vector<std::reference_wrapper<LrSchedule>>{a, b});
    };
    m["ChainedScheduler LinearLR(0.25,1,6) StepLR(5,0.5)"] = [](ParamGroups& g, Run& r) {
      auto& a = r.add<LinearLR>(g, 0.25, 1.0, 6);
      auto& b = r.add<StepLR>(g, 5, 0.5);
      r.add<ChainedScheduler>(std::vector<std::reference_wrapper<LrSchedule>>{a, b});
    };

    m["CyclicLR triangular step_size_up=5"] = [](ParamGroups& g, Run& r) {
      r.add<CyclicLR>(g, cyclic(5));
    };
    m["CyclicLR triangular2 step_size_up=4 step_size_down=6"] = [](ParamGroups& g, Run& r) {
      auto o = cyclic(4, 6);
      o.mode = CyclicMode::triangular2;
      r.add<CyclicLR>(g, o);
    };
    m["CyclicLR exp_range gamma=0.97 step_size_up=6"] = [](ParamGroups& g, Run& r) {
      auto o = cyclic(6);
      o.mode = CyclicMode::exp_range;
      o.gamma = 0.97;
      r.add<CyclicLR>(g, o);
    };
    m["CyclicLR scale_fn=1/(1+0.5(c-1)) scale_mode=cycle step_size_up=3 step_size_down=2"] =
        [](ParamGroups& g, Run& r) {
          auto o = cyclic(3, 2);
          o.scale_fn = [](double c) { return 1 / (1 + 0.5 * (c - 1)); };
          r.add<CyclicLR>(g, o);
        };
    m["CyclicLR scale_fn=0.99^x scale_mode=iterations step_size_up=4"] = [](ParamGroups& g,
                                                                            Run& r) {
      auto o = cyclic(4);
      o.scale_fn = [](double x) { return std::pow(0.99, x); };
      o.scale_mode = ScaleMode::iterations;
      r.add<CyclicLR>(g, o);
    };
    m["CyclicLR triangular step_size_up=3 cycle_momentum=0"] = [](ParamGroups& g, Run& r) {
      CyclicLROptions o;
      o.base_lr = 0.01;
      o.max_lr = 0.1;
      o.step_size_up = 3;
      o.cycle_momentum = false;
      r.add<CyclicLR>(g, o);
    };

    m["OneCycleLR total_steps=40"] = [](ParamGroups& g, Run& r) {
      r.add<OneCycleLR>(g, one_cycle(40));
    };
    m["OneCycleLR total_steps=50 anneal_strategy=linear pct_start=0.25"] = [](ParamGroups& g,
                                                                              Run& r) {
      auto o = one_cycle(50);
      o.anneal_strategy = AnnealStrategy::linear;
      o.pct_start = 0.25;
      r.add<OneCycleLR>(g, o);
    };
    m["OneCycleLR total_steps=60 three_phase=1 div_factor=10 final_div_factor=100"] =
        [](ParamGroups& g, Run& r) {
          auto o = one_cycle(60);
          o.three_phase = true;
          o.div_factor = 10;
          o.final_div_factor = 100;
          r.add<OneCycleLR>(g, o);
        };
    m["OneCycleLR total_steps=45 three_phase=1 anneal_strategy=linear"] = [](ParamGroups& g,
                                                                             Run& r) {
      auto o = one_cycle(45, {0.5, 0.2});
      o.three_phase = true;
      o.anneal_strategy = AnnealStrategy::linear;
      o.base_momentum = {0.8, 0.7};
      o.max_momentum = {0.9, 0.95};
      r.add<OneCycleLR>(g, o);
    };
    m["OneCycleLR epochs=6 steps_per_epoch=7 max_lr=0.3 Adam"] = [](ParamGroups& g, Run& r) {
      OneCycleLROptions o;
      o.max_lr = 0.3;
      o.epochs = 6;
      o.steps_per_epoch = 7;
      r.add<OneCycleLR>(g, o);
    };
    m["OneCycleLR total_steps=30 max_lr=0.2 Adam base_momentum=0.8,0.7 max_momentum=0.9"] =
        [](ParamGroups& g, Run& r) {
          auto o = one_cycle(30, 0.2);
          o.base_momentum = {0.8, 0.7};
          o.max_momentum = 0.9;
          r.add<OneCycleLR>(g, o);
        };
    m["OneCycleLR total_steps=20 cycle_momentum=0"] = [](ParamGroups& g, Run& r) {
      auto o = one_cycle(20);
      o.cycle_momentum = false;
      r.add<OneCycleLR>(g, o);
    };

    m["ReduceLROnPlateau patience=2"] = [](ParamGroups& g, Run& r) {
      r.add<ReduceLROnPlateau>(g, plateau(2));
      r.metrics = kPlateauMetrics;
    };
    m["ReduceLROnPlateau patience=1 factor=0.5 cooldown=2 min_lr=0.01,0.02"] = [](ParamGroups& g,
                                                                                  Run& r) {
      auto o = plateau(1);
      o.factor = 0.5;
      o.cooldown = 2;
      o.min_lr = {0.01, 0.02};
      r.add<ReduceLROnPlateau>(g, o);
      r.metrics = kPlateauMetrics;
    };
    m["ReduceLROnPlateau patience=3 threshold=0.05 threshold_mode=abs"] = [](ParamGroups& g,
                                                                             Run& r) {
      auto o = plateau(3);
      o.threshold = 0.05;
      o.threshold_mode = ThresholdMode::abs;
      r.add<ReduceLROnPlateau>(g, o);
      r.metrics = kPlateauMetrics;
    };
    m["ReduceLROnPlateau mode=max patience=2 factor=0.3"] = [](ParamGroups& g, Run& r) {
      auto o = plateau(2);
      o.mode = PlateauMode::max;
      o.factor = 0.3;
      r.add<ReduceLROnPlateau>(g, o);
      r.metrics = kPlateauMaxMetrics;
    };
    m["ReduceLROnPlateau mode=max threshold_mode=abs threshold=0.005 patience=0"] =
        [](ParamGroups& g, Run& r) {
          auto o = plateau(0);
          o.mode = PlateauMode::max;
          o.threshold_mode = ThresholdMode::abs;
          o.threshold = 0.005;
          r.add<ReduceLROnPlateau>(g, o);
          r.metrics = kPlateauMaxMetrics;
        };
    m["ReduceLROnPlateau patience=0 factor=0.5 eps=0.02"] = [](ParamGroups& g, Run& r) {
      auto o = plateau(0);
      o.factor = 0.5;
      o.eps = 0.02;
      r.add<ReduceLROnPlateau>(g, o);
      r.metrics = kPlateauMetrics;
    };

    m["NoamScheduler model_dim=512 scale_factor=1 warmup_steps=10"] = [](ParamGroups& g, Run& r) {
      r.add<NoamScheduler>(g, 512, 1, 10);
    };
    m["NoamScheduler model_dim=64 scale_factor=2.0 warmup_steps=25"] = [](ParamGroups& g, Run& r) {
      r.add<NoamScheduler>(g, 64, 2.0, 25);
    };
    m["KingScheduler patience=3 decay=0.5"] = [](ParamGroups& g, Run& r) {
      r.add<KingScheduler>(g, 3, 0.5);
      r.metrics = kKingLosses;
    };
    m["KingScheduler patience=10 decay=0.9"] = [](ParamGroups& g, Run& r) {
      r.add<KingScheduler>(g, 10, 0.9);
      r.metrics = kKingLosses;
    };
    for (double d : {0.01, 0.2}) {
      const std::string suffix = d == 0.01 ? "0.01" : "0.2";
      m["CompoundingStepDecay lr_decay=" + suffix] = [=](ParamGroups& g, Run& r) {
        r.add<CompoundingStepDecay>(g, d);
      };
      m["StepDecay lr_decay=" + suffix] = [=](ParamGroups& g, Run& r) { r.add<StepDecay>(g, d); };
    }
    return m;
  }();
  return m;
}

// |a - b| <= 1e-12 max(|a|, |b|): the reference is computed with the same
// operations in the same order, so the two agree to a few ulps.
bool close(double a, double b) {
  return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b));
}

std::vector<double> lrs_of(const ParamGroups& g) { return {g.lr(0), g.lr(1)}; }
std::vector<double> momenta_of(const ParamGroups& g) { return {g.momentum(0), g.momentum(1)}; }

void check_row(const ScheduleCase& c, const ParamGroups& g, std::size_t k) {
  for (std::size_t i = 0; i < 2; ++i) {
    INFO(c.id << ": group " << i << " after " << k << " steps");
    const double want_lr = c.lr[2 * k + i];
    // PyTorch's extrapolated last OneCycleLR step may be negative; descend sets 0.
    CHECK(close(g.lr(i), c.throws_next && k + 1 == c.lr.size() / 2 && want_lr < 0 ? 0 : want_lr));
    CHECK(close(g.momentum(i), c.momentum[2 * k + i]));
  }
}

void check_case(const ScheduleCase& c) {
  const bool adam = std::string(c.id).find(" Adam") != std::string::npos;
  std::unique_ptr<ParamGroups> g;
  if (adam)
    g = std::make_unique<Beta1Groups>(std::vector<double>{0.1, 0.05},
                                      std::vector<double>{0.9, 0.8});
  else
    g = std::make_unique<LrGroups>(std::vector<double>{0.1, 0.05}, std::vector<double>{0.9, 0.5});
  Run run;
  makers().at(c.id)(*g, run);
  const std::size_t steps = c.lr.size() / 2 - 1;
  check_row(c, *g, 0);
  for (std::size_t k = 1; k <= steps; ++k) {
    run.step(k - 1);
    check_row(c, *g, k);
    CHECK(run.schedules.back()->last_lr() == lrs_of(*g));
  }
  if (c.throws_next) {
    const std::vector<double> lr = lrs_of(*g), momentum = momenta_of(*g);
    const std::int64_t epoch = run.schedules.back()->last_epoch();
    CHECK_THROWS_AS(run.step(steps), std::out_of_range);
    CHECK(lrs_of(*g) == lr);
    CHECK(momenta_of(*g) == momentum);
    CHECK(run.schedules.back()->last_epoch() == epoch);
  }
}

// Checks every reference case whose id starts with `prefix`.
void check_family(const std::string& prefix) {
  int n = 0;
  for (const ScheduleCase& c : reference_cases())
    if (std::string(c.id).rfind(prefix, 0) == 0) {
      check_case(c);
      ++n;
    }
  REQUIRE(n > 0);
}

}  // namespace

TEST_CASE("Every reference case has a descend schedule and every schedule a case", "[schedule]") {
  std::set<std::string> data;
  for (const ScheduleCase& c : reference_cases()) {
    CHECK(makers().count(c.id) == 1);
    data.insert(c.id);
    CHECK(c.lr.size() == c.momentum.size());
  }
  for (const auto& entry : makers()) CHECK(data.count(entry.first) == 1);
}

TEST_CASE("StepLR and MultiStepLR follow PyTorch 1.13", "[schedule][reference]") {
  check_family("StepLR ");
  check_family("MultiStepLR ");
}
TEST_CASE("ConstantLR and LinearLR follow PyTorch 1.13", "[schedule][reference]") {
  check_family("ConstantLR");
  check_family("LinearLR");
}
TEST_CASE("ExponentialLR and PolynomialLR follow PyTorch 1.13", "[schedule][reference]") {
  check_family("ExponentialLR ");
  check_family("PolynomialLR");
}
TEST_CASE("CosineAnnealingLR follows PyTorch 1.13 past T_max", "[schedule][reference]") {
  check_family("CosineAnnealingLR ");
}
TEST_CASE("CosineAnnealingWarmRestarts follows PyTorch 1.13 through restarts with T_mult",
          "[schedule][reference]") {
  check_family("CosineAnnealingWarmRestarts ");
}
TEST_CASE("LambdaLR and MultiplicativeLR follow PyTorch 1.13 with one function or one per group",
          "[schedule][reference]") {
  check_family("LambdaLR ");
  check_family("MultiplicativeLR ");
}
TEST_CASE("SequentialLR follows PyTorch 1.13 through its switch steps", "[schedule][reference]") {
  check_family("SequentialLR ");
}
TEST_CASE("ChainedScheduler steps every schedule as PyTorch 1.13", "[schedule][reference]") {
  check_family("ChainedScheduler ");
}
TEST_CASE("CyclicLR follows PyTorch 1.13 in every mode, cycling momentum",
          "[schedule][reference]") {
  check_family("CyclicLR ");
}
TEST_CASE("OneCycleLR follows PyTorch 1.13 to its last step and throws after it",
          "[schedule][reference]") {
  check_family("OneCycleLR ");
}
TEST_CASE("ReduceLROnPlateau follows PyTorch 1.13 on a scripted metric", "[schedule][reference]") {
  check_family("ReduceLROnPlateau ");
}
TEST_CASE("NoamScheduler and KingScheduler follow numpy-ml's code", "[schedule][reference]") {
  check_family("NoamScheduler ");
  check_family("KingScheduler ");
}
TEST_CASE("The Mytorch step decay compounds; StepDecay does not", "[schedule][reference]") {
  check_family("CompoundingStepDecay ");
  check_family("StepDecay ");
}

TEST_CASE("The step decays match a hand derivation", "[schedule]") {
  // lr 1, lr_decay 0.5, period 2; update t uses:
  //   compounding: t=1: 1 * 0.5^0 = 1; t=2: 1 * 0.5^1 = 0.5; t=3: 0.5 * 0.5^1 = 0.25;
  //                t=4: 0.25 * 0.5^2 = 0.0625
  //   StepDecay:   0.5^floor(t/2) = 1, 0.5, 0.5, 0.25
  LrGroups a({1.0}), b({1.0});
  CompoundingStepDecay compounding(a, 0.5, 2);
  StepDecay step_decay(b, 0.5, 2);
  const double want_a[] = {1, 0.5, 0.25, 0.0625}, want_b[] = {1, 0.5, 0.5, 0.25};
  for (int t = 0; t < 4; ++t) {
    CHECK(a.lr() == want_a[t]);
    CHECK(b.lr() == want_b[t]);
    compounding.step();
    step_decay.step();
  }
}

TEST_CASE("NoamScheduler matches a hand derivation", "[schedule]") {
  // model_dim 4, warmup 4: lr_t = 4^-0.5 min(t^-0.5, t 4^-1.5) = 0.5 min(t^-0.5, t / 8)
  //   t=1: 0.5 * 0.125 = 0.0625   t=4: 0.5 * min(0.5, 0.5) = 0.25   t=16: 0.5 * 0.25 = 0.125
  LrGroups g({0.3});
  NoamScheduler noam(g, 4, 1, 4);
  CHECK(g.lr() == Approx(0.0625).epsilon(1e-15));
  for (int t = 2; t <= 16; ++t) {
    noam.step();
    if (t == 4) CHECK(g.lr() == Approx(0.25).epsilon(1e-15));
  }
  CHECK(g.lr() == Approx(0.125).epsilon(1e-15));
}

TEST_CASE("King's probability of a decrease matches numpy-ml and a hand derivation", "[schedule]") {
  // (1, 3, 2): slope 0.5, residuals (-0.5, 1, -0.5), sigma^2 = 1.5 / 1,
  // var = 12 * 1.5 / (27 - 3) = 0.75, P = Phi(-0.5 / sqrt(0.75)) = Phi(-0.57735) = 0.281851
  CHECK(probability_of_decrease({1, 3, 2}) == Approx(0.281851).epsilon(1e-5));
  CHECK(probability_of_decrease({3, 2, 1}) == 1.0);  // exact fit: variance 0
  CHECK(probability_of_decrease({1, 2, 3}) == 0.0);
  struct Window {
    std::size_t first, last;
    double p;
  };
  const Window windows[] = {
#define DESCEND_KING_PROBABILITIES
#include "reference/schedules.inc"
#undef DESCEND_KING_PROBABILITIES
  };
  for (const Window& w : windows) {
    const std::vector<double> losses(kKingLosses.begin() + static_cast<std::ptrdiff_t>(w.first),
                                     kKingLosses.begin() + static_cast<std::ptrdiff_t>(w.last));
    // numpy-ml solves the normal equations with a matrix inverse; descend
    // uses the centred sums: the same number to about 1e-12.
    CHECK(std::abs(probability_of_decrease(losses) - w.p) <= 1e-9);
  }
  CHECK_THROWS_AS(probability_of_decrease({1, 2}), std::invalid_argument);
  CHECK_THROWS_AS(probability_of_decrease({1, NAN, 2}), std::invalid_argument);
}

TEST_CASE("King's test says a falling loss still decreases and a flat one does not", "[schedule]") {
  std::vector<double> falling, flat;
  for (int t = 0; t < 12; ++t) {
    falling.push_back(1.0 / (1 + t) + 0.01 * (t % 3));
    flat.push_back(0.5 + 0.005 * t + 0.01 * ((t * 7) % 5));
  }
  // numpy-ml's _steps_without_decrease (raw, robust) on these, patience 5:
  // falling (0, 0), flat (6, 6): only flat has gone patience + 1 steps without.
  CHECK(loss_still_decreasing(falling, 5));
  CHECK_FALSE(loss_still_decreasing(flat, 5));
  CHECK(loss_still_decreasing({0.5, 0.5, 0.5}, 5));  // fewer than patience + 1 losses
  CHECK_THROWS_WITH(loss_still_decreasing(flat, 2), Catch::Contains("patience = 2"));
}

TEST_CASE("ReduceLROnPlateau keeps best, bad epochs and cooldown as PyTorch", "[schedule]") {
  // patience 1, cooldown 2: metrics 1, 1, 1 -> bad 0, 1, 2 > 1: reduce, cooldown 2
  LrGroups g({0.1});
  auto o = plateau(1);
  o.cooldown = 2;
  ReduceLROnPlateau s(g, o);
  CHECK(s.best() == std::numeric_limits<double>::infinity());
  s.step(1);
  CHECK((s.best() == 1 && s.num_bad_epochs() == 0));
  s.step(1);
  CHECK(s.num_bad_epochs() == 1);
  s.step(1);
  CHECK((s.num_bad_epochs() == 0 && s.cooldown_counter() == 2 && s.last_epoch() == 3));
  CHECK(g.lr() == Approx(0.01).epsilon(1e-15));
  s.step(NAN);  // never better; in cooldown
  CHECK((s.num_bad_epochs() == 0 && s.cooldown_counter() == 1));
}

TEST_CASE("A schedule restricted to one group leaves the others alone", "[schedule]") {
  LrGroups g({0.1, 0.05}, {0.9, 0.5});
  StepLR s(one_group(g, 1), 1, 0.5);
  s.step();
  s.step();
  CHECK(g.lr(0) == 0.1);
  CHECK(g.lr(1) == 0.0125);
  CHECK(std::isnan(g.initial_lr(0)));
  CHECK(g.initial_lr(1) == 0.05);
  CHECK(s.last_lr() == std::vector<double>{0.0125});
  CHECK(s.groups() == std::vector<std::size_t>{1});
  OneCycleLR cycle(one_group(g, 0), one_cycle(10, 1.0));
  CHECK(g.lr(0) == Approx(0.04).epsilon(1e-14));
  CHECK(g.momentum(0) == 0.95);
  CHECK((g.lr(1) == 0.0125 && g.momentum(1) == 0.5));
  CHECK_THROWS_AS(StepLR(one_group(g, 2), 1), std::out_of_range);
}

TEST_CASE("A chainable schedule carries on from an lr set from outside", "[schedule]") {
  LrGroups g({0.1});
  ExponentialLR s(g, 0.5);
  s.step();
  g.set_lr(1.0, 0);
  s.step();
  CHECK(g.lr() == 0.5);
  // A second schedule starts from initial_lr (0.1), not from the current lr.
  StepLR t(g, 1, 0.1);
  CHECK(t.base_lrs() == std::vector<double>{0.1});
}

TEST_CASE("A step the groups refuse changes nothing", "[schedule]") {
  LrGroups g({0.1, 0.05});
  LambdaLR s(g, std::vector<LrLambda>{[](std::int64_t) { return 1.0; },
                                      [](std::int64_t e) { return e < 2 ? 1.0 : -1.0; }});
  s.step();
  CHECK_THROWS_AS(s.step(), std::invalid_argument);
  CHECK(lrs_of(g) == std::vector<double>{0.1, 0.05});
  CHECK(s.last_epoch() == 1);
}

namespace {
// Constructs a schedule on fresh groups that must throw std::invalid_argument
// naming `option`, leaving lrs, momenta and initial_lrs as they were.
void check_rejected(const std::string& option, const std::function<void(ParamGroups&)>& make,
                    bool beta1 = false) {
  INFO(option);
  std::unique_ptr<LrGroups> g;
  if (beta1)
    g = std::make_unique<Beta1Groups>(std::vector<double>{0.1, 0.05},
                                      std::vector<double>{0.9, 0.8});
  else
    g = std::make_unique<LrGroups>(std::vector<double>{0.1, 0.05}, std::vector<double>{0.9, 0.5});
  CHECK_THROWS_AS(make(*g), std::invalid_argument);
  try {
    make(*g);
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Contains(option));
  }
  CHECK(lrs_of(*g) == std::vector<double>{0.1, 0.05});
  CHECK(momenta_of(*g) == (beta1 ? std::vector<double>{0.9, 0.8} : std::vector<double>{0.9, 0.5}));
  CHECK((std::isnan(g->initial_lr(0)) && std::isnan(g->initial_lr(1))));
}
}  // namespace

TEST_CASE("Bad options throw std::invalid_argument naming them and change nothing", "[schedule]") {
  check_rejected("step_size = 0", [](ParamGroups& g) { StepLR(g, 0); });
  check_rejected("gamma = -0.1", [](ParamGroups& g) { StepLR(g, 3, -0.1); });
  check_rejected("gamma = nan", [](ParamGroups& g) { MultiStepLR(g, {1}, NAN); });
  check_rejected("factor = 0", [](ParamGroups& g) { ConstantLR(g, 0); });
  check_rejected("factor = 1.5", [](ParamGroups& g) { ConstantLR(g, 1.5); });
  check_rejected("total_iters = -1", [](ParamGroups& g) { ConstantLR(g, 0.5, -1); });
  check_rejected("start_factor = 0", [](ParamGroups& g) { LinearLR(g, 0); });
  check_rejected("end_factor = 2", [](ParamGroups& g) { LinearLR(g, 0.5, 2); });
  check_rejected("total_iters = 0", [](ParamGroups& g) { LinearLR(g, 0.5, 1, 0); });
  check_rejected("gamma = inf", [](ParamGroups& g) { ExponentialLR(g, INFINITY); });
  check_rejected("power = -1", [](ParamGroups& g) { PolynomialLR(g, 5, -1); });
  check_rejected("T_max = 0", [](ParamGroups& g) { CosineAnnealingLR(g, 0); });
  check_rejected("eta_min = -1", [](ParamGroups& g) { CosineAnnealingLR(g, 5, -1); });
  check_rejected("T_0 = 0", [](ParamGroups& g) { CosineAnnealingWarmRestarts(g, 0); });
  check_rejected("T_mult = 0", [](ParamGroups& g) { CosineAnnealingWarmRestarts(g, 2, 0); });
  check_rejected("lr_lambda has 3", [](ParamGroups& g) {
    LambdaLR(g, std::vector<LrLambda>(3, [](std::int64_t) { return 1.0; }));
  });
  check_rejected("lr_lambda is empty", [](ParamGroups& g) { MultiplicativeLR(g, LrLambda{}); });
  check_rejected("lr_decay = 1.5", [](ParamGroups& g) { StepDecay(g, 1.5); });
  check_rejected("period = 0", [](ParamGroups& g) { CompoundingStepDecay(g, 0.1, 0); });
  check_rejected("model_dim = 0", [](ParamGroups& g) { NoamScheduler(g, 0); });
  check_rejected("warmup_steps = 0", [](ParamGroups& g) { NoamScheduler(g, 512, 1, 0); });

  check_rejected("base_lr is required", [](ParamGroups& g) { CyclicLR(g, {}); });
  check_rejected("max_lr has 3 values", [](ParamGroups& g) {
    auto o = cyclic(4);
    o.max_lr = {0.1, 0.2, 0.3};
    CyclicLR(g, o);
  });
  check_rejected("base_lr = -0.01", [](ParamGroups& g) {
    auto o = cyclic(4);
    o.base_lr = -0.01;
    CyclicLR(g, o);
  });
  check_rejected("step_size_up = 0", [](ParamGroups& g) { CyclicLR(g, cyclic(0)); });
  check_rejected("step_size_down = -1", [](ParamGroups& g) { CyclicLR(g, cyclic(2, -1)); });
  check_rejected("max_momentum = inf", [](ParamGroups& g) {
    auto o = cyclic(4);
    o.max_momentum = INFINITY;
    CyclicLR(g, o);
  });
  check_rejected(
      "cycle_momentum", [](ParamGroups& g) { CyclicLR(g, cyclic(4)); }, true);
  check_rejected("total_steps = 0", [](ParamGroups& g) { OneCycleLR(g, one_cycle(0)); });
  check_rejected("epochs and steps_per_epoch", [](ParamGroups& g) {
    OneCycleLROptions o;
    o.max_lr = 0.1;
    o.epochs = 3;
    OneCycleLR(g, o);
  });
  check_rejected("pct_start = 1.5", [](ParamGroups& g) {
    auto o = one_cycle(10);
    o.pct_start = 1.5;
    OneCycleLR(g, o);
  });
  check_rejected("pct_start = 0.1 with total_steps = 10", [](ParamGroups& g) {
    auto o = one_cycle(10);
    o.pct_start = 0.1;  // the first phase would be 0 steps long
    OneCycleLR(g, o);
  });
  check_rejected("pct_start = 1 with", [](ParamGroups& g) {
    auto o = one_cycle(10);
    o.pct_start = 1;  // the last phase would be 0 steps long
    OneCycleLR(g, o);
  });
  check_rejected("div_factor = 0", [](ParamGroups& g) {
    auto o = one_cycle(10);
    o.div_factor = 0;
    OneCycleLR(g, o);
  });
  check_rejected("max_lr is required", [](ParamGroups& g) { OneCycleLR(g, OneCycleLROptions{}); });
  check_rejected("factor = 1", [](ParamGroups& g) {
    auto o = plateau(1);
    o.factor = 1;
    ReduceLROnPlateau(g, o);
  });
  check_rejected("patience = -1", [](ParamGroups& g) { ReduceLROnPlateau(g, plateau(-1)); });
  check_rejected("min_lr has 3 values", [](ParamGroups& g) {
    auto o = plateau(1);
    o.min_lr = {0, 0, 0};
    ReduceLROnPlateau(g, o);
  });
  check_rejected("patience = 2", [](ParamGroups& g) { KingScheduler(g, 2); });
  check_rejected("decay = 1.5", [](ParamGroups& g) { KingScheduler(g, 10, 1.5); });
}

TEST_CASE("OneCycleLR refuses to cycle a momentum the rule does not have", "[schedule]") {
  LrGroups plain({0.1});
  CHECK_THROWS_WITH(OneCycleLR(plain, one_cycle(10, 1.0)), Catch::Contains("cycle_momentum"));
  auto o = one_cycle(10, 1.0);
  o.cycle_momentum = false;
  OneCycleLR s(plain, o);
  CHECK(plain.lr() == Approx(0.04).epsilon(1e-14));
  CHECK(plain.initial_lr(0) == 0.04);
}

TEST_CASE("SequentialLR and ChainedScheduler refuse schedules of other groups", "[schedule]") {
  LrGroups g({0.1, 0.05});
  StepLR all(g, 2);
  ExponentialLR one(one_group(g, 0), 0.9);
  ExponentialLR other(g, 0.5);
  const auto sequential = [&](std::vector<std::reference_wrapper<StepSchedule>> s,
                              std::vector<std::int64_t> milestones) {
    SequentialLR(g, std::move(s), std::move(milestones));
  };
  const auto chained = [&](std::vector<std::reference_wrapper<LrSchedule>> s) {
    ChainedScheduler{std::move(s)};
  };
  CHECK_THROWS_WITH(sequential({all, one}, {3}), Catch::Contains("schedule 1"));
  CHECK_THROWS_WITH(sequential({all}, {3}), Catch::Contains("1 schedules need 0"));
  CHECK_THROWS_WITH(chained({all, one}), Catch::Contains("different groups"));
  CHECK_THROWS_WITH(sequential({all, other, all}, {5, 2}), Catch::Contains("non-decreasing"));
  CHECK(g.lr(0) == 0.1);
}
