// Argument checks shared by the layers and losses. Each costs a few integer
// comparisons (labels: a vectorised min and max); a message is built only on
// failure.
// Every check runs before a layer writes anything, so a call that throws
// leaves the layer as the last successful call left it.
#pragma once

#include <Eigen/Core>
#include <stdexcept>
#include <string>

namespace descend {
namespace nn {
namespace detail {

inline std::string shape(Eigen::Index rows, Eigen::Index cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}
template <class M>
std::string shape(const M& m) {
  return shape(m.rows(), m.cols());
}

[[noreturn]] inline void fail(const char* who, const std::string& what) {
  throw std::invalid_argument(std::string(who) + ": " + what);
}

// A batch has at least one sample (row) and one column: an empty batch would
// make every mean 0/0, and softmax's row maximum has nothing to read.
// `name_is` reads "input is", "logits are", ...
template <class M>
void check_batch(const M& m, const char* who, const char* name_is, const char* columns) {
  if (m.rows() == 0) fail(who, std::string(name_is) + " " + shape(m) + ": an empty batch");
  if (m.cols() == 0) fail(who, std::string(name_is) + " " + shape(m) + ": no " + columns);
}

// dL/doutput for the output of the last forward(). forward() never leaves an
// empty output, so an empty one means there was none.
template <class M>
void check_gradient(const M& output, const M& doutput, const char* who) {
  if (output.size() == 0) fail(who, "no forward() yet");
  if (doutput.rows() != output.rows() || doutput.cols() != output.cols())
    fail(who, "gradient is " + shape(doutput) + " but the last forward() gave a " + shape(output) +
                  " output");
}

// One class id in [0, p.cols()) per row of p.
template <class M>
void check_labels(const M& p, const Eigen::VectorXi& labels, const char* who, const char* name) {
  if (labels.size() != p.rows())
    fail(who, std::to_string(labels.size()) + " labels for " + std::to_string(p.rows()) +
                  " samples (" + name + " are " + shape(p) + ")");
  // Two vectorised passes (Eigen's reductions use packets at any -O level);
  // the culprit is looked for only on failure.
  if (labels.size() == 0 || (labels.minCoeff() >= 0 && labels.maxCoeff() < p.cols())) return;
  Eigen::Index i = 0;
  while (labels(i) >= 0 && labels(i) < p.cols()) ++i;
  fail(who, "label " + std::to_string(labels(i)) + " of sample " + std::to_string(i) +
                " is not in [0, " + std::to_string(p.cols()) + ")");
}

template <class M, class T>
void check_targets(const M& p, const T& targets, const char* who, const char* name) {
  if (targets.rows() != p.rows() || targets.cols() != p.cols())
    fail(who, "targets are " + shape(targets) + " but " + name + " are " + shape(p));
}

}  // namespace detail
}  // namespace nn
}  // namespace descend
