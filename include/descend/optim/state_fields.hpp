// What a checkpoint (checkpoint.hpp) reads and writes of the objects around
// an optimizer: a schedule's last_epoch, base lrs and counters, a gradient
// transform's counts, a parameter group's options. Each such object lists its
// state as named fields, in a fixed order, to a StateFields; the checkpoint's
// writer stores what it is shown and its reader assigns what it stored.
//
// A reader is run twice over the same object: first with checking() true,
// when it only verifies that every field is there with the right type (and a
// vector the right size, where the object says so) and assigns nothing; then
// with checking() false, when it assigns. An object whose values must also
// make sense together checks them after that (ScheduleBase::check_state());
// if they do not, the checkpoint puts back what the object held before.
//
// Plain types and no JSON: the optimizer and schedule headers include this one
// only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace descend {

class StateFields {
 public:
  virtual ~StateFields() = default;

  // True while a reader only checks (and assigns nothing); false for a writer.
  virtual bool checking() const = 0;

  virtual void field(const char* name, double& value) = 0;
  virtual void field(const char* name, std::int64_t& value) = 0;
  virtual void field(const char* name, std::size_t& value) = 0;
  virtual void field(const char* name, bool& value) = 0;
  // A list of numbers; `size` (when not -1) is the only size a reader accepts.
  virtual void field(const char* name, std::vector<double>& values, std::int64_t size = -1) = 0;
  // A pair stored as a list of two (PyTorch's betas, etas, step_sizes).
  virtual void field(const char* name, double& first, double& second) = 0;
  // An enumeration, stored by the name of its value: `names` lists them in
  // the order of their values (0, 1, ...), and a reader refuses any other.
  virtual void choice(const char* name, int& value, const char* const* names,
                      std::size_t count) = 0;

  // The fields of a nested object (SequentialLR's schedules) go between
  // enter(name, index) and leave().
  virtual void enter(const char* name, std::size_t index) = 0;
  virtual void leave() = 0;

  // An enum field through choice().
  template <class Enum, std::size_t N>
  void choice(const char* name, Enum& value, const char* const (&names)[N]) {
    int v = static_cast<int>(value);
    choice(name, v, names, N);
    if (!checking()) value = static_cast<Enum>(v);
  }
};

}  // namespace descend
