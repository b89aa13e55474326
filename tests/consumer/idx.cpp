// Links descend::idx: the IDX reader with gzip. Writes a gzipped IDX label
// file with zlib and reads it back; exits non-zero unless the labels match.
#include <descend/data/idx.hpp>
#include <zlib.h>

#include <cstdio>
#include <iostream>

#if !defined(DESCEND_IDX_ZLIB)
#error "descend::idx did not define DESCEND_IDX_ZLIB"
#endif

int main(int argc, char** argv) {
  const std::string path = std::string(argc > 1 ? argv[1] : ".") + "/consumer-labels-idx1-ubyte.gz";
  const unsigned char file[] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};  // 3 labels: 7 0 9
  gzFile out = gzopen(path.c_str(), "wb");
  if (out == nullptr || gzwrite(out, file, sizeof file) != static_cast<int>(sizeof file) ||
      gzclose(out) != Z_OK) {
    std::cerr << "descend idx consumer: cannot write " << path << "\n";
    return 1;
  }
  const descend::data::IdxBytes labels = descend::data::read_idx_bytes(path, 1);
  std::remove(path.c_str());
  const bool ok = labels.data.size() == 3 && labels.data[0] == 7 && labels.data[2] == 9;
  std::cout << "descend idx consumer: read " << labels.data.size() << " labels from gzip\n";
  return ok ? 0 : 1;
}
