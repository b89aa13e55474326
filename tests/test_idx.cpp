// descend/data/idx.hpp: small IDX files written to a temporary directory,
// plain and (with DESCEND_IDX_ZLIB) gzipped with zlib, the good ones read back
// value for value, each bad one rejected with a message naming the file, the
// fault and the values. Built twice (tests/CMakeLists.txt): with zlib
// (descend_tests_idx) and without (descend_tests_idx_plain), where a gzipped
// file is refused with a message saying what to define.
#include <unistd.h>  // getpid

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "descend/data/idx.hpp"

#ifdef DESCEND_IDX_ZLIB
#include <zlib.h>
#endif

using Catch::Matchers::Contains;
using descend::data::IdxError;
using descend::data::read_idx_bytes;
using descend::data::read_idx_images;
using descend::data::read_mnist;
using Bytes = std::vector<std::uint8_t>;

namespace {

namespace fs = std::filesystem;

// A fresh directory per test case, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int serial = 0;
    path = fs::temp_directory_path() /
           ("descend_test_idx_" + std::to_string(::getpid()) + "_" + std::to_string(serial++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX header: 0 0 type ndim, then the sizes, big-endian.
Bytes header(std::uint8_t type, const std::vector<std::uint32_t>& sizes) {
  Bytes out = {0, 0, type, static_cast<std::uint8_t>(sizes.size())};
  for (std::uint32_t s : sizes) put_u32(out, s);
  return out;
}

Bytes idx(const std::vector<std::uint32_t>& sizes, const Bytes& data) {
  Bytes out = header(0x08, sizes);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string write(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
  return path;
}

#ifdef DESCEND_IDX_ZLIB
Bytes gzip(const Bytes& bytes) {
  TempDir dir;
  const std::string path = dir / "x.gz";
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty())
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
#endif

// Three 2x3 images with pixels 0, 1, ... 17 (the last 255) and labels 2, 0, 9.
Bytes image_data() {
  Bytes data;
  for (int i = 0; i < 18; ++i) data.push_back(static_cast<std::uint8_t>(i == 17 ? 255 : i));
  return data;
}
const Bytes kImages = idx({3, 2, 3}, image_data());
const Bytes kLabels = idx({3}, {2, 0, 9});

template <class Scalar>
void check_small_set(const descend::data::LabelledImages<Scalar>& d, Eigen::Index n = 3) {
  REQUIRE(d.inputs.rows() == n);
  REQUIRE(d.inputs.cols() == 6);
  CHECK(d.height == 2);
  CHECK(d.width == 3);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < 6; ++j) {
      const int pixel = i * 6 + j == 17 ? 255 : static_cast<int>(i * 6 + j);
      CHECK(d.inputs(i, j) == static_cast<Scalar>(pixel) * (Scalar(1) / Scalar(255)));
    }
  const int labels[3] = {2, 0, 9};
  for (Eigen::Index i = 0; i < n; ++i) CHECK(d.labels(i) == labels[i]);
}

}  // namespace

TEST_CASE("read_idx_bytes reads the sizes and bytes of a plain IDX file", "[idx]") {
  TempDir dir;
  const auto d = read_idx_bytes(write(dir / "images", kImages), 3);
  CHECK(d.sizes == std::vector<std::uint64_t>{3, 2, 3});
  CHECK(d.data == image_data());
}

TEMPLATE_TEST_CASE("read_idx_images scales pixels to the unit interval and keeps the labels",
                   "[idx]", float, double) {
  TempDir dir;
  const auto d =
      read_idx_images<TestType>(write(dir / "images", kImages), write(dir / "labels", kLabels));
  check_small_set(d);
  CHECK(d.inputs(2, 5) == 1);
  SECTION("limit keeps the first samples") {
    check_small_set(read_idx_images<TestType>(dir / "images", dir / "labels", 10, 2), 2);
  }
}

TEST_CASE("read_mnist prefers the gzipped name and falls back to the plain one", "[idx]") {
  TempDir dir;
  write(dir / "t10k-images-idx3-ubyte", kImages);
  write(dir / "t10k-labels-idx1-ubyte", kLabels);
  check_small_set(read_mnist<float>(dir.path.string(), "t10k"));
#ifdef DESCEND_IDX_ZLIB
  // A gzipped file with other labels wins over the plain one.
  write(dir / "t10k-labels-idx1-ubyte.gz", gzip(idx({3}, {1, 1, 1})));
  CHECK(read_mnist<float>(dir.path.string(), "t10k").labels == Eigen::VectorXi::Ones(3));
#endif
  REQUIRE_THROWS_AS(read_mnist<float>(dir.path.string(), "train"), IdxError);
  REQUIRE_THROWS_WITH(
      read_mnist<float>(dir.path.string(), "train"),
      Contains("descend::data::read_mnist: cannot open " + (dir / "train-images-idx3-ubyte.gz") +
               " or " + (dir / "train-images-idx3-ubyte")) &&
          Contains("apt install dataset-fashion-mnist"));
}

TEST_CASE("a missing file is an IdxError naming it and the system's reason", "[idx]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(
      read_idx_bytes(dir / "nothing", 1),
      "descend::data::read_idx: " + (dir / "nothing") + ": cannot open: No such file or directory");
}

namespace {

// read_idx_bytes rejects these file contents, plain and, with zlib, gzipped,
// with an IdxError naming the file and containing `message`.
// (`gzipped`: the message for the gzipped file, when it differs.)
void check_rejected(const char* what, const Bytes& bytes, int ndim, const std::string& message,
                    const std::string& gzipped = "") {
  TempDir dir;
  INFO(what);
  const std::string plain = write(dir / "plain", bytes);
  REQUIRE_THROWS_AS(read_idx_bytes(plain, ndim), IdxError);
  REQUIRE_THROWS_WITH(read_idx_bytes(plain, ndim),
                      Contains("descend::data::read_idx: " + plain + ": ") && Contains(message));
#ifdef DESCEND_IDX_ZLIB
  const std::string gz = write(dir / "gz", gzip(bytes));
  REQUIRE_THROWS_AS(read_idx_bytes(gz, ndim), IdxError);
  REQUIRE_THROWS_WITH(read_idx_bytes(gz, ndim), Contains("descend::data::read_idx: " + gz + ": ") &&
                                                    Contains(gzipped.empty() ? message : gzipped));
#else
  (void)gzipped;
#endif
}

}  // namespace

TEST_CASE("a file shorter than the magic number is rejected", "[idx]") {
  check_rejected("empty", {}, 1, "the file has 0 bytes, less than an IDX header's 4-byte magic",
                 "the decompressed data has 0 bytes, less than an IDX header's 4-byte magic");
  check_rejected("3 bytes", {0, 0, 8}, 1, "the file has 3 bytes",
                 "the decompressed data has 3 bytes");
}

TEST_CASE("a wrong magic number is rejected with its value", "[idx]") {
  // A PNG's first bytes, and a little-endian 0x00000801.
  check_rejected("png", {0x89, 'P', 'N', 'G', 0, 0, 0, 1, 7}, 1,
                 "not an IDX file: magic number 0x89504e47, expected 0x0000 then type and "
                 "dimensions (MNIST's images: 0x00000803, labels: 0x00000801)");
  check_rejected("little-endian", {1, 8, 0, 0, 0, 0, 0, 1, 7}, 1,
                 "not an IDX file: magic number 0x01080000");
}

TEST_CASE("an element type other than unsigned byte is rejected", "[idx]") {
  check_rejected("float32", {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 1,
                 "element type 0x0d (float32) in magic number 0x00000d01, expected 0x08 "
                 "(unsigned byte)");
  check_rejected("0x42", {0, 0, 0x42, 1, 0, 0, 0, 0}, 1,
                 "element type 0x42 (not an IDX type) in magic number 0x00004201");
}

TEST_CASE("a wrong number of dimensions is rejected", "[idx]") {
  // A label file given where images are expected, and the reverse.
  check_rejected("labels as images", kLabels, 3,
                 "1 dimensions (magic number 0x00000801), expected 3");
  check_rejected("images as labels", kImages, 1,
                 "3 dimensions (magic number 0x00000803), expected 1");
}

TEST_CASE("a header cut inside its sizes is rejected", "[idx]") {
  Bytes cut = header(0x08, {3, 2, 3});
  cut.resize(10);
  check_rejected("cut sizes", cut, 3,
                 "the file ends after 10 bytes, inside the 16-byte header of 3 dimensions",
                 "the decompressed data ends after 10 bytes, inside the 16-byte header of 3 "
                 "dimensions");
}

TEST_CASE("data shorter than the sizes say is rejected as truncated", "[idx]") {
  Bytes cut = kImages;
  cut.resize(cut.size() - 5);
  check_rejected("5 bytes short", cut, 3,
                 "truncated: the header's sizes 3 x 2 x 3 need 18 bytes after the 16-byte "
                 "header, the file has 13",
                 "truncated: the header's sizes 3 x 2 x 3 need 18 bytes after the 16-byte "
                 "header, the decompressed data ends after 13");
  // A count that disagrees with the data: 4 images of 2x3 in 18 bytes.
  check_rejected("count too large", idx({4, 2, 3}, image_data()), 3,
                 "truncated: the header's sizes 4 x 2 x 3 need 24 bytes after the 16-byte "
                 "header, the file has 18",
                 "the decompressed data ends after 18");
}

TEST_CASE("data longer than the sizes say is rejected", "[idx]") {
  check_rejected("count too small", idx({2, 2, 3}, image_data()), 3,
                 "the header's sizes 2 x 2 x 3 need 12 bytes after the 16-byte header, the "
                 "file has 18 (6 bytes too many)",
                 "the header's sizes 2 x 2 x 3 need 12 bytes after the 16-byte header, the "
                 "decompressed data goes on after them");
}

TEST_CASE("absurd sizes are rejected before anything is allocated", "[idx]") {
  // 2^32-1 cubed overflows 63 bits.
  check_rejected("overflow", header(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}), 3,
                 "sizes 4294967295 x 4294967295 x 4294967295 describe more than 2^63 elements");
  // 65535^3 = 2.8e14 bytes fits 63 bits but not in memory: refused from the
  // file's size (plain) or when the 1 MiB chunks run out (gzip), never
  // allocated (a bad_alloc or a crash would fail this test).
  check_rejected("huge", idx({65535, 65535, 65535}, image_data()), 3,
                 "truncated: the header's sizes 65535 x 65535 x 65535 need 281462092005375 "
                 "bytes after the 16-byte header, the file has 18",
                 "the decompressed data ends after 18");
}

TEST_CASE("images and labels of different counts are rejected with both counts", "[idx]") {
  TempDir dir;
  const std::string images = write(dir / "images", kImages);
  const std::string labels = write(dir / "labels", idx({2}, {1, 2}));
  REQUIRE_THROWS_AS(read_idx_images<float>(images, labels), IdxError);
  REQUIRE_THROWS_WITH(read_idx_images<float>(images, labels),
                      "descend::data::read_idx_images: " + images + " has 3 images but " + labels +
                          " has 2 labels");
}

TEST_CASE("a label beyond the classes is rejected with its sample", "[idx]") {
  TempDir dir;
  const std::string images = write(dir / "images", kImages);
  const std::string labels = write(dir / "labels", idx({3}, {2, 10, 9}));
  REQUIRE_THROWS_WITH(
      read_idx_images<float>(images, labels),
      "descend::data::read_idx_images: " + labels + ": label 10 of sample 1 is not in [0, 10)");
  // Checked in the whole file, also beyond `limit`.
  write(dir / "labels", idx({3}, {2, 0, 200}));
  REQUIRE_THROWS_WITH(read_idx_images<float>(images, labels, 10, 1),
                      Contains("label 200 of sample 2 is not in [0, 10)"));
  // Fewer classes than the data uses.
  write(dir / "labels", idx({3}, {2, 0, 9}));
  REQUIRE_THROWS_WITH(read_idx_images<float>(images, labels, 5),
                      Contains("label 9 of sample 2 is not in [0, 5)"));
}

TEST_CASE("a set without pixels is rejected", "[idx]") {
  TempDir dir;
  const std::string images = write(dir / "images", idx({0, 28, 28}, {}));
  const std::string labels = write(dir / "labels", idx({0}, {}));
  REQUIRE_THROWS_WITH(
      read_idx_images<float>(images, labels),
      "descend::data::read_idx_images: " + images + ": no pixels to learn from: sizes 0 x 28 x 28");
  write(dir / "images", idx({3, 0, 28}, {}));
  write(dir / "labels", kLabels);
  REQUIRE_THROWS_WITH(read_idx_images<float>(images, labels),
                      Contains("no pixels to learn from: sizes 3 x 0 x 28"));
}

TEST_CASE("read_idx_images rejects bad arguments as invalid_argument", "[idx]") {
  REQUIRE_THROWS_MATCHES(read_idx_images<float>("a", "b", 0), std::invalid_argument,
                         Catch::Message("descend::data::read_idx_images: classes = 0 must be in "
                                        "[1, 256]"));
  REQUIRE_THROWS_MATCHES(read_idx_images<float>("a", "b", 10, 0), std::invalid_argument,
                         Catch::Message("descend::data::read_idx_images: limit = 0 must be >= 1"));
}

#ifdef DESCEND_IDX_ZLIB

TEST_CASE("gzipped files read as the plain ones", "[idx][gzip]") {
  TempDir dir;
  check_small_set(read_idx_images<float>(write(dir / "images.gz", gzip(kImages)),
                                         write(dir / "labels.gz", gzip(kLabels))));
  // Larger than one 1 MiB chunk and than zlib's buffer.
  Bytes big;
  for (int i = 0; i < 3 * 1024 * 1024 + 17; ++i) big.push_back(static_cast<std::uint8_t>(i * 7));
  const auto d = read_idx_bytes(write(dir / "big.gz", gzip(idx({3 * 1024 * 1024 + 17}, big))), 1);
  CHECK(d.data == big);
}

TEST_CASE("a cut or damaged gzip stream is rejected", "[idx][gzip]") {
  TempDir dir;
  const Bytes whole = gzip(kImages);
  // Cut in the compressed data: the decompressed bytes end early.
  Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() / 2));
  const std::string cut_path = write(dir / "cut.gz", cut);
  REQUIRE_THROWS_WITH(read_idx_bytes(cut_path, 3),
                      Contains(cut_path + ": ") && Contains("the gzip stream is cut short"));
  // Only the 8-byte trailer (CRC and size) missing: every byte arrives, but
  // the stream is not whole.
  Bytes no_trailer(whole.begin(), whole.end() - 8);
  const std::string trailer_path = write(dir / "no_trailer.gz", no_trailer);
  REQUIRE_THROWS_WITH(read_idx_bytes(trailer_path, 3),
                      "descend::data::read_idx: " + trailer_path +
                          ": truncated: the gzip stream is cut short after the data (no trailer)");
  // A wrong CRC.
  Bytes bad_crc = whole;
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  const std::string crc_path = write(dir / "bad_crc.gz", bad_crc);
  REQUIRE_THROWS_WITH(read_idx_bytes(crc_path, 3), "descend::data::read_idx: " + crc_path +
                                                       ": corrupt gzip data: incorrect data check");
}

#else

TEST_CASE("without zlib a gzipped file is refused with what to define", "[idx][gzip]") {
  TempDir dir;
  const std::string path = write(dir / "images.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3});
  REQUIRE_THROWS_WITH(read_idx_bytes(path, 3),
                      "descend::data::read_idx: " + path +
                          ": gzip-compressed, and this program was compiled without zlib: define "
                          "DESCEND_IDX_ZLIB and link zlib (CMake: ZLIB::ZLIB), or gunzip the file");
}

#endif

TEST_CASE("Fashion-MNIST's test set reads as 10000 images of 28x28 with 1000 per class",
          "[idx][dataset]") {
  // The numbers are the data set's published ones (Xiao et al., 2017).
  const std::string dir = descend::data::kFashionMnistDir;
  const bool have = std::ifstream(dir + "/t10k-images-idx3-ubyte.gz").good() ||
                    std::ifstream(dir + "/t10k-images-idx3-ubyte").good();
#ifndef DESCEND_IDX_ZLIB
  if (!std::ifstream(dir + "/t10k-images-idx3-ubyte").good()) {
    SUCCEED("no plain Fashion-MNIST files, and this build reads no gzip");
    return;
  }
#endif
  if (!have) {
    WARN(dir << " is absent (apt install dataset-fashion-mnist): not checked");
    return;
  }
  const auto d = read_mnist<float>(dir, "t10k");
  REQUIRE(d.inputs.rows() == 10000);
  REQUIRE(d.inputs.cols() == 784);
  CHECK(d.height == 28);
  CHECK(d.width == 28);
  for (int c = 0; c < 10; ++c) CHECK((d.labels.array() == c).count() == 1000);
  CHECK(d.inputs.minCoeff() == 0);
  CHECK(d.inputs.maxCoeff() == 1);
}
