// descend's small layer set and data generators (used by the examples).
// Independent of the optimizers: nothing here includes descend/optim.
#pragma once

#include "descend/data/linear.hpp"
#include "descend/data/minibatch.hpp"
#include "descend/data/random.hpp"
#include "descend/data/samples.hpp"
#include "descend/data/spiral.hpp"
#include "descend/nn/activations.hpp"
#include "descend/nn/dense.hpp"
#include "descend/nn/early_stopping.hpp"
#include "descend/nn/losses.hpp"
#include "descend/version.hpp"
