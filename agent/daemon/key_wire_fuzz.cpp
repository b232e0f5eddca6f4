// Fuzz target: the bodies between wardd and its key process (key_wire.h). The key process decodes
// what wardd sends, wardd what the key process answers; neither parses the network, but a key
// process is the one part that holds the keys, and its decoder is its whole attack surface
// (ikeproc/body_corpus.h: the first byte picks a body, what decodes must re-encode byte-exact).
#include "agent/daemon/key_wire_samples.h"
#include "agent/ikeproc/body_corpus.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ward::agent::ikeproc::corpus::fuzz_one<ward::agent::daemon::keyproc::samples::Bodies>(data, size);
  return 0;
}
