// ParseError: what went wrong while decoding bytes, and exactly where.
#pragma once

#include <cstddef>
#include <string>

namespace ward {

struct ParseError {
  std::string structure;     // what was being decoded, e.g. "ipsecNFA blob" or "ESP header"
  std::string field;         // the field being read when decoding failed
  std::size_t offset = 0;    // byte offset of that field from the start of the input
  std::string message;       // what was wrong, with the numbers involved

  std::string to_string() const;
};

}  // namespace ward
