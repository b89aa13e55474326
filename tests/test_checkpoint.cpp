// Checkpoints (checkpoint.hpp): resuming gives bit for bit the run that never
// stopped, for every optimizer, option, schedule and both scalar types; a
// checkpoint that does not fit, or a damaged file, throws CheckpointError and
// changes nothing. The reference for "bit for bit" is the uninterrupted run
// itself: a resumed run must equal it with ==.
#include <sys/stat.h>
#include <unistd.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "descend/checkpoint.hpp"
#include "descend/descend.hpp"
#include "descend/training.hpp"

using Catch::Matchers::Contains;

namespace {

template <class Scalar>
using Opt = descend::Optimizer<Scalar>;
template <class Scalar>
using MakeOpt = std::function<std::unique_ptr<Opt<Scalar>>()>;

// Three parameters of different layouts: a column-major matrix, a row-major
// one, and a vector; each with its gradient, a fixed function of the
// parameter (the same arithmetic in every run, so runs can agree bit for bit).
template <class Scalar>
struct Model {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using RowMat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Mat w1 = Mat(3, 4), g1 = Mat::Zero(3, 4);
  RowMat w2 = RowMat(2, 3), g2 = RowMat::Zero(2, 3);
  Vec b = Vec(5), gb = Vec::Zero(5);
  int t = 0;

  Model() {
    for (Eigen::Index k = 0; k < w1.size(); ++k) w1(k) = Scalar(0.3) * Scalar(k) - Scalar(1.1);
    for (Eigen::Index k = 0; k < w2.size(); ++k)
      w2.data()[k] = Scalar(0.7) - Scalar(0.2) * Scalar(k);
    for (Eigen::Index k = 0; k < b.size(); ++k) b(k) = Scalar(0.05) * Scalar(k * k) - Scalar(0.4);
  }

  // g = sin(3w - 1) + 0.1 sin(t + 7r + c): non-linear, changing with the
  // step, bounded by 1.1, and the gradient of a bounded, periodic objective
  // (-cos(3w - 1)/3): descent and ascent (maximize) alike, at every rate the
  // tests use, keep the parameters and buffers finite. (w (w - 0.5), used
  // before, took SGD with momentum to inf within a run: under maximize in
  // float, and in both types where a schedule raised the rate.)
  template <class W, class G>
  void gradient_of(const W& w, G& g) {
    for (Eigen::Index r = 0; r < w.rows(); ++r)
      for (Eigen::Index c = 0; c < w.cols(); ++c)
        g(r, c) = std::sin(Scalar(3) * w(r, c) - Scalar(1)) +
                  Scalar(0.1) * std::sin(Scalar(t) + Scalar(r * 7 + c));
  }
  void gradients() {
    gradient_of(w1, g1);
    gradient_of(w2, g2);
    gradient_of(b, gb);
    ++t;
  }

  // Registers the three, b in the last group, named or not.
  void add_to(Opt<Scalar>& opt, bool named) {
    const std::size_t last = opt.num_groups() - 1;
    if (named) {
      opt.add("w1", w1, g1);
      opt.add("w2", w2, g2);
      opt.add("b", b, gb, last);
    } else {
      opt.add(w1, g1);
      opt.add(w2, g2);
      opt.add(b, gb, last);
    }
  }
  // Bit for bit.
  bool operator==(const Model& o) const {
    const auto same = [](const auto& x, const auto& y) {
      return x.size() == y.size() &&
             std::memcmp(x.data(), y.data(), sizeof(Scalar) * static_cast<std::size_t>(x.size())) ==
                 0;
    };
    return same(w1, o.w1) && same(w2, o.w2) && same(b, o.b);
  }
};

// Every parameter and every state buffer of a run is finite: a run gone to
// inf or NaN would make == compare inf with inf, or NaN's bits, and say little
// of the state that led there.
template <class Scalar>
void require_finite(const Model<Scalar>& m, const Opt<Scalar>& opt) {
  const auto check = [&](const auto& param, const char* name) {
    INFO(name);
    REQUIRE(param.allFinite());
    for (const std::string& buffer : opt.buffer_names(opt.group_of(param))) {
      INFO(buffer);
      REQUIRE(opt.state(param, buffer).allFinite());
    }
  };
  check(m.w1, "w1");
  check(m.w2, "w2");
  check(m.b, "b");
}

// Schedules for a run: built on an optimizer, stepped after each step().
struct Schedules {
  std::vector<std::unique_ptr<descend::ScheduleBase>> owned;
  std::function<void(int)> step = [](int) {};
  descend::CheckpointSchedules list() {
    descend::CheckpointSchedules out;
    for (auto& s : owned) out.push_back(*s);
    return out;
  }
};
using MakeSchedules = std::function<Schedules(descend::ParamGroups&)>;

// A run of k steps, saved; the same run continued n steps; a fresh optimizer
// (and schedules) given the parameters at step k and the checkpoint,
// continued n steps: the two must be equal.
template <class Scalar>
void check_resume(const MakeOpt<Scalar>& make, const MakeSchedules& make_schedules = nullptr,
                  int k = 7, int n = 9, bool named = false) {
  Model<Scalar> a;
  auto opt_a = make();
  a.add_to(*opt_a, named);
  Schedules sa = make_schedules ? make_schedules(*opt_a) : Schedules{};
  for (int s = 0; s < k; ++s) {
    a.gradients();
    opt_a->step();
    sa.step(s);
  }
  const std::string saved = descend::checkpoint_bytes(*opt_a, sa.list());
  Model<Scalar> b = a;  // the parameters, saved by the user with the model
  for (int s = k; s < k + n; ++s) {
    a.gradients();
    opt_a->step();
    sa.step(s);
  }
  auto opt_b = make();
  b.add_to(*opt_b, named);
  Schedules sb = make_schedules ? make_schedules(*opt_b) : Schedules{};
  descend::load_checkpoint_bytes(saved.data(), saved.size(), *opt_b, sb.list());
  for (int s = k; s < k + n; ++s) {
    b.gradients();
    opt_b->step();
    sb.step(s);
  }
  require_finite(a, *opt_a);
  require_finite(b, *opt_b);
  CHECK(a == b);
  CHECK(opt_a->lr(0) == opt_b->lr(0));
  CHECK(descend::checkpoint_bytes(*opt_a, sa.list()) ==
        descend::checkpoint_bytes(*opt_b, sb.list()));
}

template <class O>
struct ScalarOf;
template <template <class> class O, class S>
struct ScalarOf<O<S>> {
  using type = S;
};

template <class O, class Options>
MakeOpt<typename ScalarOf<O>::type> maker(const Options& options, const Options* second = nullptr) {
  using S = typename ScalarOf<O>::type;
  return [options, second = second ? std::make_shared<Options>(*second) : nullptr]() {
    auto opt = std::make_unique<O>(options);
    if (second) opt->add_group(*second);
    return std::unique_ptr<Opt<S>>(std::move(opt));
  };
}

}  // namespace

// Every optimizer and every option that changes its state or arithmetic.
TEMPLATE_TEST_CASE("a resumed run equals the run that never stopped", "[checkpoint]", float,
                   double) {
  using S = TestType;
  SECTION("SGD") {
    descend::SgdOptions o;
    o.lr = 0.05;
    check_resume<S>(maker<descend::Sgd<S>>(o));
    o.momentum = 0.9;
    check_resume<S>(maker<descend::Sgd<S>>(o));
    o.dampening = 0.1;
    o.weight_decay = 0.01;
    o.decay = 0.1;
    check_resume<S>(maker<descend::Sgd<S>>(o));
    o.dampening = 0;
    o.nesterov = true;
    o.maximize = true;
    check_resume<S>(maker<descend::Sgd<S>>(o));
    o.nesterov = false;
    o.momentum_style = descend::MomentumStyle::lr_inside;
    check_resume<S>(maker<descend::Sgd<S>>(o));
  }
  SECTION("Adagrad") {
    descend::AdagradOptions o;
    o.lr = 0.05;
    check_resume<S>(maker<descend::Adagrad<S>>(o));
    o.lr_decay = 0.01;
    o.initial_accumulator_value = 0.1;
    o.weight_decay = 0.02;
    o.eps_placement = descend::EpsPlacement::inside_sqrt;
    o.maximize = true;
    check_resume<S>(maker<descend::Adagrad<S>>(o));
  }
  SECTION("RMSprop") {
    descend::RmspropOptions o;
    o.lr = 0.01;
    check_resume<S>(maker<descend::Rmsprop<S>>(o));
    o.centered = true;
    check_resume<S>(maker<descend::Rmsprop<S>>(o));
    o.momentum = 0.8;
    o.weight_decay = 0.01;
    check_resume<S>(maker<descend::Rmsprop<S>>(o));
    o.momentum_style = descend::MomentumStyle::lr_inside;
    o.eps_placement = descend::EpsPlacement::inside_sqrt;
    o.decay = 0.05;
    check_resume<S>(maker<descend::Rmsprop<S>>(o));
  }
  SECTION("Adadelta") {
    descend::AdadeltaOptions o;
    check_resume<S>(maker<descend::Adadelta<S>>(o));
    o.rho = 0.8;
    o.weight_decay = 0.1;
    o.eps_placement = descend::EpsPlacement::outside_sqrt;
    o.maximize = true;
    check_resume<S>(maker<descend::Adadelta<S>>(o));
  }
  SECTION("Adam, AMSGrad") {
    descend::AdamOptions o;
    o.lr = 0.01;
    check_resume<S>(maker<descend::Adam<S>>(o));
    o.amsgrad = true;
    o.weight_decay = 0.01;
    check_resume<S>(maker<descend::Adam<S>>(o));
    o.eps_placement = descend::EpsPlacement::inside_sqrt;
    o.decay = 0.1;
    o.maximize = true;
    check_resume<S>(maker<descend::Adam<S>>(o));
  }
  SECTION("AdamW") {
    descend::AdamWOptions o;
    o.lr = 0.01;
    check_resume<S>(maker<descend::AdamW<S>>(o));
    o.amsgrad = true;
    check_resume<S>(maker<descend::AdamW<S>>(o));
  }
  SECTION("two groups, named parameters") {
    descend::AdamOptions o, second;
    o.lr = 0.01;
    second.lr = 0.03;
    second.amsgrad = true;
    check_resume<S>(maker<descend::Adam<S>>(o, &second), nullptr, 5, 6, true);
    descend::SgdOptions s, s2;
    s.momentum = 0.9;
    s2.lr = 0.1;
    check_resume<S>(maker<descend::Sgd<S>>(s, &s2), nullptr, 5, 6, true);
  }
  SECTION("saved before the first step, and after it") {
    descend::AdamOptions o;
    check_resume<S>(maker<descend::Adam<S>>(o), nullptr, 0, 4);
    check_resume<S>(maker<descend::Adam<S>>(o), nullptr, 1, 4);
  }
}

TEMPLATE_TEST_CASE("schedules and the non-finite guard resume with the optimizer", "[checkpoint]",
                   float, double) {
  using S = TestType;
  descend::SgdOptions sgd;
  sgd.lr = 0.1;
  sgd.momentum = 0.9;
  descend::AdamOptions adam;
  adam.lr = 0.01;
  const auto one = [](auto make) {
    return [make](descend::ParamGroups& g) {
      Schedules s;
      s.owned.push_back(make(g));
      auto* raw = s.owned.back().get();
      s.step = [raw](int) { static_cast<descend::LrSchedule*>(raw)->step(); };
      return s;
    };
  };
  SECTION("StepLR") {
    check_resume<S>(maker<descend::Sgd<S>>(sgd), one([](descend::ParamGroups& g) {
                      return std::make_unique<descend::StepLR>(g, 3, 0.5);
                    }));
  }
  SECTION("CosineAnnealingWarmRestarts, across a restart") {
    check_resume<S>(maker<descend::Adam<S>>(adam), one([](descend::ParamGroups& g) {
                      return std::make_unique<descend::CosineAnnealingWarmRestarts>(g, 4, 2);
                    }));
  }
  SECTION("OneCycleLR, cycling beta1") {
    check_resume<S>(maker<descend::Adam<S>>(adam), one([](descend::ParamGroups& g) {
                      descend::OneCycleLROptions o;
                      o.max_lr = 0.05;
                      o.total_steps = 40;
                      return std::make_unique<descend::OneCycleLR>(g, o);
                    }));
  }
  SECTION("SequentialLR over a warm-up and a decay, saved through its parent only") {
    const MakeSchedules make = [](descend::ParamGroups& g) {
      Schedules s;
      auto warm = std::make_unique<descend::LinearLR>(g, 0.1, 1.0, 4);
      auto decay = std::make_unique<descend::ExponentialLR>(g, 0.9);
      auto seq = std::make_unique<descend::SequentialLR>(
          g, std::vector<std::reference_wrapper<descend::StepSchedule>>{*warm, *decay},
          std::vector<std::int64_t>{4});
      auto* raw = seq.get();
      s.owned.push_back(std::move(warm));
      s.owned.push_back(std::move(decay));
      s.owned.push_back(std::move(seq));
      s.step = [raw](int) { raw->step(); };
      return s;
    };
    // Loaded with only the parent listed: the children come with it.
    Model<S> a;
    descend::Sgd<S> opt_a(sgd);
    a.add_to(opt_a, false);
    Schedules sa = make(opt_a);
    for (int s = 0; s < 6; ++s) {
      a.gradients();
      opt_a.step();
      sa.step(s);
    }
    descend::ScheduleBase& parent_a = *sa.owned[2];
    const std::string saved = descend::checkpoint_bytes(opt_a, {parent_a});
    Model<S> b = a;
    descend::Sgd<S> opt_b(sgd);
    b.add_to(opt_b, false);
    Schedules sb = make(opt_b);
    descend::load_checkpoint_bytes(saved.data(), saved.size(), opt_b, {*sb.owned[2]});
    for (int s = 6; s < 12; ++s) {
      a.gradients();
      opt_a.step();
      sa.step(s);
      b.gradients();
      opt_b.step();
      sb.step(s);
      CHECK(opt_a.lr() == opt_b.lr());
    }
    require_finite(a, opt_a);
    require_finite(b, opt_b);
    CHECK(a == b);
  }
  SECTION("ReduceLROnPlateau in its cooldown, and the guard's counts") {
    const MakeOpt<S> make = [sgd]() {
      auto opt = std::make_unique<descend::Sgd<S>>(sgd);
      descend::NonFiniteGuard guard;
      guard.max_consecutive_skips = 3;
      opt->add_transform(descend::ClipGradNorm{1.0});
      opt->add_transform(guard);
      return std::unique_ptr<Opt<S>>(std::move(opt));
    };
    check_resume<S>(make, [](descend::ParamGroups& g) {
      Schedules s;
      descend::ReduceLROnPlateauOptions o;
      o.patience = 1;
      o.cooldown = 2;
      s.owned.push_back(std::make_unique<descend::ReduceLROnPlateau>(g, o));
      auto* raw = static_cast<descend::ReduceLROnPlateau*>(s.owned.back().get());
      s.step = [raw](int step) { raw->step(1.0 + 0.01 * ((step * 7) % 5)); };
      return s;
    });
  }
}

namespace {
// One schedule on every group, stepped once per step(); the metric ones get a
// loss that plateaus.
template <class Make>
MakeSchedules single(Make make) {
  return [make](descend::ParamGroups& g) {
    Schedules s;
    s.owned.push_back(make(g));
    descend::ScheduleBase* raw = s.owned.back().get();
    if (auto* metric = dynamic_cast<descend::MetricSchedule*>(raw))
      s.step = [metric](int step) { metric->step(1.0 / (1 + step % 6)); };
    else
      s.step = [raw](int) { static_cast<descend::LrSchedule*>(raw)->step(); };
    return s;
  };
}
}  // namespace

// Every schedule kind with an optimizer (test_schedule_state checks each on
// its own, with more edge states).
TEMPLATE_TEST_CASE("every schedule resumes with its optimizer, bit for bit", "[checkpoint]", float,
                   double) {
  using S = TestType;
  using G = descend::ParamGroups;
  descend::SgdOptions sgd;
  sgd.lr = 0.05;
  sgd.momentum = 0.9;
  const MakeOpt<S> make = maker<descend::Sgd<S>>(sgd);
  const auto half = [](std::int64_t e) { return 1.0 / (1.0 + 0.5 * static_cast<double>(e)); };
  std::vector<std::pair<const char*, MakeSchedules>> all = {
      {"StepLR", single([](G& g) { return std::make_unique<descend::StepLR>(g, 3, 0.5); })},
      {"MultiStepLR", single([](G& g) {
         return std::make_unique<descend::MultiStepLR>(g, std::vector<std::int64_t>{2, 5, 9}, 0.5);
       })},
      {"ConstantLR", single([](G& g) { return std::make_unique<descend::ConstantLR>(g, 0.5, 8); })},
      {"LinearLR",
       single([](G& g) { return std::make_unique<descend::LinearLR>(g, 0.2, 1.0, 10); })},
      {"ExponentialLR",
       single([](G& g) { return std::make_unique<descend::ExponentialLR>(g, 0.9); })},
      {"PolynomialLR",
       single([](G& g) { return std::make_unique<descend::PolynomialLR>(g, 12, 2.0); })},
      {"CosineAnnealingLR",
       single([](G& g) { return std::make_unique<descend::CosineAnnealingLR>(g, 5, 0.001); })},
      {"CosineAnnealingWarmRestarts", single([](G& g) {
         return std::make_unique<descend::CosineAnnealingWarmRestarts>(g, 3, 2, 0.001);
       })},
      {"LambdaLR", single([half](G& g) { return std::make_unique<descend::LambdaLR>(g, half); })},
      {"MultiplicativeLR", single([](G& g) {
         return std::make_unique<descend::MultiplicativeLR>(g, [](std::int64_t) { return 0.95; });
       })},
      {"CyclicLR", single([](G& g) {
         descend::CyclicLROptions o;
         o.base_lr = 0.01;
         o.max_lr = 0.1;
         o.step_size_up = 3;
         o.mode = descend::CyclicMode::triangular2;
         return std::make_unique<descend::CyclicLR>(g, o);
       })},
      {"OneCycleLR linear", single([](G& g) {
         descend::OneCycleLROptions o;
         o.max_lr = 0.1;
         o.total_steps = 30;
         o.anneal_strategy = descend::AnnealStrategy::linear;
         o.three_phase = true;
         return std::make_unique<descend::OneCycleLR>(g, o);
       })},
      {"ReduceLROnPlateau", single([](G& g) {
         descend::ReduceLROnPlateauOptions o;
         o.patience = 2;
         return std::make_unique<descend::ReduceLROnPlateau>(g, o);
       })},
      {"KingScheduler",
       single([](G& g) { return std::make_unique<descend::KingScheduler>(g, 4, 0.5); })},
      {"CompoundingStepDecay",
       single([](G& g) { return std::make_unique<descend::CompoundingStepDecay>(g, 0.1, 4); })},
      {"StepDecay", single([](G& g) { return std::make_unique<descend::StepDecay>(g, 0.1, 4); })},
      {"NoamScheduler",
       single([](G& g) { return std::make_unique<descend::NoamScheduler>(g, 16, 1.0, 5); })},
      {"ChainedScheduler",
       [](G& g) {
         Schedules s;
         auto constant = std::make_unique<descend::ConstantLR>(g, 0.5, 6);
         auto exp = std::make_unique<descend::ExponentialLR>(g, 0.9);
         auto chain = std::make_unique<descend::ChainedScheduler>(
             std::vector<std::reference_wrapper<descend::LrSchedule>>{*constant, *exp});
         auto* raw = chain.get();
         s.owned.push_back(std::move(constant));
         s.owned.push_back(std::move(exp));
         s.owned.push_back(std::move(chain));
         s.step = [raw](int) { raw->step(); };
         return s;
       }},
  };
  for (const auto& [name, schedules] : all) {
    INFO(name);
    check_resume<S>(make, schedules, 8, 10);
  }
}

TEST_CASE("the guard's counts are in the checkpoint", "[checkpoint]") {
  Model<double> m;
  descend::Sgd<double> opt;
  m.add_to(opt, false);
  opt.add_transform(descend::NonFiniteGuard{});
  m.gradients();
  m.g1(0, 0) = NAN;
  opt.step();
  opt.step();
  CHECK(opt.last_step().skipped_in_a_row == 2);
  const std::string saved = descend::checkpoint_bytes(opt);
  Model<double> m2;
  descend::Sgd<double> fresh;
  m2.add_to(fresh, false);
  fresh.add_transform(descend::NonFiniteGuard{});
  descend::load_checkpoint_bytes(saved.data(), saved.size(), fresh);
  m2.gradients();
  m2.g1(0, 0) = NAN;
  CHECK(fresh.step().skipped_in_a_row == 3);
  CHECK(fresh.last_step().skipped_total == 3);
}

namespace {
// An Adam<double> with the Model registered, stepped 3 times.
struct Stepped {
  Model<double> m;
  descend::Adam<double> opt;
  explicit Stepped(bool named = false, descend::AdamOptions o = {}) : opt(o) {
    m.add_to(opt, named);
    for (int s = 0; s < 3; ++s) {
      m.gradients();
      opt.step();
    }
  }
  std::string bytes() const { return descend::checkpoint_bytes(opt); }
};

// Loading `bytes` into `opt` throws CheckpointError containing `what`, and
// changes nothing.
template <class O>
void refused(const std::string& bytes, O& opt, const std::string& what,
             const descend::CheckpointSchedules& schedules = {}) {
  const std::string before = descend::checkpoint_bytes(opt, schedules);
  CHECK_THROWS_WITH(descend::load_checkpoint_bytes(bytes.data(), bytes.size(), opt, schedules),
                    Contains(what));
  CHECK(descend::checkpoint_bytes(opt, schedules) == before);
}

std::uint64_t header_length(const std::string& file) {
  std::uint64_t n;
  std::memcpy(&n, file.data(), 8);
  return n;
}

// The file with its header JSON edited by `edit` (and the checksum redone
// when `resum`), so that one defect at a time is tested.
std::string with_header(const std::string& file, const std::function<void(nlohmann::json&)>& edit,
                        bool resum = true) {
  const std::uint64_t n = header_length(file);
  nlohmann::json h = nlohmann::json::parse(file.substr(8, n));
  edit(h);
  const std::string data = file.substr(8 + n);
  if (resum) {
    descend::detail::SafeTensors f;
    for (const auto& [k, v] : h["__metadata__"].items()) f.metadata[k] = v.get<std::string>();
    for (const auto& [k, v] : h.items()) {
      if (k == "__metadata__") continue;
      descend::detail::TensorEntry t;
      t.dtype = v["dtype"].get<std::string>();
      for (const auto& d : v["shape"]) t.shape.push_back(d.get<std::uint64_t>());
      t.begin = v["data_offsets"][0].get<std::uint64_t>();
      t.end = v["data_offsets"][1].get<std::uint64_t>();
      f.tensors[k] = t;
    }
    f.data = reinterpret_cast<const unsigned char*>(data.data());
    f.data_size = data.size();
    h["__metadata__"]["checksum"] = descend::detail::checksum_of(f);
  }
  const std::string text = h.dump();
  std::string out(8, '\0');
  const std::uint64_t len = text.size();
  std::memcpy(&out[0], &len, 8);
  return out + text + data;
}

// Edits one JSON document held as a metadata string.
std::function<void(nlohmann::json&)> in_meta(const char* key,
                                             std::function<void(nlohmann::json&)> edit) {
  return [key, edit](nlohmann::json& h) {
    nlohmann::json inner = nlohmann::json::parse(h["__metadata__"][key].get<std::string>());
    edit(inner);
    h["__metadata__"][key] = inner.dump();
  };
}
}  // namespace

TEST_CASE("a checkpoint is a safetensors file with PyTorch's state names", "[checkpoint]") {
  Stepped s;
  const std::string file = s.bytes();
  const std::uint64_t n = header_length(file);
  REQUIRE(8 + n <= file.size());
  CHECK((8 + n) % 8 == 0);
  const nlohmann::json h = nlohmann::json::parse(file.substr(8, n));
  CHECK(h["__metadata__"]["format"] == "descend.checkpoint");
  CHECK(h["__metadata__"]["optimizer"] == "descend::Adam");
  CHECK(h["state.0.exp_avg"]["dtype"] == "F64");
  CHECK(h["state.0.exp_avg"]["shape"] == nlohmann::json({3, 4}));
  CHECK(h["state.2.exp_avg_sq"]["shape"] == nlohmann::json({5, 1}));
  const nlohmann::json groups =
      nlohmann::json::parse(h["__metadata__"]["param_groups"].get<std::string>());
  CHECK(groups[0]["betas"] == nlohmann::json({0.9, 0.999}));
  CHECK(groups[0]["params"] == nlohmann::json({0, 1, 2}));
  const nlohmann::json state = nlohmann::json::parse(h["__metadata__"]["state"].get<std::string>());
  CHECK(state["1"]["step"] == 3);
  // Row-major data whatever the layout: the column-major w1's exp_avg at (1, 2)
  // is element 1 * 4 + 2 of the tensor.
  const auto offsets = h["state.0.exp_avg"]["data_offsets"];
  double x;
  std::memcpy(&x, file.data() + 8 + n + offsets[0].get<std::size_t>() + (1 * 4 + 2) * 8, 8);
  CHECK(x == s.opt.state(s.m.w1, "exp_avg")(2 * 3 + 1));
}

TEST_CASE("a checkpoint that does not fit the optimizer is refused, changing nothing",
          "[checkpoint]") {
  Stepped saved(true);
  const std::string file = saved.bytes();
  SECTION("another kind of optimizer") {
    Model<double> m;
    descend::AdamW<double> other;
    m.add_to(other, true);
    refused(file, other, "holds a descend::Adam but this is a descend::AdamW");
  }
  SECTION("another Scalar type") {
    Model<float> m;
    descend::Adam<float> other;
    m.add_to(other, true);
    refused(file, other, "holds F64 state but this descend::Adam is F32");
  }
  SECTION("another count of parameters") {
    Model<double> m;
    descend::Adam<double> other;
    other.add("w1", m.w1, m.g1);
    refused(file, other, "has 3 registered parameters but this descend::Adam has 1");
  }
  SECTION("another name") {
    Model<double> m;
    descend::Adam<double> other;
    other.add("w1", m.w1, m.g1);
    other.add("w2", m.w2, m.g2);
    other.add("bias", m.b, m.gb);
    refused(file, other, "registered parameter #2 'bias' is not in the file");
  }
  SECTION("another shape") {
    Model<double> m;
    m.w2.resize(3, 2);
    m.g2.resize(3, 2);
    descend::Adam<double> other;
    m.add_to(other, true);
    refused(file, other, "'w2' is 3x2 but the file's is [2,3]");
  }
  SECTION("options that change the buffers") {
    Model<double> m;
    descend::AdamOptions ams;
    ams.amsgrad = true;
    descend::Adam<double> other(ams);
    m.add_to(other, true);
    refused(file, other, "max_exp_avg_sq");
  }
  SECTION("another count of groups") {
    Model<double> m;
    descend::Adam<double> other;
    other.add_group({});
    m.add_to(other, true);
    refused(file, other, "has 1 parameter groups but this descend::Adam has 2");
  }
  SECTION("a transform it did not have") {
    Model<double> m;
    descend::Adam<double> other;
    m.add_to(other, true);
    other.add_transform(descend::NonFiniteGuard{});
    refused(file, other, "0 gradient transforms but this descend::Adam has 1");
  }
  SECTION("a schedule of another kind") {
    Stepped with;
    descend::StepLR step(with.opt, 2);
    const std::string scheduled = descend::checkpoint_bytes(with.opt, {step});
    Model<double> m;
    descend::Adam<double> other;
    m.add_to(other, false);
    descend::ExponentialLR exp(other, 0.5);
    refused(scheduled, other,
            "\"descend::StepLR\" but the object given is a descend::ExponentialLR", {exp});
  }
  SECTION("named pairs in another order load by name") {
    Model<double> m = saved.m;
    descend::Adam<double> other;
    other.add("b", m.b, m.gb);
    other.add("w1", m.w1, m.g1);
    other.add("w2", m.w2, m.g2);
    descend::load_checkpoint_bytes(file.data(), file.size(), other);
    CHECK(other.step_count(m.b) == 3);
    CHECK((other.state(m.b, "exp_avg") == saved.opt.state(saved.m.b, "exp_avg")).all());
  }
}

TEST_CASE("a damaged or hostile file is refused with its defect named, changing nothing",
          "[checkpoint]") {
  Stepped s;
  const std::string file = s.bytes();
  Stepped target;
  auto& opt = target.opt;
  SECTION("empty, and truncated anywhere") {
    refused("", opt, "too short for a header length");
    for (std::size_t len = 0; len < file.size();
         len += (len < 64 || len > file.size() - 64) ? 1 : 7) {
      const std::string cut = file.substr(0, len);
      const std::string before = descend::checkpoint_bytes(opt);
      CHECK_THROWS_AS(descend::load_checkpoint_bytes(cut.data(), cut.size(), opt),
                      descend::CheckpointError);
      REQUIRE(descend::checkpoint_bytes(opt) == before);
    }
  }
  SECTION("every byte flipped in turn") {
    // Either refused (almost always: the checksum covers everything that
    // means something) or, where the byte is JSON whitespace, loaded intact.
    for (std::size_t i = 0; i < file.size(); i += 3) {
      std::string bad = file;
      bad[i] = static_cast<char>(bad[i] ^ 0x5A);
      try {
        descend::load_checkpoint_bytes(bad.data(), bad.size(), opt);
        REQUIRE(descend::checkpoint_bytes(opt) == file);
      } catch (const descend::CheckpointError&) {
      }
    }
  }
  SECTION("a header length past the end") {
    std::string bad = file;
    const std::uint64_t n = file.size();
    std::memcpy(&bad[0], &n, 8);
    refused(bad, opt, "runs past the end of the file");
    const std::uint64_t huge = ~std::uint64_t(0);
    std::memcpy(&bad[0], &huge, 8);
    refused(bad, opt, "runs past the end of the file");
  }
  SECTION("offsets out of range, overlapping, or leaving a gap") {
    refused(with_header(
                file, [](nlohmann::json& h) { h["state.0.exp_avg"]["data_offsets"][1] = 1 << 30; }),
            opt, "outside the");
    refused(with_header(file,
                        [](nlohmann::json& h) {
                          h["state.0.exp_avg_sq"]["data_offsets"] =
                              h["state.0.exp_avg"]["data_offsets"];
                        }),
            opt, "the tensor before it ends at");
    refused(
        with_header(file, [](nlohmann::json& h) { h["state.0.exp_avg"]["data_offsets"][0] = 8; }),
        opt, "bytes of data but its shape");
  }
  SECTION("a wrong dtype or shape") {
    refused(with_header(file, [](nlohmann::json& h) { h["state.1.exp_avg"]["dtype"] = "BF16"; }),
            opt, "has dtype BF16");
    refused(with_header(file,
                        [](nlohmann::json& h) {
                          h["state.1.exp_avg"]["dtype"] = "F32";
                          h["state.1.exp_avg"]["shape"] = {2, 6};
                        }),
            opt, "is F32 but the optimizer's Scalar is F64");
    refused(with_header(file,
                        [](nlohmann::json& h) {
                          h["state.1.exp_avg"]["shape"] = {3, 2};
                        }),
            opt, "has shape [3, 2] but the parameter is 2x3");
    refused(with_header(file,
                        [](nlohmann::json& h) {
                          h["state.1.exp_avg"]["shape"] = {2, 3, 1};
                        }),
            opt, "at most 2 sizes");
  }
  SECTION("deep or huge JSON") {
    std::string deep(8, '\0');
    const std::string text = std::string(100000, '[') + std::string(100000, ']');
    const std::uint64_t n = text.size();
    std::memcpy(&deep[0], &n, 8);
    refused(deep + text, opt, "nested deeper than 64");
    refused(with_header(file, in_meta("params",
                                      [](nlohmann::json& p) {
                                        nlohmann::json x = 1;
                                        for (int i = 0; i < 80; ++i) x = nlohmann::json::array({x});
                                        p[0]["name"] = x;
                                      })),
            opt, "params is nested deeper than 64");
    std::string huge(8, '\0');
    const std::uint64_t big = (std::uint64_t(64) << 20) + 1;
    std::memcpy(&huge[0], &big, 8);
    refused(huge + std::string(big, ' '), opt, "over the limit");
  }
  SECTION("a bad checksum, a future version, another format") {
    refused(with_header(
                file, [](nlohmann::json& h) { h["__metadata__"]["checksum"] = "crc32:00000000"; },
                false),
            opt, "checksum mismatch");
    std::string flipped = file;
    flipped.back() = static_cast<char>(flipped.back() ^ 1);
    refused(flipped, opt, "checksum mismatch");
    refused(with_header(file, [](nlohmann::json& h) { h["__metadata__"]["version"] = "2"; }), opt,
            "format version 2, from a later descend");
    refused(with_header(file, [](nlohmann::json& h) { h["__metadata__"]["version"] = "x"; }), opt,
            "is not a number");
    refused(with_header(file, [](nlohmann::json& h) { h["__metadata__"]["format"] = "other"; }),
            opt, "not a descend checkpoint");
  }
  SECTION("wrong types and values inside the metadata") {
    refused(with_header(file, in_meta("state", [](nlohmann::json& st) { st["0"]["step"] = -1; })),
            opt, "not a count");
    refused(
        with_header(file, in_meta("param_groups", [](nlohmann::json& g) { g[0]["lr"] = "fast"; })),
        opt, "param_groups[0].lr is \"fast\", not a number");
    refused(with_header(file, in_meta("param_groups", [](nlohmann::json& g) { g[0]["lr"] = -1; })),
            opt, "lr = -1 must be >= 0");
    refused(with_header(file,
                        in_meta("param_groups", [](nlohmann::json& g) { g[0]["betas"] = {0.9}; })),
            opt, "not a list of two numbers");
    refused(
        with_header(file, in_meta("param_groups",
                                  [](nlohmann::json& g) { g[0]["eps_placement"] = "sideways"; })),
        opt, "not one of outside_sqrt, inside_sqrt");
    refused(with_header(file, in_meta("param_groups",
                                      [](nlohmann::json& g) {
                                        g[0]["params"] = {0, 0, 1};
                                      })),
            opt, "in another group too");
    refused(with_header(file, in_meta("state",
                                      [](nlohmann::json& st) {
                                        st["7"] = {{"step", 1}};
                                      })),
            opt, "only 3 belong to a registered parameter");
    refused(with_header(file, [](nlohmann::json& h) { h["__metadata__"].erase("params"); }), opt,
            "__metadata__ has no 'params'");
    refused(with_header(file, [](nlohmann::json& h) { h["__metadata__"]["params"] = "{"; }), opt,
            "params is not valid JSON");
  }
  SECTION("a missing tensor, and one no state uses") {
    refused(with_header(file,
                        [](nlohmann::json& h) {
                          h["state.9.exp_avg"] = h["state.2.exp_avg"];
                          h.erase("state.2.exp_avg");
                        }),
            opt, "needs the tensor 'state.2.exp_avg'");
  }
}

TEST_CASE("save_checkpoint replaces the file atomically; load_checkpoint reads it",
          "[checkpoint]") {
  char dir_template[] = "/tmp/descend_ckpt_XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/run.ckpt";
  Stepped s;
  descend::save_checkpoint(path, s.opt);
  Stepped t;
  for (int k = 0; k < 2; ++k) {
    t.m.gradients();
    t.opt.step();
  }
  descend::load_checkpoint(path, t.opt);
  CHECK(descend::checkpoint_bytes(t.opt) == s.bytes());
  descend::save_checkpoint(path, t.opt);  // over the old one
  CHECK(access(descend::detail::temporary_path(path).c_str(), F_OK) != 0);
  CHECK_THROWS_WITH(descend::load_checkpoint(dir, t.opt), Contains("is not a regular file"));
  CHECK_THROWS_WITH(descend::load_checkpoint(dir + "/none", t.opt), Contains("cannot open"));
  CHECK_THROWS_WITH(descend::save_checkpoint(dir + "/no/such/dir/x", t.opt),
                    Contains("cannot create"));
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("two threads saving to the same path at once leave one complete checkpoint",
          "[checkpoint]") {
  char templ[] = "/tmp/descend_threads.XXXXXX";
  REQUIRE(mkdtemp(templ) != nullptr);
  const std::string dir = templ, path = dir + "/run.ckpt";
  descend::AdamOptions faster;
  faster.lr = 0.5;
  Stepped a, b(false, faster);
  const std::string bytes_a = a.bytes(), bytes_b = b.bytes();
  REQUIRE(bytes_a != bytes_b);
  // Each thread's temporary file is its own (one name shared by the process
  // let one thread rename the other's half-written file, or fail to).
  std::string tmp_main = descend::detail::temporary_path(path), tmp_other;
  std::thread([&] { tmp_other = descend::detail::temporary_path(path); }).join();
  CHECK(tmp_main != tmp_other);
  std::string error;
  auto save = [&](const Stepped& s) {
    try {
      for (int k = 0; k < 50; ++k) descend::save_checkpoint(path, s.opt);
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread other(save, std::cref(b));
  save(a);
  other.join();
  CHECK(error.empty());
  Stepped c;
  descend::load_checkpoint(path, c.opt);
  const std::string loaded = descend::checkpoint_bytes(c.opt);
  CHECK((loaded == bytes_a || loaded == bytes_b));
  CHECK(access(tmp_main.c_str(), F_OK) != 0);
  std::remove(path.c_str());
  CHECK(rmdir(dir.c_str()) == 0);  // nothing else was left in it
}

TEST_CASE("state that update() made for an unregistered parameter cannot be saved",
          "[checkpoint]") {
  Eigen::VectorXd w = Eigen::VectorXd::Ones(3), g = Eigen::VectorXd::Ones(3);
  descend::Adam<double> opt;
  opt.update(w, g);
  CHECK_THROWS_WITH(descend::checkpoint_bytes(opt),
                    Contains("that update() made and add() did not register"));
  opt.forget(w);
  CHECK_NOTHROW(descend::checkpoint_bytes(opt));
}

TEST_CASE("registrations that came to share memory are refused by load, as by step()",
          "[checkpoint]") {
  // A registered Matrix swapped onto a registered view's memory: load must
  // not key two states by one address.
  Eigen::MatrixXd x = Eigen::MatrixXd::Ones(2, 2), y = Eigen::MatrixXd::Ones(2, 2);
  Eigen::MatrixXd gx = Eigen::MatrixXd::Ones(2, 2), gy = Eigen::MatrixXd::Ones(2, 2);
  descend::Adam<double> saved;
  saved.add(x, gx);
  saved.add(y, gy);
  saved.step();
  const std::string file = descend::checkpoint_bytes(saved);

  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(2, 2), other = Eigen::MatrixXd::Zero(2, 2);
  descend::Adam<double> opt;
  opt.add(a, gx);
  opt.step();
  Eigen::Map<Eigen::MatrixXd> there(other.data(), 2, 2);
  std::swap(a, other);  // a now owns the memory `there` views
  opt.add(there, gy);
  CHECK_THROWS_WITH(descend::load_checkpoint_bytes(file.data(), file.size(), opt),
                    Contains("registered parameter #1 now shares memory with registered parameter #0"));
  CHECK(opt.num_states() == 1);
  CHECK_THROWS_WITH(opt.step(), Contains("now shares memory with registered parameter #0"));
  CHECK(opt.remove(there));
  opt.step();
  CHECK(opt.step_count(a) == 2);
}

TEST_CASE("names are unique and readable", "[checkpoint]") {
  Model<double> m;
  descend::Sgd<double> opt;
  opt.add("w1", m.w1, m.g1);
  CHECK_THROWS_WITH(opt.add("w1", m.w2, m.g2), Contains("#0 is already named 'w1'"));
  opt.add(m.w2, m.g2);
  CHECK(opt.name(0) == "w1");
  CHECK(opt.name(1).empty());
  CHECK_THROWS_AS(opt.name(2), std::out_of_range);
  opt.remove(m.w1);
  CHECK(opt.name(0).empty());
}

TEST_CASE("a group's option the file lacks keeps the optimizer's value", "[checkpoint]") {
  // As in a state_dict exported from PyTorch, which has no descend options.
  Stepped s;
  const std::string file = with_header(s.bytes(), in_meta("param_groups", [](nlohmann::json& g) {
                                         g[0].erase("decay");
                                         g[0].erase("eps_placement");
                                         g[0]["lr"] = 0.25;
                                         g[0]["foreach"] = nullptr;  // PyTorch's, ignored
                                       }));
  descend::AdamOptions o;
  o.decay = 0.5;
  o.eps_placement = descend::EpsPlacement::inside_sqrt;
  Stepped target(false, o);
  descend::load_checkpoint_bytes(file.data(), file.size(), target.opt);
  CHECK(target.opt.options().decay == 0.5);
  CHECK(target.opt.options().eps_placement == descend::EpsPlacement::inside_sqrt);
  CHECK(target.opt.options().lr == 0.25);
}
