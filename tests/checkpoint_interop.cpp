// The C++ half of the checkpoint interoperability test with PyTorch
// (tests/reference/checkpoint_interop.py drives it; ctest entry
// checkpoint_interop).
//
//   checkpoint_interop save   CONFIG DIR   20 steps; DIR/descend.ckpt and the
//                                          parameters DIR/descend_params_20.bin;
//                                          30 more steps; DIR/descend_params_50.bin
//   checkpoint_interop resume CONFIG DIR   the parameters DIR/torch_params_20.bin
//                                          and the checkpoint DIR/torch.ckpt
//                                          (written by Python), 30 steps;
//                                          DIR/resumed_params_50.bin
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
// hyper-parameter must come from PyTorch's file.
#include <Eigen/Core>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "descend/checkpoint.hpp"
#include "descend/descend.hpp"

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

// A config: its optimizer with the test's hyper-parameters (`full`), or with
// defaults but for the options that decide the state buffers.
using Make = std::function<std::unique_ptr<Opt>(bool full)>;

template <class O, class Options>
std::unique_ptr<Opt> make(const Options& full, const Options& structural, bool use_full) {
  return std::make_unique<O>(use_full ? full : structural);
}

descend::SgdOptions sgd(double lr, double momentum, double dampening, bool nesterov,
                        double weight_decay) {
  descend::SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.dampening = dampening;
  o.nesterov = nesterov;
  o.weight_decay = weight_decay;
  return o;
}

descend::SgdOptions sgd_structural() {
  descend::SgdOptions o;
  o.momentum = 0.5;
  return o;
}

descend::RmspropOptions rmsprop(double lr, double alpha, double eps, double weight_decay,
                                double momentum, bool centered) {
  descend::RmspropOptions o;
  o.lr = lr;
  o.alpha = alpha;
  o.eps = eps;
  o.weight_decay = weight_decay;
  o.momentum = momentum;
  o.centered = centered;
  return o;
}

descend::RmspropOptions rmsprop_structural(bool momentum, bool centered) {
  descend::RmspropOptions o;
  o.momentum = momentum ? 0.5 : 0.0;
  o.centered = centered;
  return o;
}

descend::AdamOptions adam(double lr, double beta1, double beta2, double eps, double weight_decay,
                          bool amsgrad) {
  descend::AdamOptions o;
  o.lr = lr;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  o.weight_decay = weight_decay;
  o.amsgrad = amsgrad;
  return o;
}

descend::AdamWOptions adamw(double lr, double beta1, double beta2, double eps, double weight_decay,
                            bool amsgrad) {
  descend::AdamWOptions o;
  o.lr = lr;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  o.weight_decay = weight_decay;
  o.amsgrad = amsgrad;
  return o;
}

// The same hyper-parameters as CONFIGS in checkpoint_interop.py, which checks
// them against the param_groups of descend's file.
const std::map<std::string, Make>& configs() {
  static const std::map<std::string, Make> all = {
      {"sgd_momentum",
       [](bool full) {
         return make<descend::Sgd<double>>(sgd(0.05, 0.9, 0, false, 0), sgd_structural(), full);
       }},
      {"sgd_nesterov",
       [](bool full) {
         return make<descend::Sgd<double>>(sgd(0.03, 0.8, 0, true, 0.01), sgd_structural(), full);
       }},
      {"sgd_dampening",
       [](bool full) {
         return make<descend::Sgd<double>>(sgd(0.04, 0.7, 0.3, false, 0.02), sgd_structural(),
                                           full);
       }},
      {"adagrad",
       [](bool full) {
         descend::AdagradOptions o;
         o.lr = 0.2;
         o.lr_decay = 0.01;
         o.weight_decay = 0.01;
         o.initial_accumulator_value = 0.1;
         o.eps = 1e-8;
         return make<descend::Adagrad<double>>(o, descend::AdagradOptions{}, full);
       }},
      {"rmsprop",
       [](bool full) {
         return make<descend::Rmsprop<double>>(rmsprop(0.02, 0.9, 1e-6, 0.01, 0, false),
                                               rmsprop_structural(false, false), full);
       }},
      {"rmsprop_centered_momentum",
       [](bool full) {
         return make<descend::Rmsprop<double>>(rmsprop(0.005, 0.95, 1e-7, 0.02, 0.5, true),
                                               rmsprop_structural(true, true), full);
       }},
      {"adadelta",
       [](bool full) {
         descend::AdadeltaOptions o;
         o.lr = 0.5;
         o.rho = 0.8;
         o.eps = 1e-5;
         o.weight_decay = 0.01;
         return make<descend::Adadelta<double>>(o, descend::AdadeltaOptions{}, full);
       }},
      {"adam",
       [](bool full) {
         return make<descend::Adam<double>>(adam(0.02, 0.8, 0.99, 1e-7, 0.01, false),
                                            descend::AdamOptions{}, full);
       }},
      {"amsgrad",
       [](bool full) {
         return make<descend::Adam<double>>(adam(0.02, 0.85, 0.995, 1e-6, 0.005, true),
                                            adam(1e-3, 0.9, 0.999, 1e-8, 0, true), full);
       }},
      {"adamw",
       [](bool full) {
         return make<descend::AdamW<double>>(adamw(0.01, 0.85, 0.98, 1e-7, 0.05, false),
                                             descend::AdamWOptions{}, full);
       }},
      {"adamw_amsgrad",
       [](bool full) {
         return make<descend::AdamW<double>>(adamw(0.015, 0.7, 0.97, 1e-6, 0.1, true),
                                             adamw(1e-3, 0.9, 0.999, 1e-8, 1e-2, true), full);
       }},
  };
  return all;
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
      for (const auto& c : configs()) std::cout << c.first << "\n";
      return 0;
    }
    if (argc != 4) return usage();
    const std::string command = argv[1], dir = argv[3];
    const auto config = configs().find(argv[2]);
    if (config == configs().end()) {
      std::cerr << "checkpoint_interop: no config '" << argv[2] << "'\n";
      return 2;
    }
    Model m;
    if (command == "save") {
      auto opt = config->second(true);
      opt->add("W", m.w, m.gw);
      opt->add("b", m.b, m.gb);
      run(*opt, m, 20);
      descend::save_checkpoint(dir + "/descend.ckpt", *opt);
      m.write(dir + "/descend_params_20.bin");
      run(*opt, m, 30);
      m.write(dir + "/descend_params_50.bin");
    } else if (command == "resume") {
      auto opt = config->second(false);
      opt->add("W", m.w, m.gw);
      opt->add("b", m.b, m.gb);
      m.read(dir + "/torch_params_20.bin");
      descend::load_checkpoint(dir + "/torch.ckpt", *opt);
      run(*opt, m, 30);
      m.write(dir + "/resumed_params_50.bin");
    } else {
      return usage();
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "checkpoint_interop: " << e.what() << "\n";
    return 1;
  }
}
