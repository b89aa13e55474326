// A schedule's state as a checkpoint saves and loads it (visit_state(),
// check_state()): every schedule, saved mid-run and loaded into a schedule
// built again with the same options, continues bit for bit; a state no run
// reaches is refused. The StateFields here keep the fields in memory, in
// order, under their nested names ("schedules[1].T_cur").
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "descend/optim/schedules.hpp"

using namespace descend;

namespace {

// One field as written: its nested name, type and value.
struct Field {
  std::string name;
  char type;  // d double, i int64, z size_t, b bool, v vector, p pair, c choice
  std::vector<double> values;
  std::int64_t count = 0;
  std::size_t size = 0;
  std::string choice;
};
using Fields = std::vector<Field>;

// Nested names: enter("schedules", 1) prefixes "schedules[1].".
class PathFields : public StateFields {
 public:
  void enter(const char* name, std::size_t index) override {
    prefix_.push_back(path(name) + "[" + std::to_string(index) + "].");
  }
  void leave() override { prefix_.pop_back(); }

 protected:
  std::string path(const char* name) const {
    return (prefix_.empty() ? std::string() : prefix_.back()) + name;
  }

 private:
  std::vector<std::string> prefix_;
};

class Writer : public PathFields {
 public:
  Fields fields;

  bool checking() const override { return false; }
  void field(const char* name, double& v) override { add(name, 'd').values = {v}; }
  void field(const char* name, std::int64_t& v) override { add(name, 'i').count = v; }
  void field(const char* name, std::size_t& v) override { add(name, 'z').size = v; }
  void field(const char* name, bool& v) override { add(name, 'b').count = v; }
  void field(const char* name, std::vector<double>& v, std::int64_t) override {
    add(name, 'v').values = v;
  }
  void field(const char* name, double& a, double& b) override { add(name, 'p').values = {a, b}; }
  void choice(const char* name, int& v, const char* const* names, std::size_t) override {
    add(name, 'c').choice = names[v];
  }

 private:
  Field& add(const char* name, char type) {
    fields.push_back({path(name), type, {}, 0, 0, {}});
    return fields.back();
  }
};

// Replays written fields in order: refuses a missing or renamed field, another
// type, a vector of another size than the schedule asks; assigns only when
// not checking. A vector is moved in at just its size, the least capacity a
// real reader might leave.
class Reader : public PathFields {
 public:
  Reader(Fields fields, bool checking) : fields_(std::move(fields)), checking_(checking) {}

  bool checking() const override { return checking_; }
  void field(const char* name, double& v) override {
    const Field& f = next(name, 'd');
    if (!checking_) v = f.values[0];
  }
  void field(const char* name, std::int64_t& v) override {
    const Field& f = next(name, 'i');
    if (!checking_) v = f.count;
  }
  void field(const char* name, std::size_t& v) override {
    const Field& f = next(name, 'z');
    if (!checking_) v = f.size;
  }
  void field(const char* name, bool& v) override {
    const Field& f = next(name, 'b');
    if (!checking_) v = f.count != 0;
  }
  void field(const char* name, std::vector<double>& v, std::int64_t size) override {
    const Field& f = next(name, 'v');
    if (size != -1 && f.values.size() != static_cast<std::size_t>(size))
      throw std::invalid_argument(f.name + " has " + std::to_string(f.values.size()) +
                                  " values, not " + std::to_string(size));
    if (!checking_) v = std::vector<double>(f.values.begin(), f.values.end());
  }
  void field(const char* name, double& a, double& b) override {
    const Field& f = next(name, 'p');
    if (!checking_) a = f.values[0], b = f.values[1];
  }
  void choice(const char* name, int& v, const char* const* names, std::size_t count) override {
    const Field& f = next(name, 'c');
    for (std::size_t k = 0; k < count; ++k)
      if (f.choice == names[k]) {
        if (!checking_) v = static_cast<int>(k);
        return;
      }
    throw std::invalid_argument(f.name + " = " + f.choice + " is not a choice");
  }

  void done() const {
    if (at_ != fields_.size())
      throw std::invalid_argument("field " + fields_[at_].name + " was not read");
  }

 private:
  const Field& next(const char* name, char type) {
    const std::string want = path(name);
    if (at_ == fields_.size() || fields_[at_].name != want)
      throw std::invalid_argument("missing field " + want);
    if (fields_[at_].type != type) throw std::invalid_argument(want + " has another type");
    return fields_[at_++];
  }

  Fields fields_;
  bool checking_;
  std::size_t at_ = 0;
};

Fields save(ScheduleBase& s) {
  Writer w;
  s.visit_state(w);
  return w.fields;
}

// A checkpoint's load: a checking pass, an assigning pass, check_state().
void load(ScheduleBase& s, const Fields& fields) {
  Reader check(fields, true);
  s.visit_state(check);
  check.done();
  Reader assign(fields, false);
  s.visit_state(assign);
  assign.done();
  s.check_state();
}

bool operator==(const Field& a, const Field& b) {
  return a.name == b.name && a.type == b.type && a.values == b.values && a.count == b.count &&
         a.size == b.size && a.choice == b.choice;
}

Field& find(Fields& fields, const std::string& name) {
  for (Field& f : fields)
    if (f.name == name) return f;
  FAIL("no field " << name);
  throw std::logic_error("unreachable");
}

// The schedules of one run, the last one driven; with the metric or loss of
// each step when it is a MetricSchedule.
struct RunSchedules {
  std::vector<std::unique_ptr<ScheduleBase>> schedules;

  template <class S, class... Args>
  S& add(Args&&... args) {
    auto s = std::make_unique<S>(std::forward<Args>(args)...);
    S& ref = *s;
    schedules.push_back(std::move(s));
    return ref;
  }
  ScheduleBase& driven() { return *schedules.back(); }
  void step(double metric) {
    if (auto* s = dynamic_cast<LrSchedule*>(&driven()))
      s->step();
    else
      dynamic_cast<MetricSchedule&>(driven()).step(metric);
  }
};

using RunMaker = std::function<void(ParamGroups&, RunSchedules&)>;

struct StateCase {
  std::string name;
  RunMaker make;
  std::size_t saved_after;  // steps before the save
  std::size_t then;         // steps after it
  std::function<double(std::size_t)> metric = [](std::size_t) { return 0.0; };
};

std::unique_ptr<LrGroups> make_groups() {
  return std::make_unique<LrGroups>(std::vector<double>{0.1, 0.05}, std::vector<double>{0.9, 0.5});
}

std::vector<double> group_lrs(const ParamGroups& g) { return {g.lr(0), g.lr(1)}; }
std::vector<double> group_momenta(const ParamGroups& g) { return {g.momentum(0), g.momentum(1)}; }

CyclicLROptions cyclic(CyclicMode mode, bool cycle_momentum = true) {
  CyclicLROptions o;
  o.base_lr = {0.01, 0.002};
  o.max_lr = {0.1, 0.05};
  o.base_momentum = {0.8, 0.4};
  o.max_momentum = {0.9, 0.6};
  o.step_size_up = 3;
  o.step_size_down = 2;
  o.mode = mode;
  o.gamma = 0.9;
  o.cycle_momentum = cycle_momentum;
  return o;
}

OneCycleLROptions one_cycle(AnnealStrategy strategy, bool three_phase) {
  OneCycleLROptions o;
  o.max_lr = {0.5, 0.2};
  o.total_steps = 30;
  o.anneal_strategy = strategy;
  o.three_phase = three_phase;
  return o;
}

// Patience 1, cooldown 2 on 1, 0.9, 0.9, 0.9 (reduce at step 4), 0.95 (in
// cooldown after step 5), 1.05 (cooldown over), 0.95 (one bad epoch after
// step 7), 0.95 (reduce again), then a slow fall with plateaus; for max, 2
// minus these. A schedule resumed without best would take 1.05 as best and
// 0.95 as better; without cooldown_counter or num_bad_epochs, it would
// reduce one step early or late.
ReduceLROnPlateauOptions plateau(PlateauMode mode, ThresholdMode threshold_mode) {
  ReduceLROnPlateauOptions o;
  o.mode = mode;
  o.threshold_mode = threshold_mode;
  o.threshold = threshold_mode == ThresholdMode::abs ? 0.05 : 1e-4;
  o.patience = 1;
  o.cooldown = 2;
  o.factor = 0.5;
  o.min_lr = {0.001, 0.0};
  return o;
}
double plateau_metric(std::size_t k, bool max) {
  static const double m[] = {1.0, 0.9, 0.9,  0.9, 0.95, 1.05, 0.95, 0.95, 0.8,
                             0.8, 0.8, 0.85, 0.7, 0.7,  0.7,  0.7,  0.6,  0.6};
  const double v = m[k % (sizeof m / sizeof m[0])];
  return max ? 2 - v : v;
}

// A loss that falls, then rises with noise: King decays on the rise.
double king_loss(std::size_t k) {
  const double t = static_cast<double>(k);
  return (k < 5 ? 2.0 - 0.2 * t : 1.0 + 0.05 * (t - 5)) + 0.03 * std::sin(3 * t);
}

std::vector<StateCase> state_cases() {
  std::vector<StateCase> c;
  using Steps = std::vector<std::reference_wrapper<StepSchedule>>;
  using Chain = std::vector<std::reference_wrapper<LrSchedule>>;
  const LrLambda inverse = [](std::int64_t e) { return 1.0 / (1 + 0.1 * e); };
  const LrLambda zigzag = [](std::int64_t e) { return e % 2 ? 0.9 : 1.05; };
  c.push_back({"StepLR mid-period",
               [](ParamGroups& g, RunSchedules& r) { r.add<StepLR>(g, 3, 0.5); }, 4, 8});
  c.push_back({"MultiStepLR between milestones",
               [](ParamGroups& g, RunSchedules& r) {
                 r.add<MultiStepLR>(g, std::vector<std::int64_t>{2, 5, 5, 9}, 0.5);
               },
               4, 8});
  c.push_back({"ConstantLR before total_iters",
               [](ParamGroups& g, RunSchedules& r) { r.add<ConstantLR>(g, 0.5, 4); }, 2, 5});
  c.push_back({"LinearLR mid-ramp",
               [](ParamGroups& g, RunSchedules& r) { r.add<LinearLR>(g, 0.25, 1.0, 6); }, 3, 6});
  c.push_back({"ExponentialLR",
               [](ParamGroups& g, RunSchedules& r) { r.add<ExponentialLR>(g, 0.9); }, 3, 5});
  c.push_back({"PolynomialLR mid-decay",
               [](ParamGroups& g, RunSchedules& r) { r.add<PolynomialLR>(g, 10, 2.0); }, 4, 8});
  c.push_back({"CosineAnnealingLR past T_max",
               [](ParamGroups& g, RunSchedules& r) { r.add<CosineAnnealingLR>(g, 5, 0.001); }, 7,
               6});
  c.push_back(
      {"CosineAnnealingWarmRestarts after a restart",
       [](ParamGroups& g, RunSchedules& r) { r.add<CosineAnnealingWarmRestarts>(g, 3, 2, 0.001); },
       5, 12});
  c.push_back({"LambdaLR with a function per group",
               [=](ParamGroups& g, RunSchedules& r) {
                 r.add<LambdaLR>(g, std::vector<LrLambda>{inverse, zigzag});
               },
               3, 5});
  c.push_back({"MultiplicativeLR",
               [=](ParamGroups& g, RunSchedules& r) { r.add<MultiplicativeLR>(g, zigzag); }, 3, 5});
  const RunMaker sequential = [](ParamGroups& g, RunSchedules& r) {
    auto& a = r.add<LinearLR>(g, 0.25, 1.0, 4);
    auto& b = r.add<ExponentialLR>(g, 0.9);
    auto& d = r.add<CosineAnnealingWarmRestarts>(g, 2, 2);
    r.add<SequentialLR>(g, Steps{a, b, d}, std::vector<std::int64_t>{4, 9});
  };
  c.push_back({"SequentialLR before its first milestone", sequential, 2, 12});
  c.push_back({"SequentialLR past its first milestone", sequential, 6, 10});
  c.push_back({"SequentialLR past its last milestone, after a restart", sequential, 12, 6});
  c.push_back({"SequentialLR with a schedule between equal milestones",
               [](ParamGroups& g, RunSchedules& r) {
                 auto& a = r.add<ConstantLR>(g, 0.5, 2);
                 auto& b = r.add<StepLR>(g, 1, 0.5);
                 auto& d = r.add<CosineAnnealingLR>(g, 4, 0.01);
                 r.add<SequentialLR>(g, Steps{a, b, d}, std::vector<std::int64_t>{3, 3});
               },
               2, 6});
  c.push_back({"ChainedScheduler",
               [](ParamGroups& g, RunSchedules& r) {
                 auto& a = r.add<ConstantLR>(g, 0.5, 4);
                 auto& b = r.add<ExponentialLR>(g, 0.9);
                 r.add<ChainedScheduler>(Chain{a, b});
               },
               2, 5});
  c.push_back({"ChainedScheduler of a SequentialLR",
               [](ParamGroups& g, RunSchedules& r) {
                 auto& a = r.add<LinearLR>(g, 0.5, 1.0, 3);
                 auto& b = r.add<CosineAnnealingWarmRestarts>(g, 2, 3);
                 auto& s = r.add<SequentialLR>(g, Steps{a, b}, std::vector<std::int64_t>{3});
                 auto& d = r.add<ExponentialLR>(g, 0.95);
                 r.add<ChainedScheduler>(Chain{s, d});
               },
               6, 6});
  const std::pair<const char*, CyclicMode> modes[] = {{"triangular", CyclicMode::triangular},
                                                      {"triangular2", CyclicMode::triangular2},
                                                      {"exp_range", CyclicMode::exp_range}};
  for (const auto& m : modes) {
    const CyclicMode mode = m.second;
    c.push_back({std::string("CyclicLR ") + m.first + " mid-cycle, cycling momentum",
                 [=](ParamGroups& g, RunSchedules& r) { r.add<CyclicLR>(g, cyclic(mode)); }, 7, 9});
  }
  c.push_back({"CyclicLR with a scale_fn over iterations",
               [](ParamGroups& g, RunSchedules& r) {
                 auto o = cyclic(CyclicMode::triangular);
                 o.scale_fn = [](double x) { return 1 / (1 + x); };
                 o.scale_mode = ScaleMode::iterations;
                 r.add<CyclicLR>(g, o);
               },
               7, 9});
  c.push_back({"CyclicLR without cycling momentum",
               [](ParamGroups& g, RunSchedules& r) {
                 r.add<CyclicLR>(g, cyclic(CyclicMode::triangular2, false));
               },
               6, 9});
  c.push_back({"OneCycleLR cos, two phases, to its last step",
               [](ParamGroups& g, RunSchedules& r) {
                 r.add<OneCycleLR>(g, one_cycle(AnnealStrategy::cos, false));
               },
               12, 18});
  c.push_back({"OneCycleLR linear, three phases, to its last step",
               [](ParamGroups& g, RunSchedules& r) {
                 r.add<OneCycleLR>(g, one_cycle(AnnealStrategy::linear, true));
               },
               15, 15});
  const std::pair<const char*, ReduceLROnPlateauOptions> plateaus[] = {
      {"min rel", plateau(PlateauMode::min, ThresholdMode::rel)},
      {"min abs", plateau(PlateauMode::min, ThresholdMode::abs)},
      {"max rel", plateau(PlateauMode::max, ThresholdMode::rel)},
      {"max abs", plateau(PlateauMode::max, ThresholdMode::abs)}};
  for (const auto& p : plateaus) {
    const ReduceLROnPlateauOptions o = p.second;
    const bool max = o.mode == PlateauMode::max;
    // After 5 steps: in cooldown; after 7: one bad epoch, the next reduces.
    for (std::size_t saved_after : {5, 7})
      c.push_back({std::string("ReduceLROnPlateau ") + p.first + " after " +
                       std::to_string(saved_after) + " steps",
                   [=](ParamGroups& g, RunSchedules& r) { r.add<ReduceLROnPlateau>(g, o); },
                   saved_after, 11, [=](std::size_t k) { return plateau_metric(k, max); }});
  }
  // patience 3: a history of at most 5 losses. Saved with 4 losses, with a
  // full history just before the first decay (at step 9), after two decays.
  for (std::size_t saved_after : {4, 8, 10})
    c.push_back({"KingScheduler after " + std::to_string(saved_after) + " losses",
                 [](ParamGroups& g, RunSchedules& r) { r.add<KingScheduler>(g, 3, 0.5); },
                 saved_after, 10, king_loss});
  c.push_back({"NoamScheduler in warm-up",
               [](ParamGroups& g, RunSchedules& r) { r.add<NoamScheduler>(g, 64, 1, 5); }, 3, 6});
  c.push_back({"CompoundingStepDecay",
               [](ParamGroups& g, RunSchedules& r) { r.add<CompoundingStepDecay>(g, 0.1, 4); }, 5,
               8});
  c.push_back(
      {"StepDecay", [](ParamGroups& g, RunSchedules& r) { r.add<StepDecay>(g, 0.1, 4); }, 5, 8});
  return c;
}

// A's run to the save, as a test needs it.
struct Saved {
  std::unique_ptr<LrGroups> groups = make_groups();
  RunSchedules run;
  Fields fields;
};

void run_to_save(const StateCase& c, Saved& a) {
  c.make(*a.groups, a.run);
  for (std::size_t k = 0; k < c.saved_after; ++k) {
    a.run.step(c.metric(k));
    a.run.driven().check_state();  // every state a run reaches is accepted
  }
  a.fields = save(a.run.driven());
}

// B: the same options on fresh groups, which get A's lrs, momenta and
// initial_lrs as a checkpoint of the optimizer would restore them.
void build_again(const StateCase& c, const Saved& a, Saved& b) {
  c.make(*b.groups, b.run);
  for (std::size_t i = 0; i < 2; ++i) {
    b.groups->set_lr(a.groups->lr(i), i);
    b.groups->set_momentum(a.groups->momentum(i), i);
    b.groups->set_initial_lr(a.groups->initial_lr(i), i);
  }
}

// Saves a copy of `a`, corrupts it with `corrupt` and loads it into a
// schedule built again: the reader takes it, check_state() refuses it with a
// message containing `message`.
void check_refused(const StateCase& c, const std::function<void(Fields&)>& corrupt,
                   const std::string& message) {
  INFO(c.name << ": " << message);
  Saved a, b;
  run_to_save(c, a);
  build_again(c, a, b);
  Fields bad = a.fields;
  corrupt(bad);
  Reader read(bad, false);
  b.run.driven().visit_state(read);
  CHECK_THROWS_AS(b.run.driven().check_state(), std::invalid_argument);
  CHECK_THROWS_WITH(b.run.driven().check_state(), Catch::Contains(message));
}

const StateCase& state_case(const std::string& name) {
  static const std::vector<StateCase> cases = state_cases();
  for (const StateCase& c : cases)
    if (c.name == name) return c;
  throw std::logic_error("no case " + name);
}

template <class T>
std::function<void(Fields&)> set_count(const std::string& name, T value) {
  return [=](Fields& f) { find(f, name).count = static_cast<std::int64_t>(value); };
}
std::function<void(Fields&)> set_value(const std::string& name, std::size_t i, double value) {
  return [=](Fields& f) { find(f, name).values.at(i) = value; };
}

}  // namespace

TEST_CASE("Every schedule loaded from a saved state continues bit for bit", "[schedule][state]") {
  for (const StateCase& c : state_cases()) {
    INFO(c.name);
    Saved a, b;
    run_to_save(c, a);
    build_again(c, a, b);
    ScheduleBase& sa = a.run.driven();
    ScheduleBase& sb = b.run.driven();

    // The checking pass assigns nothing; the assigning pass all.
    const Fields fresh = save(sb);
    Reader check(a.fields, true);
    sb.visit_state(check);
    check.done();
    CHECK(save(sb) == fresh);
    try {
      load(sb, a.fields);
    } catch (const std::exception& e) {
      FAIL_CHECK("the load threw: " << e.what());
      continue;
    }
    CHECK(save(sb) == a.fields);
    CHECK(sb.last_epoch() == sa.last_epoch());
    CHECK(sb.last_lr() == sa.last_lr());

    for (std::size_t k = c.saved_after; k < c.saved_after + c.then; ++k) {
      INFO("step " << k + 1);
      a.run.step(c.metric(k));
      b.run.step(c.metric(k));
      sa.check_state();
      const bool same = group_lrs(*b.groups) == group_lrs(*a.groups) &&
                        group_momenta(*b.groups) == group_momenta(*a.groups) &&
                        sb.last_epoch() == sa.last_epoch() && sb.last_lr() == sa.last_lr();
      CHECK(group_lrs(*b.groups) == group_lrs(*a.groups));
      CHECK(group_momenta(*b.groups) == group_momenta(*a.groups));
      CHECK(sb.last_epoch() == sa.last_epoch());
      CHECK(sb.last_lr() == sa.last_lr());
      if (!same) break;  // the first step that differs says enough
    }
    CHECK(save(sb) == save(sa));
  }
}

TEST_CASE("A state lists last_epoch, base_lrs, last_lr and each class's counters by name",
          "[schedule][state]") {
  const auto names = [](const std::string& case_name) {
    Saved a;
    run_to_save(state_case(case_name), a);
    std::vector<std::string> out;
    for (const Field& f : a.fields) out.push_back(f.name);
    return out;
  };
  using Names = std::vector<std::string>;
  CHECK(names("StepLR mid-period") == Names{"last_epoch", "base_lrs", "last_lr"});
  CHECK(names("CosineAnnealingWarmRestarts after a restart") ==
        Names{"last_epoch", "base_lrs", "last_lr", "T_cur", "T_i"});
  CHECK(names("ReduceLROnPlateau min rel after 5 steps") ==
        Names{"last_epoch", "base_lrs", "last_lr", "best", "num_bad_epochs", "cooldown_counter"});
  CHECK(names("KingScheduler after 8 losses") ==
        Names{"last_epoch", "base_lrs", "last_lr", "loss_history", "current_lr"});
  CHECK(names("ChainedScheduler of a SequentialLR") ==
        Names{"last_epoch", "base_lrs", "last_lr", "schedules[0].last_epoch",
              "schedules[0].base_lrs", "schedules[0].last_lr",
              "schedules[0].schedules[0].last_epoch", "schedules[0].schedules[0].base_lrs",
              "schedules[0].schedules[0].last_lr", "schedules[0].schedules[1].last_epoch",
              "schedules[0].schedules[1].base_lrs", "schedules[0].schedules[1].last_lr",
              "schedules[0].schedules[1].T_cur", "schedules[0].schedules[1].T_i",
              "schedules[1].last_epoch", "schedules[1].base_lrs", "schedules[1].last_lr"});

  // Values a hand derivation gives. CosineAnnealingWarmRestarts(T_0 3,
  // T_mult 2) after 5 steps: restart at step 3, then T_i = 6, T_cur = 2.
  Saved warm;
  run_to_save(state_case("CosineAnnealingWarmRestarts after a restart"), warm);
  CHECK(std::string(warm.run.driven().kind()) == "descend::CosineAnnealingWarmRestarts");
  CHECK(find(warm.fields, "T_cur").count == 2);
  CHECK(find(warm.fields, "T_i").count == 6);
  // ReduceLROnPlateau (patience 1, cooldown 2) on 1, 0.9, 0.9, 0.9, 0.95:
  // best 0.9, reduced at step 4 (cooldown 2), one step of cooldown since.
  Saved reduce;
  run_to_save(state_case("ReduceLROnPlateau min rel after 5 steps"), reduce);
  CHECK(find(reduce.fields, "best").values == std::vector<double>{0.9});
  CHECK(find(reduce.fields, "num_bad_epochs").count == 0);
  CHECK(find(reduce.fields, "cooldown_counter").count == 1);
  CHECK(find(reduce.fields, "last_lr").values == std::vector<double>{0.1 * 0.5, 0.05 * 0.5});
  // SequentialLR(milestones 4, 9) after 6 steps: schedule 1 stepped at 4, 5, 6
  // (last_epoch 2), schedule 2 waits at -1, schedule 0 stopped at 3.
  Saved seq;
  run_to_save(state_case("SequentialLR past its first milestone"), seq);
  CHECK(std::string(seq.run.driven().kind()) == "descend::SequentialLR");
  CHECK(std::string(seq.run.schedules[0]->kind()) == "descend::LinearLR");
  CHECK(find(seq.fields, "schedules[0].last_epoch").count == 3);
  CHECK(find(seq.fields, "schedules[1].last_epoch").count == 2);
  CHECK(find(seq.fields, "schedules[2].last_epoch").count == -1);
  // KingScheduler(patience 3) keeps ceil(1.1 * 4) = 5 losses: the last 5 of 8.
  Saved king;
  run_to_save(state_case("KingScheduler after 8 losses"), king);
  CHECK(find(king.fields, "loss_history").values ==
        std::vector<double>{king_loss(3), king_loss(4), king_loss(5), king_loss(6), king_loss(7)});
}

TEST_CASE("check_state refuses a state no run of the schedule reaches", "[schedule][state]") {
  const StateCase& step_lr = state_case("StepLR mid-period");
  check_refused(step_lr, set_count("last_epoch", -1), "last_epoch = -1 must be in [0, ");
  check_refused(step_lr, set_count("last_epoch", std::numeric_limits<std::int64_t>::max()),
                "last_epoch = 9223372036854775807");
  check_refused(step_lr, set_value("base_lrs", 1, NAN), "base_lrs[1] = nan");
  check_refused(step_lr, set_value("last_lr", 0, -0.5), "last_lr[0] = -0.5");
  check_refused(state_case("NoamScheduler in warm-up"), set_value("base_lrs", 0, INFINITY),
                "base_lrs[0] = inf");

  const StateCase& warm = state_case("CosineAnnealingWarmRestarts after a restart");
  check_refused(warm, set_count("T_i", 0), "T_i = 0 is not T_0 = 3 times a power of T_mult = 2");
  check_refused(warm, set_count("T_i", 9), "T_i = 9");
  check_refused(warm, set_count("T_cur", 6), "T_cur = 6 must be in [0, 5]");
  check_refused(warm, set_count("T_cur", -1), "T_cur = -1");

  const StateCase& seq = state_case("SequentialLR past its first milestone");
  check_refused(seq, set_count("schedules[2].last_epoch", 0),
                "schedule 2's last_epoch = 0 must be -1 at last_epoch = 6");
  check_refused(seq, set_count("schedules[1].last_epoch", -1),
                "schedule 1's last_epoch = -1 must be 2");
  check_refused(seq, set_count("schedules[0].last_epoch", -1),
                "descend::LinearLR: last_epoch = -1 must be in [0, ");
  check_refused(seq, set_count("schedules[2].T_i", 3), "descend::CosineAnnealingWarmRestarts: T_i");
  check_refused(seq, set_count("schedules[2].last_epoch", -2), "last_epoch = -2 must be in [-1, ");

  check_refused(state_case("ChainedScheduler of a SequentialLR"),
                set_value("schedules[1].last_lr", 1, NAN),
                "descend::ExponentialLR: last_lr[1] = nan");
  check_refused(state_case("ChainedScheduler of a SequentialLR"),
                set_count("schedules[0].schedules[1].T_cur", 7), "T_cur = 7");

  const StateCase& one = state_case("OneCycleLR cos, two phases, to its last step");
  check_refused(one, set_count("last_epoch", 31), "last_epoch = 31 must be in [0, 30]");

  const StateCase& reduce = state_case("ReduceLROnPlateau max abs after 7 steps");
  check_refused(reduce, set_count("num_bad_epochs", 2), "num_bad_epochs = 2 must be in [0, 1]");
  check_refused(reduce, set_count("cooldown_counter", -1), "cooldown_counter = -1");
  check_refused(reduce, set_count("cooldown_counter", 3), "cooldown_counter = 3 must be in [0, 2]");
  check_refused(reduce, set_value("best", 0, NAN), "best = nan");

  const StateCase& king = state_case("KingScheduler after 8 losses");
  check_refused(
      king, [](Fields& f) { find(f, "loss_history").values.push_back(1.0); },
      "loss_history has 6 losses after 8 steps; it keeps at most 5");
  check_refused(
      state_case("KingScheduler after 4 losses"),
      [](Fields& f) { find(f, "last_epoch").count = 3; }, "loss_history has 4 losses after 3");
  check_refused(king, set_value("loss_history", 2, INFINITY), "loss_history[2] = inf");
  check_refused(king, set_value("current_lr", 1, -1), "current_lr[1] = -1");
}

TEST_CASE("A reader refuses a vector of another size than the groups, and a missing field",
          "[schedule][state]") {
  // A two-group state into a schedule driving one group.
  LrGroups two({0.1, 0.05}), one_of_two({0.1, 0.05});
  StepLR a(two, 3);
  StepLR b(one_group(one_of_two, 1), 3);
  Reader wrong_size(save(a), true);
  CHECK_THROWS_WITH(b.visit_state(wrong_size), Catch::Contains("base_lrs has 2 values, not 1"));
  CHECK(b.base_lrs() == std::vector<double>{0.05});

  KingScheduler king_a(two, 3), king_b(one_of_two, 3);
  Fields short_lr = save(king_a);
  find(short_lr, "current_lr").values.pop_back();
  Reader short_read(short_lr, true);
  CHECK_THROWS_WITH(king_b.visit_state(short_read), Catch::Contains("current_lr has 1 values"));

  // A state saved without T_cur (say, by a CosineAnnealingLR).
  CosineAnnealingWarmRestarts warm_a(two, 3), warm_b(one_of_two, 3);
  Fields missing = save(warm_a);
  missing.erase(missing.end() - 2);
  Reader missing_read(missing, true);
  CHECK_THROWS_WITH(warm_b.visit_state(missing_read), Catch::Contains("missing field T_cur"));

  // A nested field: the last schedule of a SequentialLR without its T_i.
  const StateCase& c = state_case("SequentialLR past its first milestone");
  Saved seq_a, seq_b;
  run_to_save(c, seq_a);
  build_again(c, seq_a, seq_b);
  Fields nested = seq_a.fields;
  nested.pop_back();
  Reader nested_read(nested, true);
  CHECK_THROWS_WITH(seq_b.run.driven().visit_state(nested_read),
                    Catch::Contains("missing field schedules[2].T_i"));
}

TEST_CASE("KingScheduler's loaded history keeps the memory its step() reuses",
          "[schedule][state]") {
  // The reader moves in a history of 5 losses at capacity 5; a step needs 6.
  const StateCase& c = state_case("KingScheduler after 8 losses");
  Saved a, b;
  run_to_save(c, a);
  build_again(c, a, b);
  load(b.run.driven(), a.fields);
  auto& king = dynamic_cast<KingScheduler&>(b.run.driven());
  CHECK(king.loss_history().capacity() >= 6);
  // step() swaps the history with one buffer: two addresses, never a third.
  const double* first = king.loss_history().data();
  king.step(1.0);
  const double* second = king.loss_history().data();
  for (int k = 0; k < 6; ++k) {
    king.step(1.0 + 0.1 * k);
    CHECK((king.loss_history().data() == first || king.loss_history().data() == second));
  }
}
