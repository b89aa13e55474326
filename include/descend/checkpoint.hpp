// Checkpoints: an optimizer's whole state, its schedules' and its gradient
// transforms', saved to a file and loaded back, so that a run stopped at
// step k and resumed gives bit for bit the parameters of the run that never
// stopped.
//
//   descend::save_checkpoint("run.ckpt", opt, {schedule});   // atomically
//   ...
//   descend::load_checkpoint("run.ckpt", opt, {schedule});   // all or nothing
//
// What is saved: for every registered pair (add()), its name, shape, step
// count and every state buffer; every group's options and initial_lr; the
// state of every schedule listed (last_epoch, base lrs, counters, and the
// schedules a SequentialLR or ChainedScheduler holds) and of every gradient
// transform (the non-finite guard's counts). What is not: the parameters
// themselves (save them as you save your model), schedule options and
// functions, transform options (they are the program's), and state made by
// update() for parameters that are not registered (save_checkpoint refuses
// to run then: such state has no name or index to be known by).
//
// Loading needs an optimizer built the same way: the same kind (Adam is not
// AdamW), Scalar type, number of groups and registered pairs. A pair is
// matched by its name when it has one (so the order of add() may differ) and
// by its registration index otherwise; its group and shape must agree. The
// group options in the file replace the optimizer's, except that options
// which decide the state buffers (AMSGrad, momentum 0 or not, centered) must
// already agree; an option the file lacks keeps the optimizer's value (a
// group exported from PyTorch has no `decay` or `eps_placement`). Any difference, and anything
// wrong with the file, throws CheckpointError naming it, and leaves optimizer, schedules and
// transforms as they were. A load replaces all state, including update()'s.
//
// The file is safetensors (https://huggingface.co/docs/safetensors): an
// 8-byte little-endian header length N, N bytes of JSON, then raw
// little-endian tensors, readable without descend (Python:
// safetensors.numpy.load_file, or json and numpy). Tensors are named as in
// PyTorch's optimizer state_dict, "state.<index>.<buffer>" (e.g.
// "state.0.exp_avg"), dtype F32 or F64, shape [rows, cols] in row-major
// order whatever the parameter's own layout. The header's __metadata__ (a
// map of strings) holds:
//   format        "descend.checkpoint"
//   version       "1" (a file of a later version is refused)
//   optimizer     e.g. "descend::Adam";   dtype  "F32" or "F64"
//   param_groups  JSON: PyTorch's param_groups, each group's options by
//                 PyTorch's names (then descend's own: decay, eps_placement,
//                 ...), "params" (the indices of its pairs), "initial_lr"
//   params        JSON: per registered pair, {"name", "shape": [rows, cols]}
//   state         JSON: {"<index>": {"step": n}} for each pair with state
//   schedules, transforms   JSON: per object, {"kind", its fields}
//   checksum      "crc32:<8 hex digits>": CRC-32 (zlib's) of the canonical
//                 text below followed by the data bytes
// The canonical text is, for each metadata key but "checksum" in sorted
// order, key "\n" value "\n"; then for each tensor in sorted name order,
// name "\n" dtype "\n" the shape's numbers joined by "," "\n" begin "," end
// "\n". A non-finite number in the JSON (a plateau schedule's best before
// its first metric is infinite) is the string "inf", "-inf" or "nan".
//
// A loader that hostile input cannot break: every length, offset, count,
// type and size is checked before it is used, the JSON is refused if nested
// deeper than 64 or longer than 64 MiB, and tensors must tile the data
// exactly (no gaps, no overlaps, nothing past the end), as the safetensors
// reference loader requires.
//
// This header needs nlohmann-json (Debian: nlohmann-json3-dev); the
// optimizer headers do not include it. POSIX only (fsync, rename).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#else
#include <thread>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "descend/optim/optimizer.hpp"
#include "descend/optim/schedule.hpp"

namespace descend {

// A checkpoint that cannot be written, read or loaded into this optimizer;
// the message says what and where. Nothing was changed.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The schedules a checkpoint saves or loads, in a fixed order.
using CheckpointSchedules = std::vector<std::reference_wrapper<ScheduleBase>>;

namespace detail {

inline constexpr int kCheckpointVersion = 1;
inline constexpr std::size_t kMaxHeaderBytes = std::size_t(64) << 20;
inline constexpr int kMaxJsonDepth = 64;

using Json = nlohmann::json;

template <class... Parts>
[[noreturn]] void checkpoint_fail(const Parts&... parts) {
  fail<CheckpointError>("descend checkpoint: ", parts...);
}

// CRC-32 as zlib computes it (reflected polynomial 0xEDB88320).
class Crc32 {
 public:
  void add(const void* data, std::size_t size) {
    static const std::array<std::uint32_t, 256> table = make_table();
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) crc_ = table[(crc_ ^ p[i]) & 0xFFu] ^ (crc_ >> 8);
  }
  void add(const std::string& s) { add(s.data(), s.size()); }
  std::uint32_t value() const { return crc_ ^ 0xFFFFFFFFu; }

 private:
  static std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }
  std::uint32_t crc_ = 0xFFFFFFFFu;
};

// One tensor of a safetensors file.
struct TensorEntry {
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // within the data section
};

// A safetensors file, checked: the metadata strings, the tensor table, and
// where the data section is.
struct SafeTensors {
  std::map<std::string, std::string> metadata;
  std::map<std::string, TensorEntry> tensors;
  const unsigned char* data = nullptr;
  std::uint64_t data_size = 0;
};

inline std::uint64_t dtype_size(const std::string& dtype) {
  return dtype == "F64" ? 8 : dtype == "F32" ? 4 : 0;
}

template <class Scalar>
const char* dtype_of() {
  static_assert(std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value,
                "descend: checkpoints hold float or double optimizers");
  return std::is_same<Scalar, float>::value ? "F32" : "F64";
}

// Refuses JSON nested deeper than kMaxJsonDepth before a parser sees it.
inline void check_json_depth(const char* text, std::size_t size, const char* what) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        checkpoint_fail(what, " is nested deeper than ", kMaxJsonDepth, " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

inline Json parse_json(const char* text, std::size_t size, const char* what) {
  check_json_depth(text, size, what);
  Json j = Json::parse(text, text + size, nullptr, false);
  if (j.is_discarded()) checkpoint_fail(what, " is not valid JSON");
  return j;
}

inline std::uint64_t read_u64(const Json& j, const std::string& what) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
    checkpoint_fail(what, " must be a non-negative integer, not ", j.dump());
  return j.get<std::uint64_t>();
}

inline std::string canonical_text(const SafeTensors& f) {
  std::string text;
  for (const auto& [key, value] : f.metadata) {
    if (key == "checksum") continue;
    text += key + "\n" + value + "\n";
  }
  for (const auto& [name, t] : f.tensors) {
    text += name + "\n" + t.dtype + "\n";
    for (std::size_t d = 0; d < t.shape.size(); ++d)
      text += (d ? "," : "") + std::to_string(t.shape[d]);
    text += "\n" + std::to_string(t.begin) + "," + std::to_string(t.end) + "\n";
  }
  return text;
}

inline std::string checksum_of(const SafeTensors& f) {
  Crc32 crc;
  crc.add(canonical_text(f));
  crc.add(f.data, static_cast<std::size_t>(f.data_size));
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(crc.value()));
  return std::string("crc32:") + hex;
}

// Parses and checks the container: lengths, JSON, the tensor table, the
// tiling of the data, the checksum and the format version. `bytes` must
// outlive the result (its data points into them).
inline SafeTensors parse_safetensors(const unsigned char* bytes, std::size_t size) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "descend: checkpoints are written on little-endian machines");
  if (size < 8) checkpoint_fail("the file is ", size, " bytes long, too short for a header length");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes, 8);
  if (n > size - 8)
    checkpoint_fail("the header length ", n, " runs past the end of the file (", size, " bytes)");
  if (n > kMaxHeaderBytes) checkpoint_fail("the header is ", n, " bytes long, over the limit");
  const char* header = reinterpret_cast<const char*>(bytes + 8);
  const Json j = parse_json(header, static_cast<std::size_t>(n), "the header");
  if (!j.is_object()) checkpoint_fail("the header is not a JSON object");
  SafeTensors f;
  f.data = bytes + 8 + n;
  f.data_size = size - 8 - n;
  std::vector<std::pair<std::uint64_t, const std::string*>> by_offset;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) checkpoint_fail("__metadata__ is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) checkpoint_fail("__metadata__ '", key, "' is not a string");
        f.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      checkpoint_fail(what, " needs dtype, shape and data_offsets");
    TensorEntry t;
    if (!entry["dtype"].is_string()) checkpoint_fail(what, ": dtype is not a string");
    t.dtype = entry["dtype"].get<std::string>();
    const std::uint64_t width = dtype_size(t.dtype);
    if (width == 0) checkpoint_fail(what, " has dtype ", t.dtype, " (descend reads F32 and F64)");
    const Json& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > 2)
      checkpoint_fail(what, ": shape must be a list of at most 2 sizes, not ", shape.dump());
    std::uint64_t count = 1;
    for (const Json& d : shape) {
      const std::uint64_t dim = read_u64(d, what + "'s shape");
      if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / 8 / dim)
        checkpoint_fail(what, " has shape ", shape.dump(), ": too many elements");
      count *= dim;
      t.shape.push_back(dim);
    }
    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      checkpoint_fail(what, ": data_offsets must be [begin, end], not ", offsets.dump());
    t.begin = read_u64(offsets[0], what + "'s data_offsets");
    t.end = read_u64(offsets[1], what + "'s data_offsets");
    if (t.begin > t.end || t.end > f.data_size)
      checkpoint_fail(what, " has data_offsets [", t.begin, ", ", t.end, "] outside the ",
                      f.data_size, " bytes of data");
    if (t.end - t.begin != count * width)
      checkpoint_fail(what, " has ", t.end - t.begin, " bytes of data but its shape ", shape.dump(),
                      " and dtype ", t.dtype, " need ", count * width);
    const auto placed = f.tensors.emplace(name, std::move(t)).first;
    by_offset.emplace_back(placed->second.begin, &placed->first);
  }
  // The tensors tile the data: each begins where the one before ended.
  std::sort(by_offset.begin(), by_offset.end());
  std::uint64_t at = 0;
  for (const auto& [begin, name] : by_offset) {
    const TensorEntry& t = f.tensors.at(*name);
    if (begin != at)
      checkpoint_fail(
          "tensor '", *name, "' begins at byte ", begin, " of the data but ",
          begin < at ? "the tensor before it ends at " : "nothing covers the bytes from ", at);
    at = t.end;
  }
  if (at != f.data_size)
    checkpoint_fail("the data is ", f.data_size, " bytes long but the tensors cover ", at);
  const auto meta = [&](const char* key) -> const std::string& {
    const auto it = f.metadata.find(key);
    if (it == f.metadata.end()) checkpoint_fail("__metadata__ has no '", key, "'");
    return it->second;
  };
  if (meta("format") != "descend.checkpoint")
    checkpoint_fail("this is not a descend checkpoint (format '", meta("format"), "')");
  const std::string& version = meta("version");
  const bool digits =
      !version.empty() && version.size() < 9 &&
      std::all_of(version.begin(), version.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) checkpoint_fail("version '", version, "' is not a number");
  if (std::stoi(version) > kCheckpointVersion)
    checkpoint_fail("the file has format version ", version,
                    ", from a later descend; this one reads ", kCheckpointVersion);
  const std::string sum = checksum_of(f);
  if (meta("checksum") != sum)
    checkpoint_fail("checksum mismatch: the file says ", meta("checksum"),
                    " but its contents give ", sum, " (the file is damaged)");
  return f;
}

// Writes a safetensors file: metadata strings and tensors (name, dtype,
// shape, little-endian bytes), with the checksum added.
inline std::string write_safetensors(
    std::map<std::string, std::string> metadata,
    const std::vector<std::pair<std::string, std::pair<std::vector<std::uint64_t>, std::string>>>&
        tensors,
    const char* dtype) {
  SafeTensors f;
  std::string data;
  for (const auto& [name, shaped] : tensors) {
    TensorEntry t;
    t.dtype = dtype;
    t.shape = shaped.first;
    t.begin = data.size();
    data += shaped.second;
    t.end = data.size();
    f.tensors[name] = t;
  }
  f.metadata = std::move(metadata);
  f.data = reinterpret_cast<const unsigned char*>(data.data());
  f.data_size = data.size();
  f.metadata["checksum"] = checksum_of(f);
  Json header = Json::object();
  header["__metadata__"] = f.metadata;
  for (const auto& [name, t] : f.tensors)
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(&out[0], &n, 8);
  out += text;
  out += data;
  return out;
}

// Numbers in the JSON: non-finite ones as strings, which JSON lacks.
inline Json number(double x) {
  if (std::isfinite(x)) return x;
  return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
}
inline bool to_number(const Json& j, double& out) {
  if (j.is_number()) {
    out = j.get<double>();
    return true;
  }
  if (!j.is_string()) return false;
  const std::string& s = j.get_ref<const std::string&>();
  const double inf = std::numeric_limits<double>::infinity();
  if (s == "inf")
    out = inf;
  else if (s == "-inf")
    out = -inf;
  else if (s == "nan")
    out = std::numeric_limits<double>::quiet_NaN();
  else
    return false;
  return true;
}

// StateFields into a JSON object.
class JsonWriter : public StateFields {
 public:
  explicit JsonWriter(Json& root) : stack_{&root} {}
  bool checking() const override { return false; }
  void field(const char* name, double& v) override { top()[name] = number(v); }
  void field(const char* name, std::int64_t& v) override { top()[name] = v; }
  void field(const char* name, std::size_t& v) override { top()[name] = v; }
  void field(const char* name, bool& v) override { top()[name] = v; }
  void field(const char* name, std::vector<double>& v, std::int64_t) override {
    Json a = Json::array();
    for (double x : v) a.push_back(number(x));
    top()[name] = std::move(a);
  }
  void field(const char* name, double& a, double& b) override {
    top()[name] = {number(a), number(b)};
  }
  void choice(const char* name, int& v, const char* const* names, std::size_t count) override {
    top()[name] = v >= 0 && static_cast<std::size_t>(v) < count ? Json(names[v]) : Json(v);
  }
  void enter(const char* name, std::size_t index) override {
    Json& list = top()[name];
    if (!list.is_array()) list = Json::array();
    while (list.size() <= index) list.push_back(Json::object());
    stack_.push_back(&list[index]);
  }
  void leave() override { stack_.pop_back(); }

 private:
  Json& top() { return *stack_.back(); }
  std::vector<Json*> stack_;
};

// StateFields from a JSON object: a checking pass, then an assigning one.
class JsonReader : public StateFields {
 public:
  // `lenient`: a field the JSON lacks keeps its value (a group's options
  // written by another program, such as PyTorch's, which lack descend's own).
  JsonReader(const Json& root, std::string where, bool lenient = false)
      : stack_{&root}, path_{std::move(where)}, lenient_(lenient) {}
  void set_checking(bool checking) { checking_ = checking; }
  bool checking() const override { return checking_; }

  void field(const char* name, double& v) override {
    if (skipped(name)) return;
    double x;
    if (!to_number(at(name), x)) bad(name, "a number");
    if (!checking_) v = x;
  }
  void field(const char* name, std::int64_t& v) override {
    if (skipped(name)) return;
    const Json& j = at(name);
    if (!j.is_number_integer()) bad(name, "an integer");
    if (!checking_) v = j.get<std::int64_t>();
  }
  void field(const char* name, std::size_t& v) override {
    if (skipped(name)) return;
    const Json& j = at(name);
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
      bad(name, "a non-negative integer");
    if (!checking_) v = j.get<std::size_t>();
  }
  void field(const char* name, bool& v) override {
    if (skipped(name)) return;
    const Json& j = at(name);
    if (!j.is_boolean()) bad(name, "true or false");
    if (!checking_) v = j.get<bool>();
  }
  void field(const char* name, std::vector<double>& v, std::int64_t size) override {
    if (skipped(name)) return;
    const Json& j = at(name);
    if (!j.is_array()) bad(name, "a list of numbers");
    if (size >= 0 && j.size() != static_cast<std::size_t>(size))
      checkpoint_fail(path(name), " has ", j.size(), " values, not ", size);
    double x;
    for (const Json& e : j)
      if (!to_number(e, x)) bad(name, "a list of numbers");
    if (checking_) return;
    v.resize(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) to_number(j[i], v[i]);
  }
  void field(const char* name, double& a, double& b) override {
    if (skipped(name)) return;
    const Json& j = at(name);
    double x, y;
    if (!j.is_array() || j.size() != 2 || !to_number(j[0], x) || !to_number(j[1], y))
      bad(name, "a list of two numbers");
    if (!checking_) a = x, b = y;
  }
  void choice(const char* name, int& v, const char* const* names, std::size_t count) override {
    if (skipped(name)) return;
    const Json& j = at(name);
    for (std::size_t i = 0; j.is_string() && i < count; ++i) {
      if (j.get_ref<const std::string&>() == names[i]) {
        if (!checking_) v = static_cast<int>(i);
        return;
      }
    }
    std::string all;
    for (std::size_t i = 0; i < count; ++i) all += (i ? ", " : "") + std::string(names[i]);
    checkpoint_fail(path(name), " is ", j.dump(), ", not one of ", all);
  }
  void enter(const char* name, std::size_t index) override {
    const Json& list = at(name);
    if (!list.is_array() || list.size() <= index || !list[index].is_object())
      checkpoint_fail(path(name), " has no object at [", index, "]");
    stack_.push_back(&list[index]);
    path_ += concat(".", name, "[", index, "]");
  }
  void leave() override {
    stack_.pop_back();
    path_.erase(path_.rfind('.'));
  }

 private:
  bool skipped(const char* name) const { return lenient_ && !stack_.back()->contains(name); }
  const Json& at(const char* name) const {
    const Json& o = *stack_.back();
    const auto it = o.find(name);
    if (it == o.end()) checkpoint_fail(path(name), " is missing");
    return *it;
  }
  std::string path(const char* name) const { return path_ + "." + name; }
  [[noreturn]] void bad(const char* name, const char* expected) const {
    checkpoint_fail(path(name), " is ", at(name).dump(), ", not ", expected);
  }

  std::vector<const Json*> stack_;
  std::string path_;
  bool checking_ = true;
  bool lenient_ = false;
};

// Where coefficient (r, c) of a parameter is in its state buffers, which
// follow the parameter's memory order (view.hpp's for_each_coefficient).
template <class Layout>
Eigen::Index state_index(const Layout& layout, Eigen::Index r, Eigen::Index c) {
  const bool inner_is_rows =
      layout.cols == 1 || (layout.rows != 1 && layout.row_stride <= layout.col_stride);
  return inner_is_rows ? c * layout.rows + r : r * layout.cols + c;
}

inline const Json& member(const Json& o, const char* key, const std::string& where) {
  const auto it = o.find(key);
  if (it == o.end()) checkpoint_fail(where, " has no '", key, "'");
  return *it;
}

inline Json parse_meta(const SafeTensors& f, const char* key) {
  const auto it = f.metadata.find(key);
  if (it == f.metadata.end()) checkpoint_fail("__metadata__ has no '", key, "'");
  return parse_json(it->second.data(), it->second.size(), key);
}

template <class Scalar>
struct CheckpointAccess {
  using Opt = Optimizer<Scalar>;
  using Slot = typename Opt::Slot;
  using Index = Eigen::Index;

  static std::string save(const Opt& opt, const CheckpointSchedules& schedules) {
    for (const Slot& s : opt.slots_) {
      if (s.owner == Opt::kNone)
        checkpoint_fail(opt.who_, " has state for a parameter at ", s.key,
                        " that update() made and add() did not register: a checkpoint knows "
                        "state by registration; register it, or forget() it, first");
    }
    Json groups = Json::array(), params = Json::array(), state = Json::object();
    const typename Opt::OptionsBytes options = const_cast<Opt&>(opt).options_bytes();
    for (std::size_t g = 0; g < opt.num_groups(); ++g) {
      Json group = Json::object();
      JsonWriter w(group);
      std::vector<unsigned char> copy(options.size);  // visit_options() takes them writable
      std::memcpy(copy.data(), static_cast<const unsigned char*>(options.data) + g * options.size,
                  options.size);
      opt.visit_options_at(copy.data(), w);
      group["params"] = Json::array();
      const double initial = opt.initial_lr(g);
      if (!std::isnan(initial)) group["initial_lr"] = number(initial);
      groups.push_back(std::move(group));
    }
    std::vector<std::pair<std::string, std::pair<std::vector<std::uint64_t>, std::string>>> tensors;
    for (std::size_t i = 0; i < opt.registered_.size(); ++i) {
      const auto& r = opt.registered_[i];
      const View<Scalar> p = r.param.get();
      params.push_back({{"name", opt.names_[i]}, {"shape", {p.rows, p.cols}}});
      groups[r.group]["params"].push_back(i);
      if (r.slot == Opt::kNone) continue;
      const Slot& s = opt.slots_[r.slot];
      if (s.layout.rows != p.rows || s.layout.cols != p.cols)
        checkpoint_fail(opt.who_, ": registered parameter #", i, " is now ", p.rows, "x", p.cols,
                        " but its state was made for ", s.layout.rows, "x", s.layout.cols);
      state[std::to_string(i)] = {{"step", s.step}};
      const detail::BufferNames names = opt.group_buffers(s.group);
      for (std::size_t b = 0; b < names.size(); ++b) {
        std::string bytes(static_cast<std::size_t>(s.size) * sizeof(Scalar), '\0');
        Scalar* out = reinterpret_cast<Scalar*>(&bytes[0]);
        const Scalar* buffer = Opt::buffers(s) + b * s.size;
        for (Index row = 0; row < p.rows; ++row)
          for (Index col = 0; col < p.cols; ++col)
            out[row * p.cols + col] = buffer[state_index(s.layout, row, col)];
        tensors.push_back(
            {concat("state.", i, ".", names[b]),
             {{static_cast<std::uint64_t>(p.rows), static_cast<std::uint64_t>(p.cols)},
              std::move(bytes)}});
      }
    }
    Json transforms = Json::array();
    for (const auto& t : opt.transforms_) {
      Json o = {{"kind", t->kind()}};
      JsonWriter w(o);
      t->visit_state(w);
      transforms.push_back(std::move(o));
    }
    std::map<std::string, std::string> meta;
    meta["format"] = "descend.checkpoint";
    meta["version"] = std::to_string(kCheckpointVersion);
    meta["optimizer"] = opt.who_;
    meta["dtype"] = dtype_of<Scalar>();
    meta["param_groups"] = groups.dump();
    meta["params"] = params.dump();
    meta["state"] = state.dump();
    meta["transforms"] = transforms.dump();
    meta["schedules"] = write_schedules(schedules).dump();
    return write_safetensors(std::move(meta), tensors, dtype_of<Scalar>());
  }

  static Json write_schedules(const CheckpointSchedules& schedules) {
    Json out = Json::array();
    for (ScheduleBase& s : schedules) {
      Json o = {{"kind", s.kind()}};
      JsonWriter w(o);
      s.visit_state(w);
      out.push_back(std::move(o));
    }
    return out;
  }

  // Everything is checked and built before anything changes; then schedules
  // (whose own checks may still refuse, and are undone), transforms and the
  // optimizer are replaced.
  static void load(const SafeTensors& f, Opt& opt, const CheckpointSchedules& schedules) {
    const std::string& kind = f.metadata.count("optimizer") ? f.metadata.at("optimizer") : "";
    if (kind != opt.who_)
      checkpoint_fail("the file holds a ", kind.empty() ? "(missing)" : kind, " but this is a ",
                      opt.who_);
    const std::string& dtype = f.metadata.count("dtype") ? f.metadata.at("dtype") : "";
    if (dtype != dtype_of<Scalar>())
      checkpoint_fail("the file holds ", dtype, " state but this ", opt.who_, " is ",
                      dtype_of<Scalar>());
    const Json groups = parse_meta(f, "param_groups"), params = parse_meta(f, "params"),
               state = parse_meta(f, "state"), transforms = parse_meta(f, "transforms"),
               saved_schedules = parse_meta(f, "schedules");
    const std::size_t n = opt.registered_.size();
    if (!params.is_array() || params.size() != n)
      checkpoint_fail("the file has ", params.is_array() ? params.size() : 0,
                      " registered parameters but this ", opt.who_, " has ", n);
    if (!groups.is_array() || groups.size() != opt.num_groups())
      checkpoint_fail("the file has ", groups.is_array() ? groups.size() : 0,
                      " parameter groups but this ", opt.who_, " has ", opt.num_groups());

    // The file's pair for each registered pair, by name or index.
    std::vector<std::size_t> file_of(n);
    std::map<std::string, std::size_t> file_names;
    for (std::size_t k = 0; k < n; ++k) {
      const Json& p = params[k];
      if (!p.is_object() || !member(p, "name", "params").is_string())
        checkpoint_fail("params[", k, "] needs a string 'name'");
      const std::string& name = p["name"].get_ref<const std::string&>();
      if (!name.empty() && !file_names.emplace(name, k).second)
        checkpoint_fail("params[", k, "]: the name '", name, "' is there twice");
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& name = opt.names_[i];
      if (name.empty()) {
        const std::string& there = params[i]["name"].get_ref<const std::string&>();
        if (!there.empty())
          checkpoint_fail("the file's parameter #", i, " is named '", there, "' but registered #",
                          i, " has no name");
        file_of[i] = i;
      } else {
        const auto it = file_names.find(name);
        if (it == file_names.end())
          checkpoint_fail("registered parameter #", i, " '", name, "' is not in the file");
        file_of[i] = it->second;
      }
    }
    // Group membership: each file pair in exactly one group's params.
    std::vector<std::size_t> group_in_file(n, Opt::kNone);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].is_object()) checkpoint_fail("param_groups[", g, "] is not an object");
      const Json& members = member(groups[g], "params", concat("param_groups[", g, "]"));
      if (!members.is_array()) checkpoint_fail("param_groups[", g, "].params is not a list");
      for (const Json& m : members) {
        const std::uint64_t k = read_u64(m, concat("param_groups[", g, "].params"));
        if (k >= n || group_in_file[k] != Opt::kNone)
          checkpoint_fail("param_groups[", g, "].params lists ", m.dump(), ", which is ",
                          k >= n ? "out of range" : "in another group too");
        group_in_file[k] = g;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = file_of[i];
      const auto& r = opt.registered_[i];
      if (group_in_file[k] != r.group)
        checkpoint_fail(who(opt, i), " is in group ", r.group, " but the file has it in ",
                        group_in_file[k] == Opt::kNone ? std::string("none")
                                                       : std::to_string(group_in_file[k]));
      const View<Scalar> p = r.param.get();
      const Json& shape = member(params[k], "shape", concat("params[", k, "]"));
      if (!shape.is_array() || shape.size() != 2 ||
          read_u64(shape[0], "a shape") != static_cast<std::uint64_t>(p.rows) ||
          read_u64(shape[1], "a shape") != static_cast<std::uint64_t>(p.cols))
        checkpoint_fail(who(opt, i), " is ", p.rows, "x", p.cols, " but the file's is ",
                        shape.dump());
    }

    // Options, staged and validated; initial_lr.
    const typename Opt::OptionsBytes options = opt.options_bytes();
    std::vector<unsigned char> staged(groups.size() * options.size);
    if (!staged.empty()) std::memcpy(staged.data(), options.data, staged.size());
    const auto staged_at = [&](std::size_t g) { return staged.data() + g * options.size; };
    std::vector<double> initial(groups.size(), std::numeric_limits<double>::quiet_NaN());
    for (std::size_t g = 0; g < groups.size(); ++g) {
      JsonReader reader(groups[g], concat("param_groups[", g, "]"), true);
      opt.visit_options_at(staged_at(g), reader);
      reader.set_checking(false);
      opt.visit_options_at(staged_at(g), reader);
      try {
        opt.check_options_at(staged_at(g), g);
      } catch (const std::invalid_argument& e) {
        checkpoint_fail("param_groups[", g, "]: ", e.what());
      }
      const auto it = groups[g].find("initial_lr");
      if (it != groups[g].end() && !to_number(*it, initial[g]))
        checkpoint_fail("param_groups[", g, "].initial_lr is ", it->dump(), ", not a number");
    }

    // Registrations that came to share memory since the last step() (a
    // registered Matrix swapped onto a registered view) are refused as step()
    // refuses them: state keyed by their memory could not tell them apart.
    try {
      opt.views_now();
    } catch (const std::invalid_argument& e) {
      checkpoint_fail(e.what());
    }

    // State: every tensor used exactly once.
    if (!state.is_object()) checkpoint_fail("state is not an object");
    std::set<std::string> unused;
    for (const auto& t : f.tensors) unused.insert(t.first);
    std::vector<Slot> slots;
    slots.reserve(n);
    std::vector<std::size_t> slot_of(n, Opt::kNone);
    std::size_t with_state = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string key = std::to_string(file_of[i]);
      const auto it = state.find(key);
      if (it == state.end()) continue;
      ++with_state;
      const auto& r = opt.registered_[i];
      const View<Scalar> p = r.param.get();
      if (!it->is_object()) checkpoint_fail("state.", key, " is not an object");
      const Json& step = member(*it, "step", "state." + key);
      if (!step.is_number_integer() || step.get<std::int64_t>() < 0)
        checkpoint_fail("state.", key, ".step is ", step.dump(), ", not a count");
      if (p.size() == 0) checkpoint_fail(who(opt, i), " is empty but the file has state for it");
      Slot s = opt.make_slot(p, r.group);
      s.step = step.get<std::int64_t>();
      const detail::BufferNames names = opt.buffer_names_at(staged_at(r.group));
      for (std::size_t b = 0; b < names.size(); ++b) {
        const std::string name = concat("state.", key, ".", names[b]);
        const auto t = f.tensors.find(name);
        if (t == f.tensors.end())
          checkpoint_fail(who(opt, i), " needs the tensor '", name, "', which is not in the file");
        check_tensor(t->first, t->second, p);
        unused.erase(name);
        Scalar* buffer = Opt::buffers(s) + b * s.size;
        const unsigned char* in = f.data + t->second.begin;
        for (Index row = 0; row < p.rows; ++row)
          for (Index col = 0; col < p.cols; ++col)
            std::memcpy(&buffer[state_index(p, row, col)],
                        in + static_cast<std::size_t>(row * p.cols + col) * sizeof(Scalar),
                        sizeof(Scalar));
      }
      s.owner = i;
      slot_of[i] = slots.size();
      slots.push_back(std::move(s));
    }
    if (with_state != state.size())
      checkpoint_fail("state has ", state.size(), " entries but only ", with_state,
                      " belong to a registered parameter");
    if (!unused.empty())
      checkpoint_fail("the file has tensor '", *unused.begin(),
                      "', which no parameter's state uses");
    detail::AddressMap index;
    index.reserve(slots.size());
    for (std::size_t k = 0; k < slots.size(); ++k) index.insert(slots[k].key, k);

    // Transforms and schedules: kinds, and a checking pass.
    if (!transforms.is_array() || transforms.size() != opt.transforms_.size())
      checkpoint_fail("the file has ", transforms.is_array() ? transforms.size() : 0,
                      " gradient transforms but this ", opt.who_, " has ", opt.transforms_.size());
    std::vector<JsonReader> transform_readers;
    for (std::size_t t = 0; t < transforms.size(); ++t) {
      check_kind(transforms[t], opt.transforms_[t]->kind(), concat("transforms[", t, "]"));
      transform_readers.emplace_back(transforms[t], concat("transforms[", t, "]"));
      opt.transforms_[t]->visit_state(transform_readers.back());
      transform_readers.back().set_checking(false);
    }
    if (!saved_schedules.is_array() || saved_schedules.size() != schedules.size())
      checkpoint_fail("the file has ", saved_schedules.is_array() ? saved_schedules.size() : 0,
                      " schedules but ", schedules.size(), " were given to load");
    std::vector<JsonReader> schedule_readers;
    for (std::size_t k = 0; k < schedules.size(); ++k) {
      ScheduleBase& s = schedules[k];
      check_kind(saved_schedules[k], s.kind(), concat("schedules[", k, "]"));
      schedule_readers.emplace_back(saved_schedules[k], concat("schedules[", k, "]"));
      s.visit_state(schedule_readers.back());
      schedule_readers.back().set_checking(false);
    }
    for (std::size_t g = 0; g < groups.size(); ++g) opt.set_initial_lr(opt.initial_lr(g), g);

    // Schedules: assigned, then checked as a whole; undone if refused.
    const Json before = write_schedules(schedules);
    std::size_t assigned = 0;
    try {
      for (; assigned < schedules.size(); ++assigned) {
        schedules[assigned].get().visit_state(schedule_readers[assigned]);
        schedules[assigned].get().check_state();
      }
    } catch (const std::exception& e) {
      for (std::size_t k = 0; k <= assigned && k < schedules.size(); ++k) {
        JsonReader undo(before[k], "undo");
        undo.set_checking(false);
        schedules[k].get().visit_state(undo);
      }
      checkpoint_fail("schedules[", assigned, "]: ", e.what());
    }

    // Nothing below throws.
    for (std::size_t t = 0; t < transforms.size(); ++t)
      opt.transforms_[t]->visit_state(transform_readers[t]);
    for (std::size_t g = 0; g < groups.size(); ++g) opt.set_initial_lr(initial[g], g);
    if (!staged.empty()) std::memcpy(options.data, staged.data(), staged.size());
    opt.slots_.swap(slots);
    opt.index_.swap(index);
    for (std::size_t i = 0; i < n; ++i) opt.registered_[i].slot = slot_of[i];
    opt.next_ = 0;
    opt.current_lr_ = std::numeric_limits<double>::quiet_NaN();
  }

  static std::string who(const Opt& opt, std::size_t i) {
    return opt.names_[i].empty() ? concat("registered parameter #", i)
                                 : concat("registered parameter #", i, " '", opt.names_[i], "'");
  }

  static void check_kind(const Json& saved, const char* kind, const std::string& where) {
    if (!saved.is_object() || !saved.contains("kind") || !saved["kind"].is_string() ||
        saved["kind"].get_ref<const std::string&>() != kind)
      checkpoint_fail(where, " is ",
                      saved.is_object() && saved.contains("kind") ? saved["kind"].dump()
                                                                  : std::string("(no kind)"),
                      " but the object given is a ", kind);
  }

  // The tensor is [rows, cols], or [size] for a vector parameter (PyTorch's 1-d).
  static void check_tensor(const std::string& name, const TensorEntry& t, const View<Scalar>& p) {
    if (t.dtype != dtype_of<Scalar>())
      checkpoint_fail("tensor '", name, "' is ", t.dtype, " but the optimizer's Scalar is ",
                      dtype_of<Scalar>());
    const auto rows = static_cast<std::uint64_t>(p.rows), cols = static_cast<std::uint64_t>(p.cols);
    const bool matrix = t.shape.size() == 2 && t.shape[0] == rows && t.shape[1] == cols;
    const bool vector =
        t.shape.size() == 1 && (rows == 1 || cols == 1) && t.shape[0] == rows * cols;
    if (matrix || vector) return;
    std::string shape;
    for (std::size_t d = 0; d < t.shape.size(); ++d)
      shape += (d ? ", " : "") + std::to_string(t.shape[d]);
    checkpoint_fail("tensor '", name, "' has shape [", shape, "] but the parameter is ", p.rows,
                    "x", p.cols);
  }
};

inline std::string read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) checkpoint_fail("cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    checkpoint_fail("'", path, "' is not a regular file");
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, &bytes[got], bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::close(fd);
      checkpoint_fail("cannot read '", path, "': ", r == 0 ? "it shrank" : std::strerror(errno));
    }
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return bytes;
}

// The temporary file a save writes before renaming it over `path`, named by
// the process and the thread (<path>.tmp.<pid>.<thread id>; on Linux the
// kernel's thread id, which is the pid for a process's first thread): saves
// to the same path from two threads or processes at once each write their
// own file, and the last rename wins.
inline std::string temporary_path(const std::string& path) {
#ifdef __linux__
  const auto thread = static_cast<long long>(::syscall(SYS_gettid));
#else
  const auto thread =
      static_cast<unsigned long long>(std::hash<std::thread::id>()(std::this_thread::get_id()));
#endif
  return concat(path, ".tmp.", static_cast<long long>(::getpid()), ".", thread);
}

// Writes `bytes` to a temporary file beside `path`, flushes it to the disk,
// and renames it over `path`: a crash leaves the old file or the new one.
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = temporary_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) checkpoint_fail("cannot create '", tmp, "': ", std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      checkpoint_fail("cannot write '", tmp, "': ", std::strerror(err));
    }
    done += static_cast<std::size_t>(w);
  }
  const int synced = ::fsync(fd) == 0 ? 0 : errno;
  const int closed = ::close(fd) == 0 ? 0 : errno;
  if (synced != 0 || closed != 0) {
    const int err = synced != 0 ? synced : closed;
    ::unlink(tmp.c_str());
    checkpoint_fail("cannot flush '", tmp, "': ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    checkpoint_fail("cannot rename '", tmp, "' to '", path, "': ", std::strerror(err));
  }
  // The rename itself reaches the disk with the directory.
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace detail

// The checkpoint as bytes (a safetensors file), for storing elsewhere.
template <class Scalar>
std::string checkpoint_bytes(const Optimizer<Scalar>& opt,
                             const CheckpointSchedules& schedules = {}) {
  return detail::CheckpointAccess<Scalar>::save(opt, schedules);
}

// Loads a checkpoint from bytes; see load_checkpoint().
template <class Scalar>
void load_checkpoint_bytes(const void* bytes, std::size_t size, Optimizer<Scalar>& opt,
                           const CheckpointSchedules& schedules = {}) {
  const detail::SafeTensors f =
      detail::parse_safetensors(static_cast<const unsigned char*>(bytes), size);
  detail::CheckpointAccess<Scalar>::load(f, opt, schedules);
}

// Saves the optimizer's state, and the schedules', to `path`, replacing it
// atomically (a process killed during the save leaves the previous file).
template <class Scalar>
void save_checkpoint(const std::string& path, const Optimizer<Scalar>& opt,
                     const CheckpointSchedules& schedules = {}) {
  detail::write_file_atomically(path, checkpoint_bytes(opt, schedules));
}

// Replaces the optimizer's state, and the schedules', with the checkpoint's:
// all of it, or (CheckpointError) none of it.
template <class Scalar>
void load_checkpoint(const std::string& path, Optimizer<Scalar>& opt,
                     const CheckpointSchedules& schedules = {}) {
  const std::string bytes = detail::read_whole_file(path);
  load_checkpoint_bytes(bytes.data(), bytes.size(), opt, schedules);
}

}  // namespace descend
