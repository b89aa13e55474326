// Minibatches of a set of samples in a seeded order per epoch.
//
// A shuffled minibatch is a set of rows scattered over the data, which no
// view (Block, Map, Ref) can describe, and the layers' products want a
// contiguous batch: load() gathers the rows into a batch buffer that is
// allocated once (as the first batch of that size is loaded) and then
// reused, so training allocates nothing per batch. What a view can describe,
// consecutive rows, is what evaluation uses: pass samples.inputs.middleRows()
// to the layers' predict().
//
// An epoch of n samples has ceil(n / batch_size) batches, the last holding
// the n mod batch_size left over (PyTorch's DataLoader), or floor(n /
// batch_size) with drop_last. The buffers, and the layers' own, change shape
// for a smaller last batch, which Eigen reallocates: with drop_last, or a
// batch size that divides n, no batch of any epoch after the first
// allocates.
// Checks throw std::invalid_argument.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "descend/data/random.hpp"
#include "descend/data/samples.hpp"

namespace descend {
namespace data {

template <class Scalar>
class Minibatches {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  // as the layers take

  // Keeps a reference to `samples`, which must outlive this object. The
  // order starts as the samples' own until the first shuffle().
  Minibatches(const Samples<Scalar>& samples, Eigen::Index batch_size, bool drop_last = false)
      : samples_(samples), batch_size_(batch_size) {
    constexpr const char* who = "descend::data::Minibatches";
    detail::check_samples(samples, who);
    if (batch_size < 1)
      throw std::invalid_argument(std::string(who) +
                                  ": batch_size = " + std::to_string(batch_size) + " must be >= 1");
    if (drop_last && batch_size > samples.size())
      throw std::invalid_argument(
          std::string(who) + ": batch_size = " + std::to_string(batch_size) +
          " with drop_last leaves no batch of " + std::to_string(samples.size()) + " samples");
    if (samples.size() == 0) throw std::invalid_argument(std::string(who) + ": no samples");
    count_ =
        drop_last ? samples.size() / batch_size : (samples.size() + batch_size - 1) / batch_size;
    order_.resize(static_cast<std::size_t>(samples.size()));
    std::iota(order_.begin(), order_.end(), Eigen::Index{0});
  }
  Minibatches(const Samples<Scalar>&&, Eigen::Index, bool = false) = delete;

  // A new order for the next epoch: a shuffle of the current one, so a seed
  // and the number of epochs so far fix it.
  void shuffle(Random& random) { data::shuffle(order_, random); }

  Eigen::Index size() const { return count_; }  // batches per epoch
  Eigen::Index batch_size() const { return batch_size_; }

  // Gathers batch b of the current order, samples order()[b batch_size ...],
  // into inputs() and labels().
  void load(Eigen::Index b) {
    if (b < 0 || b >= count_)
      throw std::invalid_argument("descend::data::Minibatches::load: batch " + std::to_string(b) +
                                  " is not in [0, " + std::to_string(count_) + ")");
    const Eigen::Index first = b * batch_size_;
    const Eigen::Index n = std::min(batch_size_, samples_.size() - first);
    inputs_.resize(n, samples_.inputs.cols());  // no allocation when the shape is the same
    labels_.resize(n);
    const Eigen::Index* rows = order_.data() + first;
    for (Eigen::Index k = 0; k < n; ++k) labels_(k) = samples_.labels(rows[k]);
    // A sample is a contiguous row of the row-major samples but a strided row
    // of the column-major batch: copied row by row, each value is stored to
    // another cache line of the batch. In blocks of kBlock rows copied column
    // by column, each column's kBlock values are 64 contiguous bytes of the
    // batch (one cache line where the batch is 64-byte aligned, as Eigen
    // aligns it with AVX-512) while the kBlock source rows are read as
    // forward streams. On Fashion-MNIST's 128 x 784 float batches that is
    // 0.05-0.06 s per epoch against 0.15 s row by row, at -O2 and at -O3
    // -march=native; blocks of 8 to 32 rows, column tiles and prefetching
    // were measured too (bench/results/mnist-epoch.md).
    constexpr Eigen::Index kBlock =
        std::max(Eigen::Index{1}, static_cast<Eigen::Index>(64 / sizeof(Scalar)));
    const Scalar* from[kBlock];
    for (Eigen::Index k0 = 0; k0 < n; k0 += kBlock) {
      const Eigen::Index m = std::min(kBlock, n - k0);
      for (Eigen::Index i = 0; i < m; ++i) from[i] = samples_.inputs.row(rows[k0 + i]).data();
      for (Eigen::Index j = 0; j < inputs_.cols(); ++j) {
        Scalar* to = &inputs_(k0, j);
        for (Eigen::Index i = 0; i < m; ++i) to[i] = from[i][j];
      }
    }
  }
  const Matrix& inputs() const { return inputs_; }
  const Eigen::VectorXi& labels() const { return labels_; }
  const std::vector<Eigen::Index>& order() const { return order_; }

 private:
  const Samples<Scalar>& samples_;
  Eigen::Index batch_size_, count_ = 0;
  std::vector<Eigen::Index> order_;
  Matrix inputs_;
  Eigen::VectorXi labels_;
};

}  // namespace data
}  // namespace descend
