// add_transform() takes a transform's options (ClipGradNorm, NonFiniteGuard, ...).
// expect: error: static.assert.*descend: add_transform\(\) takes
#include <descend/descend.hpp>

int main() {
  descend::Sgd<float> sgd;
  sgd.add_transform(1.0);
}
