// Test helpers: byte arrays from hex text and from integer lists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace ward::ike::test {

inline std::vector<std::byte> hex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::byte> out;
  int high = -1;
  for (char c : text) {
    const int n = nibble(c);
    if (n < 0) continue;   // spaces and separators are for the reader
    if (high < 0) {
      high = n;
    } else {
      out.push_back(std::byte{static_cast<std::uint8_t>((high << 4) | n)});
      high = -1;
    }
  }
  return out;
}

inline std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (unsigned v : values) out.push_back(std::byte{static_cast<std::uint8_t>(v)});
  return out;
}

}  // namespace ward::ike::test
