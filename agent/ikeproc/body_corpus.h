// What the wire fuzz targets and their corpus generators share, for a tuple of bodies `Bodies`
// (a *_wire_samples.h): the first input byte picks a body, the rest is decoded as one, and what
// decodes must encode to exactly the input (the encoding is strict, so a value has one encoding:
// a decoder that accepts a body it did not fully check shows as a difference). The corpus holds
// each body's sample behind its index byte. Used by key_wire_fuzz; the older targets
// (ikeproc_wire_fuzz, fetch_wire_fuzz) spell the same out and can move to it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <tuple>
#include <utility>

#include "agent/ikeproc/codec.h"

namespace ward::agent::ikeproc::corpus {

template <class T>
void round_trip(std::span<const std::uint8_t> body) {
  auto value = decode<T>(body);
  if (!value) return;
  const auto again = encode(*value);
  if (again.size() != body.size() || !std::equal(again.begin(), again.end(), body.begin())) __builtin_trap();
}

template <class Bodies, std::size_t... I>
void dispatch(std::size_t which, std::span<const std::uint8_t> body, std::index_sequence<I...>) {
  ((which == I ? round_trip<std::tuple_element_t<I, Bodies>>(body) : void()), ...);
}

template <class Bodies>
void fuzz_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  constexpr auto kBodies = std::tuple_size_v<Bodies>;
  dispatch<Bodies>(data[0] % kBodies, std::span(data + 1, size - 1), std::make_index_sequence<kBodies>{});
}

// `sample<T>()` for every T of Bodies, written to `dir` as body-<index>-<name>.
template <class Bodies, class Sample, std::size_t... I>
bool write_all(const std::filesystem::path& dir, Sample sample, std::index_sequence<I...>) {
  auto one = [&](auto index) {
    using T = std::tuple_element_t<decltype(index)::value, Bodies>;
    const auto body = encode(sample(std::type_identity<T>{}));
    std::string name = "body-" + std::to_string(decltype(index)::value);
    if constexpr (requires { Wire<T>::name; }) name += std::string("-") + Wire<T>::name;
    for (auto& c : name) c = c == ' ' ? '_' : c;
    std::ofstream out(dir / name, std::ios::binary);
    const auto byte = static_cast<char>(decltype(index)::value);
    out.write(&byte, 1);
    out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
    return static_cast<bool>(out);
  };
  return (one(std::integral_constant<std::size_t, I>{}) && ...);
}

template <class Bodies, class Sample>
bool write_corpus(const std::filesystem::path& dir, Sample sample) {
  std::filesystem::create_directories(dir);
  return write_all<Bodies>(dir, sample, std::make_index_sequence<std::tuple_size_v<Bodies>>{});
}

}  // namespace ward::agent::ikeproc::corpus
