// Reading IDX files, the format of MNIST and Fashion-MNIST, plain or gzipped.
//
// An IDX file is a 4-byte magic number 0x00 0x00 <type> <ndim>, then ndim
// sizes as big-endian uint32, then the prod(sizes) elements, row-major. The
// image files have type 0x08 (unsigned byte) and 3 dimensions (count, rows,
// columns); the label files type 0x08 and 1 dimension (count). MNIST and
// Fashion-MNIST ship them gzipped under the same names:
//   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   (60 000)
//   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    (10 000)
// (Debian: apt install dataset-fashion-mnist puts them in kFashionMnistDir.)
//
// Gzip. A file that starts with gzip's 1f 8b is decompressed while it is read
// when DESCEND_IDX_ZLIB is defined and zlib is linked (CMake: the compile
// definition DESCEND_IDX_ZLIB and ZLIB::ZLIB, which descend's examples and
// tests set; descend::idx once installed). Without the macro this header
// needs only the standard library and Eigen, reads plain files, and a gzipped
// file throws IdxError saying what to define.
//
// A hostile header cannot make the reader allocate what the file does not
// hold: sizes are multiplied in 64 bits with overflow checks; a plain file's
// size must equal the header's 4 + 4 ndim + prod(sizes) before anything is
// allocated; a gzip stream (whose decompressed size is unknown beforehand) is
// read in chunks of at most 1 MiB, so memory grows only with the data that
// arrives, and must end exactly where the sizes say.
//
// Every failure throws IdxError (a std::runtime_error) whose message names
// the function, the file, what is wrong, and the values involved.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "descend/data/samples.hpp"

#ifdef DESCEND_IDX_ZLIB
#include <zlib.h>
#endif

namespace descend {
namespace data {

class IdxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where Debian's dataset-fashion-mnist installs the four files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// The elements of an IDX file of unsigned bytes and their sizes.
struct IdxBytes {
  std::vector<std::uint64_t> sizes;
  std::vector<std::uint8_t> data;  // prod(sizes) elements, row-major
};

// Images, one per row, pixels scaled from 0..255 to [0, 1] (PyTorch's
// ToTensor), and their class ids: Samples (data/samples.hpp), row-major so
// that a sample is contiguous, with the images' shape.
template <class Scalar>
struct LabelledImages : Samples<Scalar> {
  Eigen::Index height = 0, width = 0;  // inputs.cols() = height * width
};

namespace detail {

[[noreturn]] inline void idx_fail(const char* who, const std::string& path,
                                  const std::string& what) {
  throw IdxError(std::string(who) + ": " + path + ": " + what);
}

inline std::string hex(unsigned value, int digits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%0*x", digits, value);
  return text;
}

inline std::string join_sizes(const std::vector<std::uint64_t>& sizes) {
  std::string out;
  for (std::size_t i = 0; i < sizes.size(); ++i) out += (i ? " x " : "") + std::to_string(sizes[i]);
  return sizes.empty() ? "()" : out;
}

inline const char* idx_type_name(unsigned type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0b:
      return "int16";
    case 0x0c:
      return "int32";
    case 0x0d:
      return "float32";
    case 0x0e:
      return "float64";
    default:
      return "not an IDX type";
  }
}

// A file read front to back: plain (std::FILE, size known) or gzip.
class IdxSource {
 public:
  IdxSource(const char* who, const std::string& path) : who_(who), path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) idx_fail(who_, path_, std::string("cannot open: ") + std::strerror(errno));
    unsigned char start[2] = {0, 0};
    const std::size_t got = std::fread(start, 1, 2, file_);
    gzip_ = got == 2 && start[0] == 0x1f && start[1] == 0x8b;
    if (gzip_) {
#ifdef DESCEND_IDX_ZLIB
      std::fclose(file_);
      file_ = nullptr;
      gz_ = gzopen(path.c_str(), "rb");
      if (!gz_) idx_fail(who_, path_, std::string("cannot open: ") + std::strerror(errno));
      gzbuffer(gz_, 1 << 17);
#else
      close();
      idx_fail(who_, path_,
               "gzip-compressed, and this program was compiled without zlib: define "
               "DESCEND_IDX_ZLIB and link zlib (CMake: ZLIB::ZLIB), or gunzip the file");
#endif
    } else {
      // The size, for the check against the header before any allocation.
      if (std::fseek(file_, 0, SEEK_END) != 0) fail_errno("cannot seek");
      const long end = std::ftell(file_);
      if (end < 0) fail_errno("cannot tell its size");
      size_ = static_cast<std::uint64_t>(end);
      if (std::fseek(file_, 0, SEEK_SET) != 0) fail_errno("cannot seek");
    }
  }
  ~IdxSource() { close(); }
  IdxSource(const IdxSource&) = delete;
  IdxSource& operator=(const IdxSource&) = delete;

  bool gzip() const { return gzip_; }
  bool cut_short() const { return cut_short_; }  // a gzip stream without its end
  std::uint64_t size() const { return size_; }   // plain files only

  // Reads up to n bytes (n <= 1 MiB); returns how many, fewer only at the end.
  std::size_t read(void* out, std::size_t n) {
#ifdef DESCEND_IDX_ZLIB
    if (gz_) {
      std::size_t total = 0;
      while (total < n) {
        const int got =
            gzread(gz_, static_cast<char*>(out) + total, static_cast<unsigned>(n - total));
        if (got <= 0) {
          // An end: a stream cut short (Z_BUF_ERROR, reported with the
          // first read that finds it or with the next) is for the caller to
          // report with the sizes; any other error is damage.
          int code = Z_OK;
          const char* message = gzerror(gz_, &code);
          if (code == Z_BUF_ERROR) {
            cut_short_ = true;
          } else if (code != Z_OK || got < 0) {
            std::string text = message ? message : "";
            if (text.compare(0, path_.size() + 2, path_ + ": ") == 0)  // zlib adds the path
              text.erase(0, path_.size() + 2);
            idx_fail(who_, path_, "corrupt gzip data: " + text);
          }
          break;
        }
        total += static_cast<std::size_t>(got);
      }
      return total;
    }
#endif
    const std::size_t got = std::fread(out, 1, n, file_);
    if (got < n && std::ferror(file_)) fail_errno("read error");
    return got;
  }

 private:
  [[noreturn]] void fail_errno(const char* what) {
    idx_fail(who_, path_, std::string(what) + ": " + std::strerror(errno));
  }
  void close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
#ifdef DESCEND_IDX_ZLIB
    if (gz_) gzclose(gz_);
    gz_ = nullptr;
#endif
  }

  const char* who_;
  const std::string& path_;
  std::FILE* file_ = nullptr;
#ifdef DESCEND_IDX_ZLIB
  gzFile gz_ = nullptr;
#endif
  bool gzip_ = false, cut_short_ = false;
  std::uint64_t size_ = 0;
};

inline std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace detail

// Reads an IDX file of unsigned bytes with `ndim` dimensions.
inline IdxBytes read_idx_bytes(const std::string& path, int ndim) {
  constexpr const char* who = "descend::data::read_idx";
  using detail::idx_fail;
  detail::IdxSource in(who, path);
  const char* where = in.gzip() ? "the decompressed data" : "the file";

  unsigned char magic[4];
  const std::size_t got = in.read(magic, 4);
  if (got < 4)
    idx_fail(who, path,
             std::string(where) + " has " + std::to_string(got) +
                 " bytes, less than an IDX header's 4-byte magic number");
  const unsigned number = detail::big_endian(magic);
  if (magic[0] != 0 || magic[1] != 0)
    idx_fail(who, path,
             "not an IDX file: magic number " + detail::hex(number, 8) +
                 ", expected 0x0000 then type and dimensions (MNIST's images: 0x00000803, "
                 "labels: 0x00000801)");
  if (magic[2] != 0x08)
    idx_fail(who, path,
             "element type " + detail::hex(magic[2], 2) + " (" + detail::idx_type_name(magic[2]) +
                 ") in magic number " + detail::hex(number, 8) + ", expected 0x08 (unsigned byte)");
  if (magic[3] != ndim)
    idx_fail(who, path,
             std::to_string(magic[3]) + " dimensions (magic number " + detail::hex(number, 8) +
                 "), expected " + std::to_string(ndim));

  IdxBytes out;
  std::vector<unsigned char> header(4 * static_cast<std::size_t>(ndim));
  const std::size_t header_bytes = 4 + header.size();
  const std::size_t got_sizes = in.read(header.data(), header.size());
  if (got_sizes < header.size())
    idx_fail(who, path,
             std::string(where) + " ends after " + std::to_string(4 + got_sizes) +
                 " bytes, inside the " + std::to_string(header_bytes) + "-byte header of " +
                 std::to_string(ndim) + " dimensions");
  // prod(sizes), refusing anything beyond what an Eigen::Index can count.
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t bytes = 1;
  bool overflow = false;
  for (int d = 0; d < ndim; ++d) {
    const std::uint64_t size = detail::big_endian(&header[4 * static_cast<std::size_t>(d)]);
    out.sizes.push_back(size);
    if (size != 0 && bytes > limit / size) overflow = true;
    if (!overflow) bytes *= size;
  }
  if (overflow)
    idx_fail(who, path,
             "sizes " + detail::join_sizes(out.sizes) + " describe more than 2^63 elements");

  const std::string need = "the header's sizes " + detail::join_sizes(out.sizes) + " need " +
                           std::to_string(bytes) + " bytes after the " +
                           std::to_string(header_bytes) + "-byte header";
  if (!in.gzip()) {
    // Checked before the allocation: the header cannot ask for more than is there.
    const std::uint64_t data_bytes = in.size() - header_bytes;
    if (data_bytes < bytes)
      idx_fail(who, path, "truncated: " + need + ", the file has " + std::to_string(data_bytes));
    if (data_bytes > bytes)
      idx_fail(who, path,
               need + ", the file has " + std::to_string(data_bytes) + " (" +
                   std::to_string(data_bytes - bytes) + " bytes too many)");
  }
  constexpr std::size_t chunk = std::size_t{1} << 20;
  std::uint64_t have = 0;
  while (have < bytes) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, bytes - have));
    if (in.gzip()) {
      out.data.resize(static_cast<std::size_t>(have) + n);  // grows with the data read
    } else if (have == 0) {
      out.data.resize(static_cast<std::size_t>(bytes));
    }
    const std::size_t read = in.read(out.data.data() + have, n);
    have += read;
    if (read < n)
      idx_fail(who, path,
               "truncated: " + need + ", " + where + " ends after " + std::to_string(have) +
                   (in.cut_short() ? " (the gzip stream is cut short)" : ""));
  }
  unsigned char extra[1];
  if (in.read(extra, 1) != 0) idx_fail(who, path, need + ", " + where + " goes on after them");
  if (in.cut_short())
    idx_fail(who, path, "truncated: the gzip stream is cut short after the data (no trailer)");
  return out;
}

// Images and labels from an image file and a label file (IdxError for either
// file's errors, a count that differs between them, empty images, or a label
// >= classes), the first `limit` samples of them.
template <class Scalar = float>
LabelledImages<Scalar> read_idx_images(
    const std::string& images_path, const std::string& labels_path, int classes = 10,
    Eigen::Index limit = std::numeric_limits<Eigen::Index>::max()) {
  constexpr const char* who = "descend::data::read_idx_images";
  if (classes < 1 || classes > 256)
    throw std::invalid_argument(std::string(who) + ": classes = " + std::to_string(classes) +
                                " must be in [1, 256]");
  if (limit < 1)
    throw std::invalid_argument(std::string(who) + ": limit = " + std::to_string(limit) +
                                " must be >= 1");
  const IdxBytes images = read_idx_bytes(images_path, 3);
  const IdxBytes labels = read_idx_bytes(labels_path, 1);
  if (images.sizes[0] != labels.sizes[0])
    throw IdxError(std::string(who) + ": " + images_path + " has " +
                   std::to_string(images.sizes[0]) + " images but " + labels_path + " has " +
                   std::to_string(labels.sizes[0]) + " labels");
  if (images.sizes[0] == 0 || images.sizes[1] == 0 || images.sizes[2] == 0)
    detail::idx_fail(who, images_path,
                     "no pixels to learn from: sizes " + detail::join_sizes(images.sizes));
  // read_idx_bytes read them all, so these fit in memory and in an Index.
  const auto count = static_cast<Eigen::Index>(images.sizes[0]);
  const auto pixels = static_cast<Eigen::Index>(images.sizes[1] * images.sizes[2]);
  for (Eigen::Index i = 0; i < count; ++i)
    if (labels.data[static_cast<std::size_t>(i)] >= classes)
      detail::idx_fail(who, labels_path,
                       "label " + std::to_string(labels.data[static_cast<std::size_t>(i)]) +
                           " of sample " + std::to_string(i) + " is not in [0, " +
                           std::to_string(classes) + ")");

  const Eigen::Index n = std::min(count, limit);
  LabelledImages<Scalar> out;
  out.height = static_cast<Eigen::Index>(images.sizes[1]);
  out.width = static_cast<Eigen::Index>(images.sizes[2]);
  out.inputs.resize(n, pixels);
  out.labels.resize(n);
  const Scalar scale = Scalar(1) / Scalar(255);
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::uint8_t* row = images.data.data() + static_cast<std::size_t>(i * pixels);
    for (Eigen::Index j = 0; j < pixels; ++j)
      out.inputs(i, j) = static_cast<Scalar>(row[j]) * scale;
    out.labels(i) = labels.data[static_cast<std::size_t>(i)];
  }
  return out;
}

// One part of an MNIST-format data set in `dir`: part "train" or "t10k",
// from <part>-images-idx3-ubyte[.gz] and <part>-labels-idx1-ubyte[.gz] (the
// gzipped name first, then the plain one).
template <class Scalar = float>
LabelledImages<Scalar> read_mnist(const std::string& dir, const std::string& part,
                                  Eigen::Index limit = std::numeric_limits<Eigen::Index>::max()) {
  const auto find = [&](const std::string& name) {
    const std::string base = dir + "/" + part + "-" + name;
    for (const std::string& path : {base + ".gz", base})
      if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
        return path;
      }
    throw IdxError("descend::data::read_mnist: cannot open " + base + ".gz or " + base +
                   " (an MNIST-format data set; Debian: apt install dataset-fashion-mnist)");
  };
  const std::string images = find("images-idx3-ubyte");
  const std::string labels = find("labels-idx1-ubyte");
  return read_idx_images<Scalar>(images, labels, 10, limit);
}

}  // namespace data
}  // namespace descend
