// Every learning-rate schedule: step-driven (schedule.hpp, cyclic.hpp,
// decay.hpp) and fed a metric or the loss (plateau.hpp). No Eigen: a
// schedule sees an optimizer only as a ParamGroups.
#pragma once

#include "descend/optim/cyclic.hpp"
#include "descend/optim/decay.hpp"
#include "descend/optim/plateau.hpp"
#include "descend/optim/schedule.hpp"
