// descend: gradient-descent optimizers for Eigen. Umbrella header for the
// optimizers (descend/optim/...). The layer set and data generators of the
// examples have their own: <descend/nn.hpp>.
#pragma once

// First: its #error names the language standard before anything else fails.
// clang-format off
#include "descend/version.hpp"
// clang-format on
#include "descend/optim/adadelta.hpp"
#include "descend/optim/adagrad.hpp"
#include "descend/optim/adam.hpp"
#include "descend/optim/adamax.hpp"
#include "descend/optim/asgd.hpp"
#include "descend/optim/conventions.hpp"
#include "descend/optim/errors.hpp"
#include "descend/optim/lbfgs.hpp"
#include "descend/optim/lion.hpp"
#include "descend/optim/nadam.hpp"
#include "descend/optim/optimizer.hpp"
#include "descend/optim/radam.hpp"
#include "descend/optim/rmsprop.hpp"
#include "descend/optim/rprop.hpp"
#include "descend/optim/sgd.hpp"
