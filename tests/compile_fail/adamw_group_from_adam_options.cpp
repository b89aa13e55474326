// An AdamW group from AdamOptions would silently lose AdamW's default weight decay.
// expect: error: static.assert.*descend: AdamW's groups take AdamWOptions
#include <descend/descend.hpp>

int main() {
  descend::AdamW<float> adamw;
  descend::AdamOptions options;
  adamw.add_group(options);
}
