// Labelled samples, one per row, and a seeded split into training and
// validation sets.
//   shuffle: Fisher-Yates, j = min(i, floor(u (i + 1))) for i = n-1 .. 1,
//            u from Random::uniform(), so a seed gives one order everywhere.
//   split:   the last `validation` indices of a shuffle of 0..n-1 are the
//            validation set; both sets keep the rows' original order.
// The inputs are row-major: a sample is contiguous, so gathering a shuffled
// minibatch (data/minibatch.hpp) reads whole rows, and consecutive samples
// are a block that the layers' predict() takes as a view.
// Checks throw std::invalid_argument.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "descend/data/random.hpp"

namespace descend {
namespace data {

template <class Scalar>
struct Samples {
  using Inputs = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Inputs inputs;           // one sample per row
  Eigen::VectorXi labels;  // its class id
  Eigen::Index size() const { return inputs.rows(); }
};

// A uniformly random permutation of `order`, in place.
inline void shuffle(std::vector<Eigen::Index>& order, Random& random) {
  for (std::size_t i = order.size(); i-- > 1;) {
    const auto j =
        std::min(i, static_cast<std::size_t>(random.uniform() * static_cast<double>(i + 1)));
    std::swap(order[i], order[j]);
  }
}

namespace detail {
template <class Scalar>
void check_samples(const Samples<Scalar>& s, const char* who) {
  if (s.labels.size() != s.inputs.rows())
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(s.labels.size()) +
                                " labels for " + std::to_string(s.inputs.rows()) + " samples");
}

template <class Scalar>
Samples<Scalar> gather(const Samples<Scalar>& all, const std::vector<Eigen::Index>& rows) {
  Samples<Scalar> out{
      typename Samples<Scalar>::Inputs(static_cast<Eigen::Index>(rows.size()), all.inputs.cols()),
      Eigen::VectorXi(static_cast<Eigen::Index>(rows.size()))};
  for (std::size_t k = 0; k < rows.size(); ++k) {
    out.inputs.row(static_cast<Eigen::Index>(k)) = all.inputs.row(rows[k]);
    out.labels(static_cast<Eigen::Index>(k)) = all.labels(rows[k]);
  }
  return out;
}
}  // namespace detail

// {training, validation}: `validation` samples drawn at random for
// validation, the others for training (copies, made once). 0 <= validation
// < all.size(): training keeps at least one sample.
template <class Scalar>
std::pair<Samples<Scalar>, Samples<Scalar>> split(const Samples<Scalar>& all,
                                                  Eigen::Index validation, Random& random) {
  constexpr const char* who = "descend::data::split";
  detail::check_samples(all, who);
  if (validation < 0 || validation >= all.size())
    throw std::invalid_argument(std::string(who) + ": validation = " + std::to_string(validation) +
                                " must be in [0, " + std::to_string(all.size()) + ") for " +
                                std::to_string(all.size()) + " samples");
  std::vector<Eigen::Index> order(static_cast<std::size_t>(all.size()));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  shuffle(order, random);
  const auto cut = order.end() - validation;
  std::vector<Eigen::Index> train(order.begin(), cut), valid(cut, order.end());
  std::sort(train.begin(), train.end());
  std::sort(valid.begin(), valid.end());
  return {detail::gather(all, train), detail::gather(all, valid)};
}

}  // namespace data
}  // namespace descend
