// Copying an optimizer would update the registered weights twice.
// expect: (use of deleted function|call to (implicitly-)?deleted (copy )?constructor).*Adam
#include <descend/descend.hpp>

int main() {
  descend::Adam<double> a;
  descend::Adam<double> b = a;
  (void)b;
}
