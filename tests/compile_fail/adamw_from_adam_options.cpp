// AdamW built from AdamOptions would silently lose AdamW's default weight decay.
// expect: error: static.assert.*descend: AdamW takes AdamWOptions
#include <descend/descend.hpp>

int main() {
  descend::AdamOptions options;
  options.lr = 0.1;
  descend::AdamW<float> adamw(options);
}
