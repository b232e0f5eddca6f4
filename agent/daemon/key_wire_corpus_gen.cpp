// Writes the seed corpus of key_wire_fuzz: each body of samples::Bodies, encoded from its sample,
// behind its index byte. Usage: key_wire_corpus_gen <dir>   (agent/daemon/key_fuzz_corpus)
#include <cstdio>

#include "agent/daemon/key_wire_samples.h"
#include "agent/ikeproc/body_corpus.h"

int main(int argc, char** argv) {
  using namespace ward::agent::daemon::keyproc;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  if (!ward::agent::ikeproc::corpus::write_corpus<samples::Bodies>(argv[1], samples::Sampler{})) {
    std::fprintf(stderr, "cannot write the corpus in %s\n", argv[1]);
    return 1;
  }
  return 0;
}
