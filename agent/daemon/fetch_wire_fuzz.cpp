// Fuzz target: the bodies between wardd and its directory fetcher (fetch_wire.h). Root wardd
// decodes what the fetcher sends, and the fetcher parses what the directory sends: a taken-over
// child may send anything. The first byte picks a body (samples::Bodies), the rest is decoded as
// one; what decodes must encode to exactly the input (the encoding is strict, so a value has one
// encoding): a decoder that accepts a body it did not fully check would show as a difference.
#include <cstring>
#include <span>
#include <tuple>
#include <utility>

#include "agent/daemon/fetch_wire_samples.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

using ward::agent::daemon::fetchproc::samples::Bodies;

template <class T>
void round_trip(std::span<const std::uint8_t> body) {
  auto value = ward::agent::ikeproc::decode<T>(body);
  if (!value) return;
  const auto again = ward::agent::ikeproc::encode(*value);
  if (again.size() != body.size() || !std::equal(again.begin(), again.end(), body.begin())) __builtin_trap();
}

template <std::size_t... I>
void dispatch(std::size_t which, std::span<const std::uint8_t> body, std::index_sequence<I...>) {
  ((which == I ? round_trip<std::tuple_element_t<I, Bodies>>(body) : void()), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr auto kBodies = std::tuple_size_v<Bodies>;
  dispatch(data[0] % kBodies, std::span(data + 1, size - 1), std::make_index_sequence<kBodies>{});
  return 0;
}
