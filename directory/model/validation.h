// Validation of a whole policy: every problem, each naming the object and the field. Never throws.
#pragma once

#include <string>
#include <vector>

#include "directory/model/policy.h"

namespace ward::model {

enum class Severity : std::uint8_t { Error, Warning };

struct Problem {
  Severity severity = Severity::Error;
  std::string object;   // e.g. `filter action "Secure traffic within the Legal department"`
  std::string field;    // e.g. `security_methods[0].esp.integrity`
  std::string message;

  std::string to_string() const;
  friend bool operator==(const Problem&, const Problem&) = default;
};

std::vector<Problem> validate(const Policy& policy) noexcept;
bool has_errors(const std::vector<Problem>& problems) noexcept;

}  // namespace ward::model
