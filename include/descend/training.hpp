// descend's training toolkit, beside the optimizers (<descend/descend.hpp>):
// learning-rate schedules (schedules.hpp: PyTorch's lr_scheduler, numpy-ml's
// and the Mytorch tutorial's), gradient clipping (clip.hpp) and the
// non-finite guard (guard.hpp), and the Arena that keeps many parameters in one
// block (arena.hpp). Parameter groups, maximize and step()'s report
// are part of every optimizer. Each header can be included on its own; the
// optimizers include none of them.
#pragma once

#include "descend/descend.hpp"
#include "descend/optim/arena.hpp"
#include "descend/optim/clip.hpp"
#include "descend/optim/guard.hpp"
#include "descend/optim/schedules.hpp"
