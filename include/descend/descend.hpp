// descend: gradient-descent optimizers for Eigen. Umbrella header: the
// optimizers (descend/optim/...) and the small layer set and data generators
// of the examples (descend/nn.hpp).
#pragma once

#define DESCEND_VERSION_MAJOR 0
#define DESCEND_VERSION_MINOR 1
#define DESCEND_VERSION_PATCH 0

#include "descend/nn.hpp"
#include "descend/optim/adadelta.hpp"
#include "descend/optim/adagrad.hpp"
#include "descend/optim/adam.hpp"
#include "descend/optim/conventions.hpp"
#include "descend/optim/errors.hpp"
#include "descend/optim/optimizer.hpp"
#include "descend/optim/rmsprop.hpp"
#include "descend/optim/sgd.hpp"
