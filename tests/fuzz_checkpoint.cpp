// The checkpoint loader (checkpoint.hpp) under libFuzzer: for any bytes,
// load_checkpoint_bytes() loads them or throws CheckpointError, never
// crashes, hangs or allocates absurdly, and a refused load changes nothing.
//
// Each input is loaded into three targets, built once: an Adam<double> with
// two groups (the second AMSGrad), named parameters of three layouts
// (column-major, row-major, vector), ClipGradNorm and NonFiniteGuard
// transforms, StepLR on group 0 and ReduceLROnPlateau on both; an Sgd<float>
// with momentum under a SequentialLR (LinearLR then ExponentialLR, saved
// through the parent); an Rmsprop<double> (centered, momentum) with one
// named pair, one unnamed, and one registered after the steps (no state).
// Each target is stepped a few times and saved: its "pristine" bytes.
//
// Checked for every input and target:
//   refused (CheckpointError): the target's bytes are still its pristine ones;
//   loaded: saving works, the saved bytes load again and save identically,
//     the optimizer and its schedules step and save again;
//   any other exception, or a load of its own pristine bytes that does not
//     give them back: abort (a finding).
// The target is then put back (its pristine bytes and parameters), so that
// inputs are independent.
//
// The checksum: a random mutation almost never keeps the CRC right, so the
// fuzzer would rarely get past it. Every input whose header is a JSON object
// of the right shape is therefore loaded twice: as it is (the checksum test
// and everything before it) and with the header rewritten to carry the right
// checksum (everything behind it). The corpus holds the inputs as they are;
// the replay patches them the same way.
//
// Built two ways:
//   clang++ -fsanitize=fuzzer,address,undefined: the libFuzzer target;
//   -DDESCEND_FUZZ_REPLAY (any compiler): a main() that runs every file in
//     the directories and files given and prints "<n> inputs replayed", or
//     with --write-seeds DIR writes the seed corpus (valid checkpoints of
//     the targets, and hand-made damaged ones).
// See fuzz_checkpoint.cmake for the commands.
#include <dirent.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "descend/checkpoint.hpp"
#include "descend/descend.hpp"
#include "descend/training.hpp"

namespace {

using Json = nlohmann::json;

template <class... Parts>
[[noreturn]] void finding(const Parts&... parts) {
  std::fprintf(stderr, "fuzz_checkpoint: FINDING: %s\n", descend::detail::concat(parts...).c_str());
  std::abort();
}

// Three parameters of different layouts, their fixed gradients, and their
// values at the pristine save (restored after a loaded target has stepped).
template <class Scalar>
struct Model {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using RowMat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Mat w1 = Mat(3, 4), g1 = Mat(3, 4), w1_saved;
  RowMat w2 = RowMat(2, 3), g2 = RowMat(2, 3), w2_saved;
  Vec b = Vec(5), gb = Vec(5), b_saved;
  int t = 0;

  Model() {
    for (Eigen::Index k = 0; k < w1.size(); ++k) w1(k) = Scalar(0.3) * Scalar(k) - Scalar(1.1);
    for (Eigen::Index k = 0; k < w2.size(); ++k)
      w2.data()[k] = Scalar(0.7) - Scalar(0.2) * Scalar(k);
    for (Eigen::Index k = 0; k < b.size(); ++k) b(k) = Scalar(0.05) * Scalar(k * k) - Scalar(0.4);
    gradients();
  }
  template <class W, class G>
  void gradient_of(const W& w, G& g) {
    for (Eigen::Index r = 0; r < w.rows(); ++r)
      for (Eigen::Index c = 0; c < w.cols(); ++c)
        g(r, c) = w(r, c) * (w(r, c) - Scalar(0.5)) +
                  Scalar(0.1) * std::sin(Scalar(t) + Scalar(r * 7 + c));
  }
  void gradients() {
    gradient_of(w1, g1);
    gradient_of(w2, g2);
    gradient_of(b, gb);
    ++t;
  }
  void keep() {
    w1_saved = w1;
    w2_saved = w2;
    b_saved = b;
  }
  // Same sizes: no reallocation, the optimizer's views stay valid.
  void restore() {
    w1 = w1_saved;
    w2 = w2_saved;
    b = b_saved;
  }
};

struct Target {
  virtual ~Target() = default;
  virtual const char* name() const = 0;
  virtual std::string save() = 0;
  virtual void load(const unsigned char* bytes, std::size_t size) = 0;
  virtual void step() = 0;  // the optimizer's step and the schedules'
  virtual void restore_parameters() = 0;
  std::string pristine;

  void load(const std::string& bytes) {
    load(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  void reset() {
    load(pristine);
    restore_parameters();
    if (save() != pristine) finding(name(), ": loading its own bytes did not give them back");
  }
};

template <class Scalar>
struct TargetOf : Target {
  const char* name_;
  Model<Scalar> m;
  std::unique_ptr<descend::Optimizer<Scalar>> opt;
  std::vector<std::unique_ptr<descend::ScheduleBase>> owned;
  descend::CheckpointSchedules listed;
  std::function<void()> step_schedules = [] {};

  explicit TargetOf(const char* name) : name_(name) {}
  const char* name() const override { return name_; }
  std::string save() override { return descend::checkpoint_bytes(*opt, listed); }
  void load(const unsigned char* bytes, std::size_t size) override {
    descend::load_checkpoint_bytes(bytes, size, *opt, listed);
  }
  void step() override {
    opt->step();
    step_schedules();
  }
  void restore_parameters() override { m.restore(); }
  void finish() {
    m.keep();
    pristine = save();
  }
};

std::unique_ptr<Target> make_adam() {
  auto t = std::make_unique<TargetOf<double>>("Adam<double>");
  auto& m = t->m;
  descend::AdamOptions first, second;
  first.lr = 0.01;
  second.lr = 0.03;
  second.amsgrad = true;
  second.weight_decay = 0.01;
  auto adam = std::make_unique<descend::Adam<double>>(first);
  adam->add_group(second);
  t->opt = std::move(adam);
  auto& opt = *t->opt;
  descend::NonFiniteGuard guard;
  guard.max_consecutive_skips = 3;
  opt.add_transform(descend::ClipGradNorm{1.0});
  opt.add_transform(guard);
  opt.add("w1", m.w1, m.g1);
  opt.add("w2", m.w2, m.g2);
  opt.add("b", m.b, m.gb, 1);
  auto step_lr = std::make_unique<descend::StepLR>(descend::one_group(opt, 0), 2, 0.5);
  descend::ReduceLROnPlateauOptions po;
  po.patience = 1;
  po.cooldown = 2;
  auto plateau = std::make_unique<descend::ReduceLROnPlateau>(opt, po);
  auto* s = step_lr.get();
  auto* p = plateau.get();
  t->listed = {*s, *p};
  t->owned.push_back(std::move(step_lr));
  t->owned.push_back(std::move(plateau));
  for (int k = 0; k < 6; ++k) {
    m.gradients();
    if (k == 2) m.g1(0, 0) = NAN;  // one step skipped by the guard
    opt.step();
    s->step();
    p->step(1.0 + 0.01 * ((k * 7) % 5));
  }
  t->step_schedules = [s, p] {
    s->step();
    p->step(1.0);
  };
  t->finish();
  return t;
}

std::unique_ptr<Target> make_sgd() {
  auto t = std::make_unique<TargetOf<float>>("Sgd<float>");
  auto& m = t->m;
  descend::SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  t->opt = std::make_unique<descend::Sgd<float>>(o);
  auto& opt = *t->opt;
  opt.add(m.w1, m.g1);
  opt.add(m.w2, m.g2);
  opt.add(m.b, m.gb);
  auto warm = std::make_unique<descend::LinearLR>(opt, 0.1, 1.0, 4);
  auto decay = std::make_unique<descend::ExponentialLR>(opt, 0.9);
  auto seq = std::make_unique<descend::SequentialLR>(
      opt, std::vector<std::reference_wrapper<descend::StepSchedule>>{*warm, *decay},
      std::vector<std::int64_t>{4});
  auto* raw = seq.get();
  t->listed = {*raw};
  t->owned.push_back(std::move(warm));
  t->owned.push_back(std::move(decay));
  t->owned.push_back(std::move(seq));
  for (int k = 0; k < 5; ++k) {
    m.gradients();
    opt.step();
    raw->step();
  }
  t->step_schedules = [raw] { raw->step(); };
  t->finish();
  return t;
}

std::unique_ptr<Target> make_rmsprop() {
  auto t = std::make_unique<TargetOf<double>>("Rmsprop<double>");
  auto& m = t->m;
  descend::RmspropOptions o;
  o.lr = 0.01;
  o.centered = true;
  o.momentum = 0.5;
  t->opt = std::make_unique<descend::Rmsprop<double>>(o);
  auto& opt = *t->opt;
  opt.add("w1", m.w1, m.g1);
  opt.add(m.w2, m.g2);
  for (int k = 0; k < 2; ++k) {
    m.gradients();
    opt.step();
  }
  opt.add(m.b, m.gb);  // registered, no state yet
  t->finish();
  return t;
}

std::vector<std::unique_ptr<Target>>& targets() {
  static std::vector<std::unique_ptr<Target>> all = [] {
    std::vector<std::unique_ptr<Target>> v;
    v.push_back(make_adam());
    v.push_back(make_sgd());
    v.push_back(make_rmsprop());
    return v;
  }();
  return all;
}

// The header of a safetensors file, parsed as the loader parses it, or
// nothing (false) when the loader would refuse it before the checksum.
bool read_header(const unsigned char* data, std::size_t size, Json& header,
                 descend::detail::SafeTensors& f) {
  if (size < 8) return false;
  std::uint64_t n = 0;
  std::memcpy(&n, data, 8);
  if (n > size - 8 || n > descend::detail::kMaxHeaderBytes) return false;
  const char* text = reinterpret_cast<const char*>(data + 8);
  try {
    descend::detail::check_json_depth(text, static_cast<std::size_t>(n), "the header");
  } catch (const descend::CheckpointError&) {
    return false;
  }
  header = Json::parse(text, text + n, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return false;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) return false;
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return false;
        f.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) return false;
    const auto dtype = entry.find("dtype"), shape = entry.find("shape"),
               offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string() || shape == entry.end() || !shape->is_array() ||
        offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
      return false;
    descend::detail::TensorEntry t;
    t.dtype = dtype->get<std::string>();
    for (const Json& d : *shape) {
      if (!d.is_number_unsigned()) return false;
      t.shape.push_back(d.get<std::uint64_t>());
    }
    if (!(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) return false;
    t.begin = (*offsets)[0].get<std::uint64_t>();
    t.end = (*offsets)[1].get<std::uint64_t>();
    f.tensors[key] = std::move(t);
  }
  f.data = data + 8 + n;
  f.data_size = size - 8 - n;
  return true;
}

std::string file_of(const Json& header, const unsigned char* data, std::size_t size) {
  const std::string text = header.dump();
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(&out[0], &n, 8);
  out += text;
  out.append(reinterpret_cast<const char*>(data), size);
  return out;
}

// The input with its header rewritten to hold the right checksum, or ""
// when its header is not one the loader reads, or its checksum is right.
std::string with_right_checksum(const unsigned char* data, std::size_t size) {
  Json header;
  descend::detail::SafeTensors f;
  if (!read_header(data, size, header, f)) return {};
  const std::string sum = descend::detail::checksum_of(f);
  const auto it = f.metadata.find("checksum");
  if (it != f.metadata.end() && it->second == sum) return {};
  header["__metadata__"]["checksum"] = sum;
  try {
    return file_of(header, f.data, static_cast<std::size_t>(f.data_size));
  } catch (const Json::exception&) {  // dump() of a string that is not UTF-8
    return {};
  }
}

struct Counts {
  std::size_t loaded = 0, refused = 0;
};
Counts counts;

void run(Target& t, const unsigned char* data, std::size_t size) {
  try {
    t.load(data, size);
  } catch (const descend::CheckpointError&) {
    ++counts.refused;
    std::string now;
    try {
      now = t.save();
    } catch (const std::exception& e) {
      finding(t.name(), ": save() after a refused load threw: ", e.what());
    }
    if (now != t.pristine) finding(t.name(), ": a refused load changed the state");
    return;
  } catch (const std::exception& e) {
    finding(t.name(), ": the load threw something other than CheckpointError: ", e.what());
  } catch (...) {
    finding(t.name(), ": the load threw something that is not a std::exception");
  }
  ++counts.loaded;
  try {
    const std::string saved = t.save();
    t.load(saved);
    if (t.save() != saved) finding(t.name(), ": a loaded state, saved and loaded, saves otherwise");
    for (int k = 0; k < 2; ++k) {
      t.step();
      t.save();
    }
    t.reset();
  } catch (const std::exception& e) {
    finding(t.name(), ": after a load, save/load/step threw: ", e.what());
  }
}

void test_one(const unsigned char* data, std::size_t size) {
  auto& all = targets();
  for (auto& t : all) run(*t, data, size);
  const std::string patched = with_right_checksum(data, size);
  if (patched.empty()) return;
  const auto* p = reinterpret_cast<const unsigned char*>(patched.data());
  for (auto& t : all) run(*t, p, patched.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  test_one(data, size);
  return 0;
}

#ifdef DESCEND_FUZZ_REPLAY
namespace {

bool read_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  out.clear();
  char buffer[65536];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, got);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

// The file with its header JSON edited, and the checksum redone when `resum`.
std::string edited(const std::string& file, const std::function<void(Json&)>& edit,
                   bool resum = true) {
  const auto* data = reinterpret_cast<const unsigned char*>(file.data());
  Json header;
  descend::detail::SafeTensors f;
  if (!read_header(data, file.size(), header, f)) finding("a seed to edit does not parse");
  edit(header);
  std::string out = file_of(header, f.data, static_cast<std::size_t>(f.data_size));
  if (!resum) return out;
  const std::string right =
      with_right_checksum(reinterpret_cast<const unsigned char*>(out.data()), out.size());
  return right.empty() ? out : right;
}

std::function<void(Json&)> in_meta(const char* key, std::function<void(Json&)> edit) {
  return [key, edit](Json& h) {
    Json inner = Json::parse(h["__metadata__"][key].get<std::string>());
    edit(inner);
    h["__metadata__"][key] = inner.dump();
  };
}

std::string with_length(std::uint64_t n, const std::string& rest) {
  std::string out(8, '\0');
  std::memcpy(&out[0], &n, 8);
  return out + rest;
}

int write_seeds(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> seeds;
  auto& all = targets();
  for (std::size_t k = 0; k < all.size(); ++k)
    seeds.emplace_back(descend::detail::concat("valid_", k), all[k]->pristine);
  // The Adam target stepped further: the plateau in its cooldown, more state.
  {
    Target& t = *all[0];
    for (int k = 0; k < 3; ++k) t.step();
    seeds.emplace_back("valid_0_later", t.save());
    t.reset();
  }
  const std::string adam = all[0]->pristine, sgd = all[1]->pristine;
  const std::string header = adam.substr(8, [&] {
    std::uint64_t n;
    std::memcpy(&n, adam.data(), 8);
    return static_cast<std::size_t>(n);
  }());
  seeds.emplace_back("empty", "");
  seeds.emplace_back("eight_bytes", std::string(8, '\0'));
  seeds.emplace_back("length_huge", with_length(~std::uint64_t(0), adam.substr(8)));
  seeds.emplace_back("length_past_end", with_length(adam.size(), adam.substr(8)));
  seeds.emplace_back("header_truncated", adam.substr(0, 8 + header.size() / 2));
  seeds.emplace_back("data_truncated", adam.substr(0, adam.size() - 5));
  seeds.emplace_back("deep_nesting",
                     with_length(2 * 100, std::string(100, '[') + std::string(100, ']')));
  seeds.emplace_back("deep_in_meta", edited(adam, in_meta("params", [](Json& p) {
                                              Json x = 1;
                                              for (int i = 0; i < 70; ++i) x = Json::array({x});
                                              p[0]["name"] = x;
                                            })));
  seeds.emplace_back("not_object", with_length(2, "[]"));
  seeds.emplace_back("wrong_dtype",
                     edited(adam, [](Json& h) { h["state.1.exp_avg"]["dtype"] = "BF16"; }));
  seeds.emplace_back("f32_in_f64", edited(adam, [](Json& h) {
                       h["state.1.exp_avg"]["dtype"] = "F32";
                       h["state.1.exp_avg"]["shape"] = {2, 6};
                     }));
  seeds.emplace_back("shape_3d", edited(adam, [](Json& h) {
                       h["state.1.exp_avg"]["shape"] = {2, 3, 1};
                     }));
  seeds.emplace_back("shape_vector",
                     edited(adam, [](Json& h) { h["state.2.exp_avg"]["shape"] = {5}; }));
  seeds.emplace_back("overlapping", edited(adam, [](Json& h) {
                       h["state.0.exp_avg_sq"]["data_offsets"] =
                           h["state.0.exp_avg"]["data_offsets"];
                     }));
  seeds.emplace_back("offsets_past_end", edited(adam, [](Json& h) {
                       h["state.0.exp_avg"]["data_offsets"][1] = 1 << 30;
                     }));
  seeds.emplace_back(
      "bad_checksum",
      edited(
          adam, [](Json& h) { h["__metadata__"]["checksum"] = "crc32:00000000"; }, false));
  seeds.emplace_back("version_2",
                     edited(adam, [](Json& h) { h["__metadata__"]["version"] = "2"; }));
  seeds.emplace_back("other_format",
                     edited(adam, [](Json& h) { h["__metadata__"]["format"] = "other"; }));
  seeds.emplace_back("step_negative",
                     edited(adam, in_meta("state", [](Json& s) { s["0"]["step"] = -1; })));
  seeds.emplace_back("lr_string",
                     edited(adam, in_meta("param_groups", [](Json& g) { g[0]["lr"] = "fast"; })));
  seeds.emplace_back("params_twice", edited(adam, in_meta("param_groups", [](Json& g) {
                                              g[0]["params"] = {0, 0, 1};
                                            })));
  seeds.emplace_back("state_unknown", edited(adam, in_meta("state", [](Json& s) {
                                               s["7"] = {{"step", 1}};
                                             })));
  seeds.emplace_back("plateau_best_inf", edited(adam, in_meta("schedules", [](Json& s) {
                                                  s[1]["best"] = "-inf";
                                                  s[0]["last_epoch"] = 9223372036854775807LL;
                                                })));
  seeds.emplace_back("guard_counts_huge", edited(adam, in_meta("transforms", [](Json& s) {
                                                   s[1]["skipped_in_a_row"] =
                                                       18446744073709551615ULL;
                                                 })));
  seeds.emplace_back("sequential_child_missing",
                     edited(sgd, in_meta("schedules", [](Json& s) { s[0].erase("schedules"); })));
  seeds.emplace_back("no_state", edited(adam, [](Json& h) {
                       for (const char* n : {"0", "1", "2"})
                         for (const char* b : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
                           h.erase(descend::detail::concat("state.", n, ".", b));
                       h["__metadata__"]["state"] = "{}";
                     }));
  for (const auto& [name, bytes] : seeds) {
    if (!write_file(dir + "/" + name, bytes)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
      return 2;
    }
  }
  std::printf("%zu seeds written to %s\n", seeds.size(), dir.c_str());
  return 0;
}

// The files named, and those in the directories named (not recursively).
bool inputs_in(const std::string& path, std::vector<std::string>& files) {
  DIR* dir = opendir(path.c_str());
  if (!dir) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    std::fclose(f);
    files.push_back(path);
    return true;
  }
  std::vector<std::string> names;
  while (const dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(path + "/" + name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  files.insert(files.end(), names.begin(), names.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write-seeds") return write_seeds(argv[2]);
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_DIR_OR_FILE...   (replays every input)\n"
                 "       %s --write-seeds DIR        (writes the seed corpus)\n",
                 argv[0], argv[0]);
    return 2;
  }
  std::vector<std::string> files;
  for (int k = 1; k < argc; ++k) {
    if (!inputs_in(argv[k], files)) {
      std::fprintf(stderr, "cannot read %s\n", argv[k]);
      return 2;
    }
  }
  std::string bytes;
  for (const std::string& file : files) {
    if (!read_file(file, bytes)) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return 2;
    }
    test_one(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  std::printf("%zu inputs replayed (%zu loads, %zu refusals over %zu targets)\n", files.size(),
              counts.loaded, counts.refused, targets().size());
  return 0;
}
#endif
