// Writes the seed corpus for isakmp_fuzz: one valid message per MessageKind (plus variants), as
// produced by Ward's encoder. Usage: isakmp_corpus_gen <dir>   (ike/payload/fuzz_corpus)
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ike/message/sample_messages.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  for (const auto& sample : ward::ike::samples::all()) {
    const auto bytes = ward::ike::samples::encode(sample);
    std::ofstream out(dir / sample.file_name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / sample.file_name).c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", sample.file_name.c_str(), bytes.size());
  }
  return 0;
}
