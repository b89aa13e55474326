// Once a parameter's state exists, updates allocate nothing: this binary
// replaces the global operator new to count every heap allocation.
#if defined(__GNUC__) && !defined(__clang__)
// GCC cannot see that the replaced operator new below uses malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <atomic>
#include "catch.hpp"
#include <cstdlib>
#include <new>
#include <vector>

#include "descend/nn.hpp"
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
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  ++allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  ++allocations;
  return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  ++allocations;
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  ++allocations;
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
  Matrix big = Matrix::Ones(50, 50);
  for_every_configuration<TestType>([&](descend::Optimizer<TestType>& opt) {
    CHECK(allocations_after_first([&] { opt.update(w, g); }) == 0);
    // A strided block, and a gradient that is an expression.
    CHECK(allocations_after_first(
              [&] { opt.update(big.block(3, 4, 20, 30), 2 * g.block(0, 0, 20, 30)); }) == 0);
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

#endif  // __SANITIZE_ADDRESS__
