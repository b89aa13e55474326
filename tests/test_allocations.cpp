// Once a parameter's state exists, updates allocate nothing: this binary
// replaces the global operator new to count every heap allocation.
#if defined(__GNUC__) && !defined(__clang__)
// GCC cannot see that the replaced operator new below uses malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <vector>

#include "catch.hpp"
#include "descend/checkpoint.hpp"
#include "descend/nn.hpp"
#include "descend/optim/clip.hpp"
#include "descend/optim/guard.hpp"
#include "descend/optim/schedules.hpp"
#include "helpers.hpp"

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer owns the allocator and reports a replaced operator new as
// an allocation/deallocation mismatch; the counting runs in the other builds.
TEST_CASE("allocation counting is skipped under AddressSanitizer", "[allocations]") {
  SUCCEED("built with AddressSanitizer: see the default build's test_allocations");
}
#else

namespace {
std::atomic<long> allocations{0};
// >= 0: that many more allocations succeed, then every one fails (-1: none do).
std::atomic<long> fail_after{-1};
bool out_of_memory() {
  long left = fail_after.load();
  while (left > 0 && !fail_after.compare_exchange_weak(left, left - 1)) {
  }
  return left == 0;
}
}  // namespace

// Eigen allocates its dynamic matrices with malloc, not operator new, so
// malloc and friends are counted too (glibc's own implementations stay
// reachable as __libc_*).
#if defined(__GLIBC__)
#define DESCEND_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t size) {
  ++allocations;
  if (out_of_memory()) return nullptr;
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  ++allocations;
  if (out_of_memory()) return nullptr;
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  ++allocations;
  if (out_of_memory()) return nullptr;
  return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  ++allocations;
  if (out_of_memory()) return nullptr;
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  ++allocations;
  if (out_of_memory()) return 12;  // ENOMEM
  *out = __libc_memalign(alignment, size);
  return *out ? 0 : 12;  // ENOMEM
}
void free(void* p) { __libc_free(p); }
}
static void* raw_allocate(std::size_t size) { return __libc_malloc(size); }
static void raw_free(void* p) { __libc_free(p); }
#else
static void* raw_allocate(std::size_t size) { return std::malloc(size); }
static void raw_free(void* p) { std::free(p); }
#endif

void* operator new(std::size_t size) {
  ++allocations;
  if (out_of_memory()) throw std::bad_alloc();
  if (void* p = raw_allocate(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { raw_free(p); }
void operator delete[](void* p) noexcept { raw_free(p); }
void operator delete(void* p, std::size_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::size_t) noexcept { raw_free(p); }

namespace {

// Allocations made by `steps` calls of f after a first, warming call.
template <class F>
long allocations_after_first(F&& f, int steps = 20) {
  f();
  const long before = allocations.load();
  for (int i = 0; i < steps; ++i) f();
  return allocations.load() - before;
}

// Every option set of the reference cases, which covers every optimizer,
// option and convention.
template <class Scalar, class Run>
void for_every_configuration(Run&& run) {
  for (const auto& c : testing::reference_cases()) {
    auto opt = testing::make_optimizer<Scalar>(c.optimizer, c.options);
    INFO(c.optimizer << " " << c.options);
    run(*opt);
  }
}

}  // namespace

TEST_CASE("the counter sees allocations", "[allocations]") {
  long before = allocations.load();
  auto* p = new std::vector<double>(100);
  CHECK(allocations.load() > before);
  delete p;
#ifdef DESCEND_COUNT_MALLOC
  before = allocations.load();
  Eigen::VectorXd v(100);
  v.setZero();
  CHECK(allocations.load() > before);
#endif
}

TEST_CASE("the first update allocates the state", "[allocations]") {
  descend::Adam<double> adam;
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(10, 10);
  const long before = allocations.load();
  adam.update(w, 1.0 * w);
  CHECK(allocations.load() > before);
}

TEMPLATE_TEST_CASE("update() allocates nothing once state exists", "[allocations]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix w = Matrix::Ones(37, 29), g = Matrix::Constant(37, 29, 0.5);
  Matrix big = Matrix::Ones(50, 50), big_g = Matrix::Constant(50, 50, 0.5);
  for_every_configuration<TestType>([&](descend::Optimizer<TestType>& opt) {
    CHECK(allocations_after_first([&] { opt.update(w, g); }) == 0);
    // A strided block, and a gradient that is an expression.
    CHECK(allocations_after_first(
              [&] { opt.update(big.block(3, 4, 20, 30), 2 * big_g.block(0, 0, 20, 30)); }) == 0);
  });
}

TEMPLATE_TEST_CASE("step() and zero_grad() allocate nothing once state exists", "[allocations]",
                   float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix a = Matrix::Ones(64, 3), ga = Matrix::Constant(64, 3, 0.1);
  Eigen::Matrix<TestType, 1, Eigen::Dynamic> b =
      Eigen::Matrix<TestType, 1, Eigen::Dynamic>::Ones(3);
  Eigen::Matrix<TestType, 1, Eigen::Dynamic> gb = b;
  for_every_configuration<TestType>([&](descend::Optimizer<TestType>& opt) {
    opt.add(a, ga);
    opt.add(b, gb);
    CHECK(allocations_after_first([&] {
            opt.step();
            opt.zero_grad();
          }) == 0);
  });
}

TEMPLATE_TEST_CASE(
    "step() with two groups, maximize, clipping and the non-finite guard allocates nothing",
    "[allocations]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix a = Matrix::Ones(64, 3), ga = Matrix::Constant(64, 3, 0.1);
  Matrix b = Matrix::Ones(40, 7), gb = Matrix::Constant(40, 7, 2.0);
  descend::AdamOptions first;
  descend::AdamOptions second;
  second.lr = 1e-2;
  second.maximize = true;
  second.amsgrad = true;
  descend::Adam<TestType> opt(first);
  opt.add(a, ga);
  opt.add(b.block(1, 1, 30, 5), gb.block(2, 0, 30, 5), opt.add_group(second));
  opt.add_transform(descend::ClipGradValue{1.5});
  opt.add_transform(descend::ClipNormPerParameter{5.0});
  opt.add_transform(descend::ClipGradNorm{1.0});
  opt.add_transform(descend::NonFiniteGuard{descend::NonFinitePolicy::skip, 0});
  CHECK(allocations_after_first([&] {
          const descend::StepReport& r = opt.step();
          opt.set_lr(r.lr[1] * 0.5, 1);  // as a schedule would
        }) == 0);
  // A skipped step allocates nothing either.
  ga(3, 1) = std::numeric_limits<TestType>::quiet_NaN();
  int skipped = 0;
  CHECK(allocations_after_first([&] { skipped += opt.step().skipped ? 1 : 0; }) == 0);
  CHECK(skipped == 21);
}

TEMPLATE_TEST_CASE("a training epoch of the layer set allocates nothing after the first",
                   "[allocations][nn]", float, double) {
  // The spiral example's network, with 12 hidden units.
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const auto data = descend::data::spiral<TestType>(20, 3, 5);
  descend::data::Random random(6);
  descend::nn::Dense<TestType> dense1(2, 12, random), dense2(12, 3, random);
  descend::nn::Relu<TestType> relu;
  descend::nn::SoftmaxCrossEntropy<TestType> head;
  descend::Adam<TestType> adam;
  const Matrix& x = data.inputs;
  auto epoch = [&] {
    head.forward(dense2.forward(relu.forward(dense1.forward(x))), data.labels);
    dense2.backward(head.backward(data.labels));
    dense1.backward(relu.backward(dense2.dinputs()));
    adam.update(dense1.weights(), dense1.dweights());
    adam.update(dense1.biases(), dense1.dbiases());
    adam.update(dense2.weights(), dense2.dweights());
    adam.update(dense2.biases(), dense2.dbiases());
    return descend::nn::accuracy(head.output(), data.labels);
  };
  CHECK(allocations_after_first(epoch) == 0);
}

namespace {

// A training loop's optimizers: SGD with momentum (what CyclicLR and
// OneCycleLR cycle) and Adam (beta1), each with two groups, the second a
// block of a larger matrix, gradient clipping and the non-finite guard.
template <class Scalar>
struct Training {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix a = Matrix::Ones(64, 3), ga = Matrix::Constant(64, 3, 0.1);
  Matrix b = Matrix::Ones(40, 7), gb = Matrix::Constant(40, 7, 2.0);
  descend::Sgd<Scalar> sgd{sgd_options(0.1, 0.9)};
  descend::Adam<Scalar> adam;

  Training() {
    sgd.add(a, ga);
    sgd.add(b.block(1, 1, 30, 5), gb.block(2, 0, 30, 5), sgd.add_group(sgd_options(0.05, 0.5)));
    descend::AdamOptions second;
    second.lr = 1e-2;
    second.beta1 = 0.8;
    adam.add(a, ga);
    adam.add(b.block(1, 1, 30, 5), gb.block(2, 0, 30, 5), adam.add_group(second));
    for (descend::Optimizer<Scalar>* opt : {static_cast<descend::Optimizer<Scalar>*>(&sgd),
                                            static_cast<descend::Optimizer<Scalar>*>(&adam)}) {
      opt->add_transform(descend::ClipGradNorm{1.0});
      opt->add_transform(descend::NonFiniteGuard{descend::NonFinitePolicy::skip, 0});
    }
  }

  static descend::SgdOptions sgd_options(double lr, double momentum) {
    descend::SgdOptions o;
    o.lr = lr;
    o.momentum = momentum;
    return o;
  }
};

// Allocations of 20 iterations (the optimizer's step(), then the schedule's)
// after a first.
template <class Optimizer>
long per_iteration(Optimizer& opt, descend::LrSchedule& schedule) {
  return allocations_after_first([&] {
    opt.step();
    schedule.step();
  });
}

template <class Options>
struct Case {
  const char* name;
  Options options;
};
using CyclicLRCase = Case<descend::CyclicLROptions>;
using OneCycleLRCase = Case<descend::OneCycleLROptions>;

// CyclicLR in every mode and with a scale_fn, over cycles of 5 steps.
std::vector<CyclicLRCase> cyclic_lr_cases(bool cycle_momentum) {
  std::vector<CyclicLRCase> cases;
  for (auto mode : {descend::CyclicMode::triangular, descend::CyclicMode::triangular2,
                    descend::CyclicMode::exp_range}) {
    descend::CyclicLROptions o;
    o.base_lr = {0.01, 0.002};
    o.max_lr = {0.1, 0.05};
    o.step_size_up = 3;
    o.step_size_down = 2;
    o.mode = mode;
    o.gamma = 0.9;
    o.cycle_momentum = cycle_momentum;
    const char* names[] = {"triangular", "triangular2", "exp_range"};
    cases.push_back({names[static_cast<int>(mode)], o});
  }
  descend::CyclicLROptions o = cases[0].options;
  o.scale_fn = [](double x) { return 1 / (1 + x); };
  o.scale_mode = descend::ScaleMode::iterations;
  cases.push_back({"scale_fn", o});
  return cases;
}

// OneCycleLR over 30 steps (the 21 of allocations_after_first cross every
// phase), in two and three phases.
std::vector<OneCycleLRCase> one_cycle_lr_cases(bool cycle_momentum) {
  descend::OneCycleLROptions o;
  o.max_lr = {0.5, 0.2};
  o.total_steps = 30;
  o.cycle_momentum = cycle_momentum;
  descend::OneCycleLROptions three = o;
  three.three_phase = true;
  three.anneal_strategy = descend::AnnealStrategy::linear;
  return {{"two phases, cos", o}, {"three phases, linear", three}};
}

// CyclicLR driving SGD, and OneCycleLR driving SGD and Adam (whose beta1 it
// cycles), in every case above.
template <class Scalar>
void check_cyclic_schedules(bool cycle_momentum) {
  for (const auto& c : cyclic_lr_cases(cycle_momentum)) {
    Training<Scalar> t;
    descend::CyclicLR cyclic_lr(t.sgd, c.options);
    INFO("CyclicLR " << c.name << (cycle_momentum ? ", cycling momentum" : ""));
    CHECK(per_iteration(t.sgd, cyclic_lr) == 0);
  }
  for (const auto& c : one_cycle_lr_cases(cycle_momentum)) {
    Training<Scalar> t;
    descend::OneCycleLR one_cycle_sgd(t.sgd, c.options);
    descend::OneCycleLR one_cycle_adam(t.adam, c.options);
    INFO("OneCycleLR " << c.name << (cycle_momentum ? ", cycling momentum and beta1" : ""));
    CHECK(per_iteration(t.sgd, one_cycle_sgd) == 0);
    CHECK(per_iteration(t.adam, one_cycle_adam) == 0);
  }
}

double inverse_time(std::int64_t e) { return 1.0 / (1.0 + 0.1 * static_cast<double>(e)); }

}  // namespace

TEMPLATE_TEST_CASE("every schedule's step() allocates nothing after the first iteration",
                   "[allocations][schedule]", float, double) {
  {
    Training<TestType> t;
    descend::StepLR step_lr(t.sgd, 3, 0.5);
    CHECK(per_iteration(t.sgd, step_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::MultiStepLR multi_step_lr(t.sgd, {2, 5, 5, 9}, 0.5);
    CHECK(per_iteration(t.sgd, multi_step_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::ConstantLR constant_lr(t.sgd, 0.5, 4);
    CHECK(per_iteration(t.sgd, constant_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::LinearLR linear_lr(t.sgd, 0.25, 1.0, 6);
    CHECK(per_iteration(t.sgd, linear_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::ExponentialLR exponential_lr(t.sgd, 0.95);
    CHECK(per_iteration(t.sgd, exponential_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::PolynomialLR polynomial_lr(t.sgd, 10, 2.0);
    CHECK(per_iteration(t.sgd, polynomial_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::CosineAnnealingLR cosine_annealing_lr(t.adam, 5, 1e-4);  // past T_max
    CHECK(per_iteration(t.adam, cosine_annealing_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::CosineAnnealingWarmRestarts warm_restarts(t.sgd, 3, 2, 1e-4);
    CHECK(per_iteration(t.sgd, warm_restarts) == 0);
  }
  // CyclicLR and OneCycleLR with the optimizers' lrs; cycling momenta, on
  // groups with no optimizer behind them (an optimizer's: the next test case).
  check_cyclic_schedules<TestType>(false);
  for (const auto& c : cyclic_lr_cases(true)) {
    descend::LrGroups groups({0.1, 0.05}, {0.9, 0.5});
    descend::CyclicLR cyclic_lr_momentum(groups, c.options);
    INFO("CyclicLR " << c.name);
    CHECK(allocations_after_first([&] { cyclic_lr_momentum.step(); }) == 0);
  }
  for (const auto& c : one_cycle_lr_cases(true)) {
    descend::LrGroups groups({0.1, 0.05}, {0.9, 0.5});
    descend::OneCycleLR one_cycle_lr_momentum(groups, c.options);
    INFO("OneCycleLR " << c.name);
    CHECK(allocations_after_first([&] { one_cycle_lr_momentum.step(); }) == 0);
  }
  {
    Training<TestType> t;
    descend::LambdaLR lambda_lr(t.sgd, inverse_time);
    CHECK(per_iteration(t.sgd, lambda_lr) == 0);
    descend::LambdaLR lambda_lr_per_group(
        t.adam, {inverse_time, [](std::int64_t e) { return e < 5 ? 1.0 : 0.5; }});
    CHECK(per_iteration(t.adam, lambda_lr_per_group) == 0);
  }
  {
    Training<TestType> t;
    descend::MultiplicativeLR multiplicative_lr(t.sgd, [](std::int64_t) { return 0.95; });
    CHECK(per_iteration(t.sgd, multiplicative_lr) == 0);
  }
  {
    Training<TestType> t;
    descend::LinearLR warmup(t.sgd, 0.1, 1.0, 4);
    descend::ExponentialLR decay(t.sgd, 0.9);
    descend::CosineAnnealingLR cosine(t.sgd, 6);
    descend::SequentialLR sequential_lr(t.sgd, {warmup, decay, cosine}, {4, 10});
    CHECK(per_iteration(t.sgd, sequential_lr) == 0);
    CHECK(sequential_lr.last_epoch() > 10);  // past both milestones
  }
  {
    Training<TestType> t;
    descend::ConstantLR constant(t.adam, 0.5, 4);
    descend::ExponentialLR exponential(t.adam, 0.95);
    descend::ChainedScheduler chained_scheduler({constant, exponential});
    CHECK(per_iteration(t.adam, chained_scheduler) == 0);
  }
  {
    Training<TestType> t;
    descend::NoamScheduler noam(t.sgd, 64, 1, 5);
    CHECK(per_iteration(t.sgd, noam) == 0);
  }
  {
    Training<TestType> t;
    descend::CompoundingStepDecay compounding_step_decay(t.sgd, 0.1, 4);
    CHECK(per_iteration(t.sgd, compounding_step_decay) == 0);
    descend::StepDecay step_decay(t.adam, 0.1, 4);
    CHECK(per_iteration(t.adam, step_decay) == 0);
  }
  {
    Training<TestType> t;
    descend::ReduceLROnPlateauOptions o;
    o.patience = 1;
    o.cooldown = 1;
    o.min_lr = {0.01, 0.0};
    descend::ReduceLROnPlateau reduce_lr_on_plateau(t.sgd, o);
    const long allocated = allocations_after_first([&] {
      t.sgd.step();
      reduce_lr_on_plateau.step(1.0);  // never better: reduces every third step
    });
    CHECK(allocated == 0);
    CHECK(t.sgd.lr(0) == Approx(0.01));  // reduced to min_lr
    CHECK(t.sgd.lr(1) < 0.05 * 1e-5);    // reduced 7 times
  }
  {
    Training<TestType> t;
    descend::KingScheduler king(t.sgd, 3, 0.9);  // history of at most 5 losses
    double loss = 1;
    const long allocated = allocations_after_first([&] {
      t.sgd.step();
      king.step(loss += 0.01);  // rising: decays once patience losses are in
    });
    CHECK(allocated == 0);
    CHECK(king.loss_history().size() == 5);
    CHECK(t.sgd.lr(0) < 0.1 * 0.9 * 0.9 * 0.9);
  }
}

// A loaded checkpoint makes its buffers (and King's history) as step() needs
// them: no step allocates after a load either.
namespace {
descend::OneCycleLROptions one_cycle_options() {
  descend::OneCycleLROptions o;
  o.max_lr = 0.2;
  o.total_steps = 100;
  return o;
}
}  // namespace

TEMPLATE_TEST_CASE("steps after loading a checkpoint allocate nothing", "[allocations][checkpoint]",
                   float, double) {
  Training<TestType> before;
  descend::OneCycleLR one_cycle(before.sgd, one_cycle_options());
  descend::KingScheduler king(before.adam, 3, 0.9);
  double loss = 1;
  for (int i = 0; i < 8; ++i) {
    before.sgd.step();
    one_cycle.step();
    before.adam.step();
    king.step(loss += 0.01);
  }
  const std::string sgd_bytes = descend::checkpoint_bytes(before.sgd, {one_cycle});
  const std::string adam_bytes = descend::checkpoint_bytes(before.adam, {king});
  Training<TestType> after;
  descend::OneCycleLR one_cycle_after(after.sgd, one_cycle_options());
  descend::KingScheduler king_after(after.adam, 3, 0.9);
  descend::load_checkpoint_bytes(sgd_bytes.data(), sgd_bytes.size(), after.sgd, {one_cycle_after});
  descend::load_checkpoint_bytes(adam_bytes.data(), adam_bytes.size(), after.adam, {king_after});
  const long before_steps = allocations.load();
  for (int i = 0; i < 10; ++i) {
    after.sgd.step();
    one_cycle_after.step();
    after.adam.step();
    king_after.step(loss += 0.01);
  }
  CHECK(allocations.load() - before_steps == 0);
}

// add() reserves step()'s work items with the registrations: step() over
// state it need not create (here loaded) allocates nothing, however many
// pairs were added before it (the first add() makes room for 16).
TEMPLATE_TEST_CASE("steps after loading a checkpoint allocate nothing, with many pairs",
                   "[allocations][checkpoint]", float, double) {
  using Matrix = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  std::vector<Matrix> w(40, Matrix::Ones(3, 2)), g(40, Matrix::Constant(3, 2, 0.5));
  std::vector<Matrix> w2 = w, g2 = g;  // sized once: registered elements never move
  descend::Adam<TestType> before, after;
  for (std::size_t i = 0; i < w.size(); ++i) before.add(w[i], g[i]);
  before.step();
  const std::string bytes = descend::checkpoint_bytes(before);
  for (std::size_t i = 0; i < w2.size(); ++i) after.add(w2[i], g2[i]);
  descend::load_checkpoint_bytes(bytes.data(), bytes.size(), after);
  const long before_steps = allocations.load();
  for (int i = 0; i < 3; ++i) after.step();
  CHECK(allocations.load() - before_steps == 0);
  CHECK(after.step_count(w2[39]) == 4);
}

// A schedule's set_momentum() goes through the optimizer's set_options(),
// whose validation builds no message unless a check fails.
TEMPLATE_TEST_CASE("cycling an optimizer's momentum or beta1 allocates nothing after the first",
                   "[allocations][schedule]", float, double) {
  check_cyclic_schedules<TestType>(true);
}

// Out of memory at each allocation in turn: a step() that has to create state
// and move state with swapped registered matrices, and an add(), either
// succeed or throw std::bad_alloc having changed nothing.
namespace {
struct Snapshot {
  Eigen::MatrixXd a, b, c, d;
  std::vector<std::int64_t> counts;
  std::vector<Eigen::ArrayXd> moments;
  std::size_t states = 0, registered = 0;
  bool operator==(const Snapshot& o) const {
    return a == o.a && b == o.b && c == o.c && d == o.d && counts == o.counts &&
           moments.size() == o.moments.size() &&
           std::equal(moments.begin(), moments.end(), o.moments.begin(),
                      [](const Eigen::ArrayXd& x, const Eigen::ArrayXd& y) {
                        return x.size() == y.size() && (x == y).all();
                      }) &&
           states == o.states && registered == o.registered;
  }
};
}  // namespace

TEST_CASE("step() and add() that run out of memory change nothing", "[allocations]") {
  for (long k = 0;; ++k) {
    descend::Adam<double> opt;
    Eigen::MatrixXd a = Eigen::MatrixXd::Ones(4, 3), b = Eigen::MatrixXd::Constant(4, 3, 2.0);
    Eigen::MatrixXd c = Eigen::MatrixXd::Ones(5, 5), d = Eigen::MatrixXd::Ones(2, 2);
    Eigen::MatrixXd ga = Eigen::MatrixXd::Constant(4, 3, 0.5), gb = -ga;
    Eigen::MatrixXd gc = Eigen::MatrixXd::Constant(5, 5, 0.25), gd = gc.topLeftCorner(2, 2);
    opt.add(a, ga);
    opt.add(b, gb);
    opt.step();
    opt.add(c, gc);   // no state yet: the next step() creates it
    std::swap(a, b);  // their state follows them at the next step()
    opt.update(d, gd);
    const auto take = [&] {
      Snapshot s{a, b, c, d, {}, {}, opt.num_states(), opt.num_registered()};
      for (const Eigen::MatrixXd* m : {&a, &b, &c, &d}) {
        s.counts.push_back(opt.step_count(*m));
        if (opt.has_state(*m)) s.moments.emplace_back(opt.state(*m, "exp_avg"));
      }
      return s;
    };
    const Snapshot before = take();
    Eigen::MatrixXd e = Eigen::MatrixXd::Ones(3, 3), ge = Eigen::MatrixXd::Ones(3, 3);
    int failed = 0;
    fail_after = k;
    try {
      opt.step();
    } catch (const std::bad_alloc&) {
      failed = 1;
    }
    if (failed == 0) {
      try {
        opt.add(e, ge);
      } catch (const std::bad_alloc&) {
        failed = 2;
      }
    }
    fail_after = -1;
    if (failed == 0) break;
    INFO("allocation #" << k << " failed in " << (failed == 1 ? "step()" : "add()"));
    if (failed == 1) CHECK(take() == before);
    if (failed == 2) CHECK(opt.num_registered() == 3);
    // And the optimizer works on from there (a second step if add() failed).
    opt.step();
    const std::int64_t steps = failed == 1 ? 1 : 2;
    CHECK(opt.step_count(a) == 1 + steps);  // a's own count, now in b's old buffer
    CHECK(opt.step_count(b) == 1 + steps);
    CHECK(opt.step_count(c) == steps);
    REQUIRE(k < 1000);
  }
}

#endif  // __SANITIZE_ADDRESS__
