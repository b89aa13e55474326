// Minibatch training with the layer set allocates nothing per batch once the
// first epoch has sized every buffer. This binary replaces the global
// operator new and malloc to count every heap allocation, as
// test_allocations.cpp does.
#if defined(__GNUC__) && !defined(__clang__)
// GCC cannot see that the replaced operator new below uses malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "catch.hpp"
#include "descend/descend.hpp"
#include "descend/nn.hpp"

#if defined(__SANITIZE_ADDRESS__)
TEST_CASE("allocation counting of the layer set is skipped under AddressSanitizer",
          "[allocations][nn]") {
  SUCCEED("built with AddressSanitizer: see the default build's test_nn_allocations");
}
#else

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Eigen allocates its dynamic matrices with malloc, not operator new, so
// malloc and friends are counted too (glibc's own implementations stay
// reachable as __libc_*).
#if defined(__GLIBC__)
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

using Index = Eigen::Index;

// Allocations made by `repeats` calls of f after a first, warming call.
template <class F>
long allocations_after_first(F&& f, int repeats = 5) {
  f();
  const long before = allocations.load();
  for (int i = 0; i < repeats; ++i) f();
  return allocations.load() - before;
}

// n samples of 3 blobs in the plane.
template <class Scalar>
descend::data::Samples<Scalar> blobs(Index n) {
  descend::data::Random random(2);
  descend::data::Samples<Scalar> s{typename descend::data::Samples<Scalar>::Inputs(n, 2),
                                   Eigen::VectorXi(n)};
  for (Index i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 3);
    s.inputs(i, 0) = Scalar(c + 0.5 * random.normal());
    s.inputs(i, 1) = Scalar(-c + 0.5 * random.normal());
    s.labels(i) = c;
  }
  return s;
}

// The mnist example's loop on a small network: Dense(2, 16) ReLU Dense(16, 3),
// softmax cross-entropy, Adam through step(); an epoch shuffles, trains on
// every batch, and evaluates a validation set in chunks of `chunk` rows
// through predict() into buffers allocated once.
template <class Scalar>
struct Loop {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  descend::data::Samples<Scalar> train, valid;
  descend::data::Minibatches<Scalar> batches;
  descend::data::Random random{3};
  descend::nn::Dense<Scalar> d1{2, 16, random, descend::nn::Init::torch_default},
      d2{16, 3, random, descend::nn::Init::torch_default};
  descend::nn::Relu<Scalar> relu;
  descend::nn::SoftmaxCrossEntropy<Scalar> head;
  descend::Adam<Scalar> adam;
  Index chunk;
  Matrix hidden, logits;  // the evaluation's buffers

  Loop(Index n_train, Index batch, bool drop_last, Index n_valid = 50, Index chunk_rows = 16)
      : train(blobs<Scalar>(n_train)),
        valid(blobs<Scalar>(n_valid)),
        batches(train, batch, drop_last),
        chunk(chunk_rows),
        hidden(chunk_rows, 16),
        logits(chunk_rows, 3) {
    adam.add(d1.weights(), d1.dweights());
    adam.add(d1.biases(), d1.dbiases());
    adam.add(d2.weights(), d2.dweights());
    adam.add(d2.biases(), d2.dbiases());
  }

  double epoch() {
    batches.shuffle(random);
    for (Index b = 0; b < batches.size(); ++b) {
      batches.load(b);
      head.forward(d2.forward(relu.forward(d1.forward(batches.inputs()))), batches.labels());
      d2.backward(head.backward(batches.labels()));
      d1.backward_params(relu.backward(d2.dinputs()));
      adam.step();
    }
    return evaluate().accuracy();
  }

  // Views in (consecutive rows of the samples), blocks of the buffers out.
  descend::nn::ClassificationSums evaluate() const {
    descend::nn::ClassificationSums sums;
    auto& h = const_cast<Matrix&>(hidden);
    auto& z = const_cast<Matrix&>(logits);
    for (Index first = 0; first < valid.size(); first += chunk) {
      const Index n = std::min(chunk, valid.size() - first);
      d1.predict(valid.inputs.middleRows(first, n), h.topRows(n));
      relu.predict(h.topRows(n), h.topRows(n));
      d2.predict(h.topRows(n), z.topRows(n));
      descend::nn::add_softmax_cross_entropy(z.topRows(n), valid.labels.segment(first, n), sums);
    }
    return sums;
  }
};

}  // namespace

TEST_CASE("the counter sees Eigen's allocations", "[allocations][nn]") {
  const long before = allocations.load();
  Eigen::MatrixXf m(30, 30);
  m.setZero();
  CHECK(allocations.load() > before);
}

TEMPLATE_TEST_CASE("minibatch epochs allocate nothing after the first when the batches are equal",
                   "[allocations][nn]", float, double) {
  // 96 = 3 x 32; and 100 with drop_last (3 batches of 32, 4 samples unused).
  Loop<TestType> equal(96, 32, false);
  CHECK(allocations_after_first([&] { equal.epoch(); }) == 0);
  Loop<TestType> dropped(100, 32, true);
  CHECK(allocations_after_first([&] { dropped.epoch(); }) == 0);
}

TEMPLATE_TEST_CASE("a smaller last batch costs the same allocations per epoch however many batches",
                   "[allocations][nn]", float, double) {
  // Eigen reallocates a buffer whose shape changes: the last batch (4 rows)
  // and the first of the next epoch (32) reshape the batch and layer
  // buffers, a fixed number per epoch, not one per batch.
  Loop<TestType> few(100, 32, false), many(964, 32, false);  // 4 and 31 batches
  const long per_epoch_few = allocations_after_first([&] { few.epoch(); }) / 5;
  const long per_epoch_many = allocations_after_first([&] { many.epoch(); }) / 5;
  CHECK(per_epoch_few == per_epoch_many);
  CHECK(per_epoch_few > 0);
  CHECK(per_epoch_few < 40);
}

TEMPLATE_TEST_CASE("evaluation in chunks through predict allocates nothing", "[allocations][nn]",
                   float, double) {
  // 50 validation rows in chunks of 16: 16, 16, 16 and 2, all as blocks.
  const Loop<TestType> loop(96, 32, false);
  double accuracy = 0;
  CHECK(allocations_after_first([&] { accuracy += loop.evaluate().accuracy(); }) == 0);
  CHECK(accuracy > 0);
}

#endif
