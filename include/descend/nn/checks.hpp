// Argument checks shared by the layers and losses. Each costs a few integer
// comparisons (labels: a vectorised min and max); a message is built only on
// failure.
// Every check runs before a layer writes anything, so a call that throws
// leaves the layer as the last successful call left it.
#pragma once

#include <Eigen/Core>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace descend {
namespace nn {
namespace detail {

// One argument of fail(): a number or a string.
struct Arg {
  template <class Int, std::enable_if_t<std::is_integral<Int>::value, int> = 0>
  Arg(Int n) : number(static_cast<long long>(n)) {}
  Arg(const char* s) : text(s) {}
  const char* text = nullptr;
  long long number = 0;
};

// Throws std::invalid_argument("<who>: <what>"), each '%' of `what` replaced
// by the next argument. One formatter keeps each check's failure path to a
// call; paths to a noreturn call are cold, so it is not inlined into them.
[[noreturn]] inline void fail(const char* who, const char* what,
                              std::initializer_list<Arg> args = {}) {
  std::string text = std::string(who) + ": ";
  auto arg = args.begin();
  for (const char* c = what; *c; ++c) {
    if (*c != '%' || arg == args.end()) {
      text += *c;
    } else {
      text += arg->text ? std::string(arg->text) : std::to_string(arg->number);
      ++arg;
    }
  }
  throw std::invalid_argument(text);
}

// A batch has at least one sample (row) and one column: an empty batch would
// make every mean 0/0, and softmax's row maximum has nothing to read.
// `name_is` reads "input is", "logits are", ...
template <class M>
void check_batch(const M& m, const char* who, const char* name_is, const char* columns) {
  if (m.rows() == 0) fail(who, "% %x%: an empty batch", {name_is, m.rows(), m.cols()});
  if (m.cols() == 0) fail(who, "% %x%: no %", {name_is, m.rows(), m.cols(), columns});
}

// dL/doutput for the output of the last forward(). forward() never leaves an
// empty output, so an empty one means there was none.
template <class M>
void check_gradient(const M& output, const M& doutput, const char* who) {
  if (output.size() == 0) fail(who, "no forward() yet");
  if (doutput.rows() != output.rows() || doutput.cols() != output.cols())
    fail(who, "gradient is %x% but the last forward() gave a %x% output",
         {doutput.rows(), doutput.cols(), output.rows(), output.cols()});
}

// One class id in [0, p.cols()) per row of p.
template <class M>
void check_labels(const M& p, const Eigen::VectorXi& labels, const char* who, const char* name) {
  if (labels.size() != p.rows())
    fail(who, "% labels for % samples (% are %x%)",
         {labels.size(), p.rows(), name, p.rows(), p.cols()});
  // Two vectorised passes (Eigen's reductions use packets at any -O level);
  // the culprit is looked for only on failure.
  if (labels.size() == 0 || (labels.minCoeff() >= 0 && labels.maxCoeff() < p.cols())) return;
  Eigen::Index i = 0;
  while (labels(i) >= 0 && labels(i) < p.cols()) ++i;
  fail(who, "label % of sample % is not in [0, %)", {labels(i), i, p.cols()});
}

template <class M, class T>
void check_targets(const M& p, const T& targets, const char* who, const char* name) {
  if (targets.rows() != p.rows() || targets.cols() != p.cols())
    fail(who, "targets are %x% but % are %x%",
         {targets.rows(), targets.cols(), name, p.rows(), p.cols()});
}

}  // namespace detail
}  // namespace nn
}  // namespace descend
