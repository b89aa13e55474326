// The C++ half of the checkpoint interoperability test with PyTorch
// (tests/reference/checkpoint_interop.py drives it; ctest entry
// checkpoint_interop).
//
//   checkpoint_interop save   CONFIG DIR   20 steps; DIR/descend.ckpt and the
//                                          parameters DIR/descend_params_20.bin;
//                                          30 more steps; DIR/descend_params_50.bin
//                                          and the state DIR/descend_50.ckpt
//   checkpoint_interop resume CONFIG DIR   the parameters DIR/torch_params_20.bin
//                                          and the checkpoint DIR/torch.ckpt
//                                          (written by Python), 30 steps;
//                                          DIR/resumed_params_50.bin and the
//                                          state DIR/resumed_50.ckpt
//   checkpoint_interop list                the configs, one a line
//
// The problem, in double, computed element by element with the same IEEE
// operations as the Python side (so the two can agree to rounding): W (3x4)
// and b (4, PyTorch's 1-d), coefficient k = 4 r + c of W and k = 12 + i of b,
//   w_0 = 0.3 k - 1.1
//   g   = c_k (w - t_k) + 0.1 w w,   c_k = 0.5 + 0.25 k,   t_k = 0.2 k - 1.1
// (x86-64 without -march has no FMA to contract these into).
// A parameter file is 16 little-endian doubles: W row-major, then b.
//
// `resume` builds its optimizer with default options but for those that
// decide the state buffers (momentum != 0, centered, amsgrad): every other
// hyper-parameter must come from PyTorch's file. A config with a second group
// puts b in it (W stays in group 0, so descend's registration indices are
// torch's state_dict indices); `resume` makes that group with the same
// default options.
//
// NAdam: descend's running product is later PyTorch's, not 1.13's (nadam.hpp);
// the two give the same bits only where both products P_t mu_{t+1} and
// P_t mu_t mu_{t+1} are below 2^-54, so that 1 minus either rounds to 1. The
// NAdam configs choose beta1 so that this holds from update 21 on, the
// updates either side continues (checkpoint_interop.py checks it).
#include <Eigen/Core>
#include <algorithm>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "descend/checkpoint.hpp"
#include "descend/descend.hpp"
#include "helpers.hpp"

namespace {

using Opt = descend::Optimizer<double>;

struct Model {
  Eigen::MatrixXd w = Eigen::MatrixXd(3, 4), gw = Eigen::MatrixXd::Zero(3, 4);
  Eigen::VectorXd b = Eigen::VectorXd(4), gb = Eigen::VectorXd::Zero(4);

  static int index(Eigen::Index r, Eigen::Index c) { return static_cast<int>(4 * r + c); }

  Model() {
    for (Eigen::Index r = 0; r < 3; ++r)
      for (Eigen::Index c = 0; c < 4; ++c) w(r, c) = 0.3 * index(r, c) - 1.1;
    for (Eigen::Index i = 0; i < 4; ++i) b(i) = 0.3 * (12 + static_cast<int>(i)) - 1.1;
  }

  static double gradient(double x, int k) {
    const double c = 0.5 + 0.25 * k, t = 0.2 * k - 1.1;
    return c * (x - t) + 0.1 * x * x;  // g = c (w - t) + 0.1 w²
  }
  void gradients() {
    for (Eigen::Index r = 0; r < 3; ++r)
      for (Eigen::Index c = 0; c < 4; ++c) gw(r, c) = gradient(w(r, c), index(r, c));
    for (Eigen::Index i = 0; i < 4; ++i) gb(i) = gradient(b(i), 12 + static_cast<int>(i));
  }

  void write(const std::string& path) const {
    double out[16];
    for (Eigen::Index r = 0; r < 3; ++r)
      for (Eigen::Index c = 0; c < 4; ++c) out[index(r, c)] = w(r, c);
    for (Eigen::Index i = 0; i < 4; ++i) out[12 + i] = b(i);
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out), sizeof out);
    if (!f) throw std::runtime_error("cannot write " + path);
  }
  void read(const std::string& path) {
    double in[16];
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(in), sizeof in);
    if (!f || f.peek() != std::ifstream::traits_type::eof())
      throw std::runtime_error(path + " is not 16 doubles");
    for (Eigen::Index r = 0; r < 3; ++r)
      for (Eigen::Index c = 0; c < 4; ++c) w(r, c) = in[index(r, c)];
    for (Eigen::Index i = 0; i < 4; ++i) b(i) = in[12 + i];
  }
};

// The same hyper-parameters as CONFIGS in checkpoint_interop.py, which checks
// them against the param_groups of descend's file; in tests/helpers.hpp's
// option text (an option left out keeps descend's default). `structural`:
// the options that decide the state buffers, all `resume` gets.
struct Config {
  const char* name;
  const char* optimizer;
  const char* options;
  const char* structural;
  const char* group1 = nullptr;  // b's group's options over `options`; none: b in group 0
};

const Config kConfigs[] = {
    {"sgd_momentum", "sgd", "lr=0.05 momentum=0.9 dampening=0 nesterov=0 weight_decay=0",
     "momentum=0.5"},
    {"sgd_nesterov", "sgd", "lr=0.03 momentum=0.8 dampening=0 nesterov=1 weight_decay=0.01",
     "momentum=0.5"},
    {"sgd_dampening", "sgd", "lr=0.04 momentum=0.7 dampening=0.3 nesterov=0 weight_decay=0.02",
     "momentum=0.5"},
    {"adagrad", "adagrad",
     "lr=0.2 lr_decay=0.01 weight_decay=0.01 initial_accumulator_value=0.1 eps=1e-8", ""},
    {"rmsprop", "rmsprop", "lr=0.02 alpha=0.9 eps=1e-6 weight_decay=0.01 momentum=0 centered=0",
     ""},
    {"rmsprop_centered_momentum", "rmsprop",
     "lr=0.005 alpha=0.95 eps=1e-7 weight_decay=0.02 momentum=0.5 centered=1",
     "momentum=0.5 centered=1"},
    {"adadelta", "adadelta", "lr=0.5 rho=0.8 eps=1e-5 weight_decay=0.01", ""},
    {"adam", "adam", "lr=0.02 beta1=0.8 beta2=0.99 eps=1e-7 weight_decay=0.01 amsgrad=0", ""},
    {"amsgrad", "adam", "lr=0.02 beta1=0.85 beta2=0.995 eps=1e-6 weight_decay=0.005 amsgrad=1",
     "amsgrad=1"},
    {"adamw", "adamw", "lr=0.01 beta1=0.85 beta2=0.98 eps=1e-7 weight_decay=0.05 amsgrad=0", ""},
    {"adamw_amsgrad", "adamw", "lr=0.015 beta1=0.7 beta2=0.97 eps=1e-6 weight_decay=0.1 amsgrad=1",
     "amsgrad=1"},
    // The optimizers tests/helpers.hpp's make_optimizer does not build (make() below).
    {"nadam", "nadam",
     "lr=0.01 beta1=0.3 beta2=0.99 eps=1e-7 weight_decay=0.01 momentum_decay=0.004", ""},
    {"nadam_groups", "nadam",
     "lr=0.02 beta1=0.25 beta2=0.95 eps=1e-6 weight_decay=0 momentum_decay=0.05", "",
     "lr=0.005 beta1=0.2 beta2=0.999 weight_decay=0.02 momentum_decay=0.01"},
    {"radam", "radam", "lr=0.01 beta1=0.85 beta2=0.95 eps=1e-7 weight_decay=0.01", ""},
    {"radam_rectified_after_resume", "radam",
     "lr=0.02 beta1=0.8 beta2=0.6669 eps=1e-6 weight_decay=0", "",
     "lr=0.01 beta1=0.9 beta2=0.999 eps=1e-8 weight_decay=0.05"},
    {"adamax", "adamax", "lr=0.02 beta1=0.85 beta2=0.99 eps=1e-7 weight_decay=0.01 maximize=0", ""},
    {"adamax_maximize_groups", "adamax",
     "lr=0.01 beta1=0.8 beta2=0.995 eps=1e-6 weight_decay=0 maximize=1", "",
     "lr=0.005 beta1=0.9 beta2=0.98 weight_decay=0.02 maximize=1"},
    {"rprop", "rprop",
     "lr=0.02 etaminus=0.4 etaplus=1.3 step_size_min=1e-5 step_size_max=0.5 maximize=0", ""},
    {"rprop_maximize_groups", "rprop",
     "lr=0.003 etaminus=0.6 etaplus=1.1 step_size_min=1e-4 step_size_max=0.05 maximize=1", "",
     "lr=0.001 etaminus=0.3 etaplus=1.4 step_size_min=1e-6 step_size_max=0.02 maximize=1"},
    {"asgd", "asgd", "lr=0.01 lambd=0.01 alpha=0.6 t0=5 weight_decay=0.01 maximize=0", ""},
    {"asgd_maximize_groups", "asgd",
     "lr=0.004 lambd=0.001 alpha=0.8 t0=30 weight_decay=0 maximize=1", "",
     "lr=0.002 lambd=0.05 alpha=0.5 t0=10 weight_decay=0.03 maximize=1"},
};

// The config's optimizer over m's W and b; `text` its group 0's options,
// `group1` b's group's over them (null: b in group 0).
template <class Optimizer, class Options>
std::unique_ptr<Opt> grouped(const char* text, const char* group1, Model& m) {
  Options options;
  testing::read_options(testing::parse_options(text), options);
  auto opt = std::make_unique<Optimizer>(options);
  opt->add("W", m.w, m.gw);
  std::size_t group = 0;
  if (group1 != nullptr) {
    testing::read_options(testing::parse_options(group1), options);
    group = opt->add_group(options);
  }
  opt->add("b", m.b, m.gb, group);
  return opt;
}

std::unique_ptr<Opt> make(const Config& c, bool save, Model& m) {
  const char* text = save ? c.options : c.structural;
  const char* group1 = c.group1 == nullptr ? nullptr : save ? c.group1 : "";
  const std::string kind = c.optimizer;
  if (kind == "nadam")
    return grouped<descend::Nadam<double>, descend::NadamOptions>(text, group1, m);
  if (kind == "radam")
    return grouped<descend::Radam<double>, descend::RadamOptions>(text, group1, m);
  if (kind == "adamax")
    return grouped<descend::Adamax<double>, descend::AdamaxOptions>(text, group1, m);
  if (kind == "rprop")
    return grouped<descend::Rprop<double>, descend::RpropOptions>(text, group1, m);
  if (kind == "asgd") return grouped<descend::Asgd<double>, descend::AsgdOptions>(text, group1, m);
  if (c.group1 != nullptr)
    throw std::invalid_argument(std::string(c.name) + ": no groups for " + kind);
  auto opt = testing::make_optimizer<double>(kind, text);
  opt->add("W", m.w, m.gw);
  opt->add("b", m.b, m.gb);
  return opt;
}

void run(Opt& opt, Model& m, int steps) {
  for (int s = 0; s < steps; ++s) {
    m.gradients();
    opt.step();
  }
}

int usage() {
  std::cerr << "usage: checkpoint_interop save|resume CONFIG DIR, or checkpoint_interop list\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::string(argv[1]) == "list") {
      std::set<std::string> names;  // listed by name
      for (const Config& c : kConfigs) names.insert(c.name);
      for (const std::string& name : names) std::cout << name << "\n";
      return 0;
    }
    if (argc != 4) return usage();
    const std::string command = argv[1], dir = argv[3];
    const auto config =
        std::find_if(std::begin(kConfigs), std::end(kConfigs),
                     [&](const Config& c) { return c.name == std::string(argv[2]); });
    if (config == std::end(kConfigs)) {
      std::cerr << "checkpoint_interop: no config '" << argv[2] << "'\n";
      return 2;
    }
    if (command != "save" && command != "resume") return usage();
    const bool save = command == "save";
    Model m;
    auto opt = make(*config, save, m);
    if (save) {
      run(*opt, m, 20);
      descend::save_checkpoint(dir + "/descend.ckpt", *opt);
      m.write(dir + "/descend_params_20.bin");
      run(*opt, m, 30);
      m.write(dir + "/descend_params_50.bin");
      descend::save_checkpoint(dir + "/descend_50.ckpt", *opt);
    } else {
      m.read(dir + "/torch_params_20.bin");
      descend::load_checkpoint(dir + "/torch.ckpt", *opt);
      run(*opt, m, 30);
      m.write(dir + "/resumed_params_50.bin");
      descend::save_checkpoint(dir + "/resumed_50.ckpt", *opt);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "checkpoint_interop: " << e.what() << "\n";
    return 1;
  }
}
