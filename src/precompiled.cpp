// The optimizers for float and double, compiled once: the library behind
// descend::precompiled. Files that use it see DESCEND_PRECOMPILED and the
// headers' `extern template` declarations, so they compile only what depends
// on their own argument types.
#include "descend/descend.hpp"

namespace descend {
template class Optimizer<float>;
template class Optimizer<double>;
template class GroupedOptimizer<float, SgdOptions>;
template class GroupedOptimizer<double, SgdOptions>;
template class Sgd<float>;
template class Sgd<double>;
template class GroupedOptimizer<float, AdagradOptions>;
template class GroupedOptimizer<double, AdagradOptions>;
template class Adagrad<float>;
template class Adagrad<double>;
template class GroupedOptimizer<float, RmspropOptions>;
template class GroupedOptimizer<double, RmspropOptions>;
template class Rmsprop<float>;
template class Rmsprop<double>;
template class GroupedOptimizer<float, AdadeltaOptions>;
template class GroupedOptimizer<double, AdadeltaOptions>;
template class Adadelta<float>;
template class Adadelta<double>;
template class GroupedOptimizer<float, AdamOptions>;
template class GroupedOptimizer<double, AdamOptions>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;
template class GroupedOptimizer<float, RpropOptions>;
template class GroupedOptimizer<double, RpropOptions>;
template class Rprop<float>;
template class Rprop<double>;
template class GroupedOptimizer<float, AsgdOptions>;
template class GroupedOptimizer<double, AsgdOptions>;
template class Asgd<float>;
template class Asgd<double>;
template class GroupedOptimizer<float, LionOptions>;
template class GroupedOptimizer<double, LionOptions>;
template class Lion<float>;
template class Lion<double>;
template class GroupedOptimizer<float, NadamOptions>;
template class GroupedOptimizer<double, NadamOptions>;
template class Nadam<float>;
template class Nadam<double>;
template class GroupedOptimizer<float, RadamOptions>;
template class GroupedOptimizer<double, RadamOptions>;
template class Radam<float>;
template class Radam<double>;
template class GroupedOptimizer<float, AdamaxOptions>;
template class GroupedOptimizer<double, AdamaxOptions>;
template class Adamax<float>;
template class Adamax<double>;
}  // namespace descend
