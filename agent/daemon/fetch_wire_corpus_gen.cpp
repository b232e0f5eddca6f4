// Writes the seed corpus of fetch_wire_fuzz: each body of samples::Bodies, encoded from its
// sample, behind its index byte. Usage: fetch_wire_corpus_gen <dir>   (agent/daemon/fetch_fuzz_corpus)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>

#include "agent/daemon/fetch_wire_samples.h"

namespace {

using namespace ward::agent::daemon::fetchproc;
using ward::agent::ikeproc::encode;
using ward::agent::ikeproc::Wire;

template <std::size_t I>
bool write_one(const std::filesystem::path& dir) {
  using T = std::tuple_element_t<I, samples::Bodies>;
  const auto body = encode(samples::sample<T>());
  std::string name = "body-" + std::to_string(I);
  if constexpr (requires { Wire<T>::name; }) name += std::string("-") + Wire<T>::name;
  for (auto& c : name) c = c == ' ' ? '_' : c;
  std::ofstream out(dir / name, std::ios::binary);
  const auto index = static_cast<char>(I);
  out.write(&index, 1);
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  return static_cast<bool>(out);
}

template <std::size_t... I>
bool write_all(const std::filesystem::path& dir, std::index_sequence<I...>) {
  return (write_one<I>(dir) && ...);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  if (!write_all(argv[1], std::make_index_sequence<std::tuple_size_v<samples::Bodies>>{})) {
    std::fprintf(stderr, "cannot write the corpus in %s\n", argv[1]);
    return 1;
  }
  return 0;
}
